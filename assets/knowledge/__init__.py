"""Knowledge: the team's topic catalogue, and the cultural insights LLAMA writes from it, one category at a time."""

import dagster as dg

from assets.knowledge.insights import cultural_insights
from assets.knowledge.topics import cultural_topics

defs = dg.Definitions(assets=[cultural_topics, cultural_insights])
