"""The status words rows carry: where an insight came from, how an analysis ended, what a learned lesson has earned,
what a row of the response cache holds, what feedback scores, and what an analyst decided. The tables store them as
text (jiwa.store.schema); the code that writes and reads the rows compares them here."""

from __future__ import annotations

from typing import Literal

# Where an insight came from: the team, or LLAMA offline (after the truth gate).
CURATED = "curated"
LLAMA_OFFLINE = "llama_offline"
# What the server serves from the insights table. Rows of any other source (versions before learned_insights wrote
# nightly findings there) are never served; what the nights learn is served from learned_insights once earned.
SERVED_SOURCES = (CURATED, LLAMA_OFFLINE)

# How the analysis of one conversation ended.
ANALYSIS_OK = "ok"
ANALYSIS_FAILED = "failed"

# Row kinds of the response cache: all in one table, so one commit publishes a consistent set.
CACHE_ANSWER = "answer"
CACHE_PHRASING = "phrasing"
# A team-written question that uses an intent's words to ask something else: the matcher refuses what is closer to it.
CACHE_NEAR_MISS = "near_miss"
CACHE_SPEC = "matcher_spec"
# A curated fact as grounding for Claude when the cache does not answer (text: JSON, see Fact.grounding).
CACHE_FACT = "fact"
# The style of a greeting answer written for someone who comes back (the others are reference, short and long).
RETURNING_STYLE = "returning"

# What a nightly finding teaches: the model writes it, the findings and learned tables keep it. Here rather than
# beside the model, so the row classes (and the code version of every asset that names a table) do not take in the
# models' validators.
FindingKind = Literal["cultural_pattern", "unmet_need", "phrasing_worked", "phrasing_failed"]

# A learned candidate's status: below the support threshold, served to its tenant, served to all after review,
# or turned down by an analyst.
CANDIDATE = "candidate"
EARNED = "earned"
APPROVED = "approved"
REJECTED = "rejected"

# What feedback scores: an insight that grounded replies, or one cached answer variant that was served.
SCORED_INSIGHT = "insight"
SCORED_CACHE_ANSWER = "cache_answer"

# An analyst's decision on a nightly intent proposal; the latest per proposal holds.
ACCEPT = "accept"
REJECT = "reject"
