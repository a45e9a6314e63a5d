"""Knowledge: the team's topic catalogue and curated insights, and what LLAMA adds to them through the truth gate."""

import dagster as dg

from assets.knowledge.curated import curated_insights
from assets.knowledge.insights import cultural_insights
from assets.knowledge.topics import cultural_topics

defs = dg.Definitions(assets=[cultural_topics, curated_insights, cultural_insights])
