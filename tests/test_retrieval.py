"""Hybrid retrieval over a table the asset wrote (fake LLM)."""

import lancedb
import pytest

from jiwa.store.insights import full_text_query, search_insights
from jiwa.store.lance import open_vector_table
from jiwa.store.schema import INSIGHTS_TABLE
from tests.support.server import publish_insights


@pytest.fixture()
def insights_table(resources, data_uri, embedder):
    publish_insights(resources, categories=("phrases_emotions", "bali_time_ceremony"))
    return open_vector_table(lancedb.connect(data_uri), INSIGHTS_TABLE, embedder)


def test_hybrid_search_finds_the_topic_a_user_writes_about(insights_table, embedder):
    message = "aku malu bertanya tentang visa"
    hits = search_insights(insights_table, embedder.embed_one(message), message, k=3)
    assert len(hits) == 3
    assert hits[0].topic == "aku malu"
    assert hits[0].id.startswith("aku_malu-")
    assert hits[0].score >= hits[-1].score > 0


def test_english_question_about_a_ceremony(insights_table, embedder):
    message = "Is the airport really closed during Nyepi?"
    hits = search_insights(insights_table, embedder.embed_one(message), message, k=5)
    assert "Nyepi" in [hit.topic for hit in hits]


@pytest.mark.parametrize("message", ["!!!", '"quoted" AND (x OR', "NOT *:*"])
def test_query_syntax_in_user_text_never_breaks_search(insights_table, embedder, message):
    assert len(search_insights(insights_table, embedder.embed_one(message), message, k=2)) == 2


def test_full_text_query_keeps_only_words():
    assert full_text_query('Apa itu "KITAS"? (AND/OR)') == "apa itu kitas and or"
