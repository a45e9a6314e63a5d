"""The conversation log the chat server writes, observed as the source of every other family's lineage."""

import dagster as dg

from assets.conversations.log import conversation_log

defs = dg.Definitions(assets=[conversation_log])
