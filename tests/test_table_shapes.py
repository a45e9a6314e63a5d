"""Each table's shape is written once, in its row class: the languages come from jiwa.domain.language, the schemas
are derived from the rows and equal the ones stored tables have, and a row a builder gets wrong is refused."""

from datetime import UTC, datetime

import pyarrow as pa
import pytest
from pydantic import ValidationError

from jiwa.catalogue.topics import load_catalogue
from jiwa.domain.insights import CulturalInsight, TriggerPhrases
from jiwa.domain.language import LANGUAGES, TRIGGER_LANGUAGES
from jiwa.domain.rows.columns import Row
from jiwa.domain.rows.feedback import FeedbackRow
from jiwa.domain.rows.insights import TRIGGER_COLUMNS, InsightColumns, InsightRow, LessonColumns
from jiwa.domain.rows.intents import IntentDecisionRow, ProposalRow
from jiwa.domain.rows.learning import FindingRow, LearnedRow, ReviewRow
from jiwa.domain.rows.memory import AnalysisRow, ProfileRow
from jiwa.domain.rows.primer import PrimerRow
from jiwa.domain.rows.response_cache import CacheRow
from jiwa.knowledge.insight_rows import Provenance, insight_fields, insight_record
from jiwa.store import schema
from tests.support import stored_schemas

LESSON_COLUMNS = tuple(column for column in LessonColumns.columns() if column != "vector")
# Each schema function, the row class it is derived from, and the schema stored tables have.
TABLES = {
    "insights": (schema.insights_schema, InsightRow, stored_schemas.insights),
    "primer": (schema.primer_schema, PrimerRow, stored_schemas.primer),
    "analyses": (schema.analyses_schema, AnalysisRow, stored_schemas.analyses),
    "profiles": (schema.profiles_schema, ProfileRow, stored_schemas.profiles),
    "response_cache": (schema.response_cache_schema, CacheRow, stored_schemas.response_cache),
    "findings": (schema.findings_schema, FindingRow, stored_schemas.findings),
    "learned": (schema.learned_schema, LearnedRow, stored_schemas.learned),
    "reviews": (schema.reviews_schema, ReviewRow, stored_schemas.reviews),
    "feedback": (schema.feedback_schema, FeedbackRow, stored_schemas.feedback),
    "proposals": (schema.proposals_schema, ProposalRow, stored_schemas.proposals),
    "intent_decisions": (schema.intent_decisions_schema, IntentDecisionRow, stored_schemas.intent_decisions),
}
WITH_VECTORS = {"insights", "response_cache", "findings", "learned"}


def _schemas(table: str) -> tuple[pa.Schema, pa.Schema]:
    derive, _, stored = TABLES[table]
    embedder = ("multilingual-e5-small", 384) if table in WITH_VECTORS else ()
    return derive(*embedder), stored(*embedder)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_derived_schema_is_the_stored_one(table):
    derived, stored = _schemas(table)
    assert [(f.name, f.type, f.nullable, f.metadata) for f in derived] == [
        (f.name, f.type, f.nullable, f.metadata) for f in stored
    ]
    assert derived.metadata == stored.metadata
    assert derived.equals(stored, check_metadata=True)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_row_is_its_tables_columns(table):
    _, row, _ = TABLES[table]
    assert row.columns() == tuple(_schemas(table)[1].names)


@pytest.mark.parametrize("row", [row for _, row, _ in TABLES.values()], ids=sorted(TABLES))
def test_a_row_refuses_a_column_its_table_lacks(row: type[Row]):
    with pytest.raises(ValidationError) as refused:
        row.model_validate({"not_a_column": "x"})
    assert "extra_forbidden" in {error["type"] for error in refused.value.errors()}


def test_every_language_has_its_trigger_field_and_column():
    assert sorted(TRIGGER_LANGUAGES) == sorted(LANGUAGES)
    assert tuple(TriggerPhrases.model_fields) == TRIGGER_LANGUAGES
    assert TRIGGER_COLUMNS == tuple(f"triggers_{language}" for language in TRIGGER_LANGUAGES)


def test_the_tables_of_insights_share_one_shape():
    shared = [name for name in schema.insights_schema("m", 4).names if name in LESSON_COLUMNS]
    assert shared == [name for name in LESSON_COLUMNS if name != "kind"]
    for stored in (schema.findings_schema("m", 4), schema.learned_schema("m", 4)):
        names = stored.names
        assert names[names.index("kind") : names.index("kind") + len(LESSON_COLUMNS)] == list(LESSON_COLUMNS)


TOPIC = load_catalogue().topics[0]
INSIGHT = CulturalInsight(
    insight="Balinese people often greet newcomers with warm curiosity.",
    guidance="Reply warmly and explain the custom in simple, friendly words.",
    triggers={"id": ["halo kak"], "en": ["hello there"], "it": ["ciao a tutti"]},
    tone_tags=["warm"],
)
PROVENANCE = Provenance("curated", "team", "curated_insights", "1", datetime.now(UTC), "run")


def test_an_insights_row_fills_the_shared_columns():
    assert tuple(insight_fields(TOPIC, INSIGHT).to_columns()) == LESSON_COLUMNS[1:]


def test_a_built_row_goes_back_and_forth_unchanged():
    row = insight_record(TOPIC, INSIGHT, PROVENANCE, [1.0, 0.0, 0.0, 0.0])
    assert InsightRow.from_columns(row).to_columns() == row
    assert pa.Table.from_pylist([row], schema=schema.insights_schema("m", 4)).to_pylist() == [row]


@pytest.mark.parametrize(
    "wrong",
    [
        {"guidance": None},  # a column that refuses nulls
        {"generated_at": "2024-01-01T00:00:00Z"},  # a time as text
        {"tone_tags": "warm"},  # one tag where the column holds a list
        {"vector": ["1", "0", "0", "0"]},
        {"source": "bench"},  # not a status word of the knowledge base
    ],
)
def test_a_builder_row_with_a_wrong_value_is_refused(wrong):
    row = insight_record(TOPIC, INSIGHT, PROVENANCE, [1.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValidationError):
        InsightRow.from_columns(row | wrong)


def test_a_builder_row_with_a_wrong_name_is_refused():
    columns = insight_fields(TOPIC, INSIGHT).to_columns()
    columns["tone_tag"] = columns.pop("tone_tags")
    with pytest.raises(ValidationError) as refused:
        InsightColumns(**columns)
    assert {(error["type"], error["loc"]) for error in refused.value.errors()} == {
        ("extra_forbidden", ("tone_tag",)),
        ("missing", ("tone_tags",)),
    }


def test_a_status_word_or_a_count_of_the_wrong_type_is_refused():
    with pytest.raises(ValidationError, match="'maybe' is not one of"):
        ReviewRow(id="c1", candidate="l1", decision="maybe", decided_at=datetime.now(UTC), run_id=None)
    with pytest.raises(ValidationError) as refused:
        FeedbackRow.model_validate({"rated_up_users": 1.5})  # Arrow would store it as 1
    assert ("int_type", ("rated_up_users",)) in {(error["type"], error["loc"]) for error in refused.value.errors()}
