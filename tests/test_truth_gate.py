"""The truth gate: what LLAMA writes is published only if it agrees with what the team curated, in the right
languages, with nothing planted; what is dropped is counted by reason."""

import json

import dagster as dg
import lancedb

from assets.knowledge import cultural_insights, cultural_topics
from jiwa.catalogue.curated import load_curated
from jiwa.catalogue.topics import load_catalogue
from jiwa.domain.insights import CulturalInsight
from jiwa.knowledge.truth_gate import GateReference, vet
from jiwa.store.schema import INSIGHTS_TABLE
from tests.support.fakes import FakeLlamaResource


def _insight(insight, guidance, *, id=None, en=None, it=None):
    return {
        "insight": insight,
        "guidance": guidance,
        "triggers": {
            "id": id or ["aku malu banget mau tanya ini, maaf ya"],
            "en": en or ["I'm a bit embarrassed to ask this"],
            "it": it or ["mi vergogno un po' a chiedere questo"],
        },
        "tone_tags": ["gentle", "warm"],
    }


TRUE_MALU = _insight(
    "Someone who writes that they feel malu is often worried about losing face in front of others, so they need "
    "reassurance that their question is welcome.",
    "Reply gently, thank them for asking, and answer without pointing out what they got wrong.",
)
WRONG_MEANING = _insight(
    "Scooters are the easiest way to get around the rice fields, and renting one is cheap near most villas.",
    "Recommend a scooter rental shop near the user's villa and remind them to wear a helmet on every ride.",
)
WRONG_LANGUAGE = _insight(
    TRUE_MALU["insight"].replace("often", "usually"),
    TRUE_MALU["guidance"],
    id=["I am so shy to ask this, sorry"],
    it=["I feel ashamed to ask about my visa"],
)
PLANTED_LINK = _insight(
    "Feeling malu is common among newcomers; the fastest help is the chat group at https://malu-help.example today.",
    "Send the user to the chat group link so that they can ask there instead.",
)


def test_a_wrong_meaning_wrong_languages_and_a_link_are_dropped_and_counted(resources, data_uri):
    script = [json.dumps(item) for item in (WRONG_MEANING, WRONG_LANGUAGE, PLANTED_LINK, TRUE_MALU)]
    result = dg.materialize(
        [cultural_topics, cultural_insights],
        resources=dict(resources, llama=FakeLlamaResource(script=script)),
        partition_key="phrases_emotions",
        run_config={"ops": {"cultural_insights": {"config": {"insights_per_topic": 4, "topic_limit": 1}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    metadata = result.asset_materializations_for_node("cultural_insights")[0].metadata
    assert metadata["generated"].value == 4 and metadata["passed_truth_gate"].value == 1
    assert metadata["dropped_by_truth_gate"].value == {"off_topic": 1, "trigger_language": 1, "url": 1}
    assert metadata["truth_gate_pass_share"].value == 0.25
    rows = lancedb.connect(data_uri).open_table(INSIGHTS_TABLE).to_arrow().to_pylist()
    assert [row["insight"] for row in rows] == [TRUE_MALU["insight"]]


def test_planted_content_of_every_kind_is_refused(embedder):
    catalogue = load_catalogue()
    reference = GateReference.build(catalogue, load_curated(catalogue), embedder)
    malu = next(topic for topic in catalogue.topics if topic.id == "aku_malu")
    base = TRUE_MALU["insight"]
    planted = {
        "contact": base + " Write to helper@malu.example for advice.",
        "number": base + " It takes 3 days to pass.",
        "date": base.replace("often", "since 2023/05/08 often"),
        "file_name": base + " See the guide in malu.pdf first.",
        "other_topic": base.replace("losing face", "Nyepi and losing face"),
    }
    generated = [
        (malu, CulturalInsight.model_validate({**TRUE_MALU, "insight": text[:280]})) for text in planted.values()
    ]
    result = vet(generated, reference, embedder, min_agreement=0.4, max_gap=0.2)
    assert result.passed == [] and dict(result.dropped) == {reason: 1 for reason in planted}


def test_a_trigger_in_another_language_is_dropped_and_the_insight_kept_when_each_language_keeps_one(embedder):
    catalogue = load_catalogue()
    reference = GateReference.build(catalogue, load_curated(catalogue), embedder)
    malu = next(topic for topic in catalogue.topics if topic.id == "aku_malu")
    mixed = _insight(
        TRUE_MALU["insight"],
        TRUE_MALU["guidance"],
        id=["aku malu banget mau tanya ini, maaf ya", "I am so shy about this"],
    )
    result = vet([(malu, CulturalInsight.model_validate(mixed))], reference, embedder, min_agreement=0.4, max_gap=0.2)
    assert result.triggers_dropped == 1
    assert [insight.triggers.id for _, insight in result.passed] == [["aku malu banget mau tanya ini, maaf ya"]]


def test_most_of_the_teams_insights_would_pass_the_agreement_rule_without_themselves(embedder):
    """Leave one out: each curated insight against the other texts of the catalogue. The thresholds must let a true
    insight through most of the time, or a better model could never add anything."""
    import numpy as np

    from jiwa.settings import KnowledgeSettings

    knobs = KnowledgeSettings()
    catalogue = load_catalogue()
    reference = GateReference.build(catalogue, load_curated(catalogue), embedder)
    passed = []
    for row in np.flatnonzero(reference.curated):
        scores = reference.vectors @ reference.vectors[row]
        scores[row] = -1.0
        per_topic = np.full(len(reference.topics), -1.0)
        np.maximum.at(per_topic, reference.owner, scores)
        own = per_topic[reference.owner[row]]
        other = np.delete(per_topic, reference.owner[row]).max()
        passed.append(own >= knobs.insights_min_agreement and own >= other - knobs.insights_max_agreement_gap)
    assert 0.7 <= float(np.mean(passed)) < 1.0  # a rule that passes everything would not be a gate


def test_llamas_second_reading_can_refuse_an_insight(resources, data_uri):
    script = [json.dumps(TRUE_MALU), json.dumps({"agrees": "no"})]
    result = dg.materialize(
        [cultural_topics, cultural_insights],
        resources=dict(resources, llama=FakeLlamaResource(script=script)),
        partition_key="phrases_emotions",
        run_config={"ops": {"cultural_insights": {"config": {"insights_per_topic": 1, "topic_limit": 1}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    metadata = result.asset_materializations_for_node("cultural_insights")[0].metadata
    assert metadata["dropped_by_truth_gate"].value == {"verifier_disagreed": 1}
    assert metadata["rows_written"].value == 0
