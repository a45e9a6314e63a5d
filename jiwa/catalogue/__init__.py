"""The team-written catalogues under assets/catalogue/, parsed strictly: topics, facts and intents, cultural markers."""

from __future__ import annotations

from jiwa.paths import PROJECT_ROOT

CATALOGUE_DIR = PROJECT_ROOT / "assets" / "catalogue"
