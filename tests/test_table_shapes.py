"""Each table's shape is written once: the languages come from jiwa.domain.language, the lesson columns from the
schema, and the rows the code builds match the schema they are written under."""

from jiwa.catalogue.topics import load_catalogue
from jiwa.domain.insights import TriggerPhrases
from jiwa.domain.language import LANGUAGES, TRIGGER_LANGUAGES
from jiwa.knowledge.insight_rows import insight_fields
from jiwa.store.schema import LESSON_COLUMNS, TRIGGER_COLUMNS, findings_schema, insights_schema, learned_schema


def test_every_language_has_its_trigger_field_and_column():
    assert sorted(TRIGGER_LANGUAGES) == sorted(LANGUAGES)
    assert tuple(TriggerPhrases.model_fields) == TRIGGER_LANGUAGES
    assert TRIGGER_COLUMNS == tuple(f"triggers_{language}" for language in TRIGGER_LANGUAGES)


def test_the_tables_of_insights_share_one_shape():
    shared = [name for name in insights_schema("m", 4).names if name in LESSON_COLUMNS]
    assert shared == [name for name in LESSON_COLUMNS if name != "kind"]
    for schema in (findings_schema("m", 4), learned_schema("m", 4)):
        names = schema.names
        assert names[names.index("kind") : names.index("kind") + len(LESSON_COLUMNS)] == list(LESSON_COLUMNS)


def test_an_insights_row_fills_the_shared_columns():
    from jiwa.domain.insights import CulturalInsight

    topic = load_catalogue().topics[0]
    insight = CulturalInsight(
        insight="Balinese people often greet newcomers with warm curiosity.",
        guidance="Reply warmly and explain the custom in simple, friendly words.",
        triggers={"id": ["halo kak"], "en": ["hello there"], "it": ["ciao a tutti"]},
        tone_tags=["warm"],
    )
    assert tuple(insight_fields(topic, insight)) == LESSON_COLUMNS[1:]
