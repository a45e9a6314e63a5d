"""Where the project's own files are: prompts, catalogues, the default data folder."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
