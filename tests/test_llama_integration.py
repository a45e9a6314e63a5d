"""The real llama.cpp with the embedded SmolLM2 model: a small materialization, then a query of the table."""

import dagster as dg
import lancedb
import pytest

from assets.knowledge import cultural_insights, cultural_topics
from assets.resources import LlamaResource
from jiwa.domain.language import detect_language
from jiwa.store.insights import search_insights
from jiwa.store.lance import open_vector_table
from jiwa.store.schema import INSIGHTS_TABLE
from tests.support.resources import pipeline_resources

pytestmark = pytest.mark.model


def test_materialize_with_smollm2_and_query(data_uri, embedder):
    resources = pipeline_resources(data_uri, LlamaResource(model_path="", server_url="", context_size=2048))
    result = dg.materialize(
        [cultural_topics, cultural_insights],
        resources=resources,
        partition_key="phrases_emotions",
        run_config={"ops": {"cultural_insights": {"config": {"insights_per_topic": 1, "topic_limit": 2}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("cultural_insights")[0].metadata.items()}
    assert metadata["model"].startswith("SmolLM2-135M-Instruct")
    assert metadata["completion_tokens"] > 0 and metadata["tokens_per_s"] > 0
    # Every request ends accepted or dropped: nothing is silently lost.
    assert metadata["generated"] + metadata["dropped_invalid"] == metadata["requested"] == 2

    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"truth_gate_pass_share", "schema_valid", "no_empty_text", "duplicate_rate"}
    assert all(checks.values()), checks
    # Every insight SmolLM2 wrote either passed the truth gate or was dropped and counted.
    dropped = sum(metadata["dropped_by_truth_gate"].values())
    assert metadata["passed_truth_gate"] + dropped == metadata["generated"]
    assert "curated base serves every topic" in metadata["truth_gate"]

    table = open_vector_table(lancedb.connect(data_uri), INSIGHTS_TABLE, embedder)
    rows = table.to_arrow().to_pylist()
    assert len(rows) == metadata["rows_written"] <= metadata["passed_truth_gate"]
    for row in rows:  # what the gate let through keeps its rules
        assert row["model"].startswith("SmolLM2") and row["source"] == "llama_offline"
        assert not any(character.isdigit() for character in row["insight"] + row["guidance"])
        assert all(detect_language(t) == lang for lang in ("id", "en", "it") for t in row[f"triggers_{lang}"])
    if rows:
        hits = search_insights(table, embedder.embed_one("maaf"), "maaf", k=2)
        assert {hit.id for hit in hits} <= {row["id"] for row in rows} and hits


def test_analyses_and_profiles_with_smollm2(data_uri):
    import json

    from assets.enrichment import conversation_analyses, jiwa_profiles
    from jiwa.domain.profile import Profile
    from jiwa.store.schema import ANALYSES_TABLE, PROFILES_TABLE
    from tests.support.log import conversation, hours_ago, record

    record(
        data_uri,
        conversation(
            "c_it",
            "giulia",
            [
                "Ciao! Mi chiamo Giulia, sono italiana e vorrei aprire una scuola di yoga a Ubud. Quanto costa un KITAS?",
                "Ho paura di sbagliare i documenti, scusa se chiedo tanto. Grazie mille!",
            ],
            start=hours_ago(3),
        ),
    )
    record(
        data_uri,
        conversation("c_id", "made", ["Permisi Pak, saya bingung soal NPWP. Terima kasih"], start=hours_ago(2)),
    )
    result = dg.materialize(
        [conversation_analyses, jiwa_profiles],
        resources=pipeline_resources(data_uri, LlamaResource(model_path="", server_url="", context_size=4096)),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    metadata = {
        k: v.value for k, v in result.asset_materializations_for_node("conversation_analyses")[0].metadata.items()
    }
    assert metadata["model"].startswith("SmolLM2-135M-Instruct")
    assert metadata["analysed"] + metadata["failed"] == 2 and metadata["completion_tokens"] > 0
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()}["claims_cite_user_turns"] is True

    db = lancedb.connect(data_uri)
    analyses = {row["id"]: row for row in db.open_table(ANALYSES_TABLE).to_arrow().to_pylist()}
    assert set(analyses) == {"c_it", "c_id"}
    # Counted by rule, whatever the model wrote.
    assert json.loads(analyses["c_id"]["signals"])["markers"] == {
        "bingung": 1,
        "pak": 1,
        "permisi": 1,
        "terima kasih": 1,
    }
    assert analyses["c_it"]["primary_language"] == "it" and analyses["c_id"]["primary_language"] == "id"
    for row in analyses.values():
        if row["status"] == "ok":
            analysis = json.loads(row["analysis"])
            # A small model invents: anything it claims the user said must survive grounding against the turns.
            name = (analysis["facts"]["name"] or {}).get("value")
            assert name is None or name.lower()[:5] in "giulia made"
    profiles = (
        [Profile.model_validate_json(row["profile"]) for row in db.open_table(PROFILES_TABLE).to_arrow().to_pylist()]
        if PROFILES_TABLE in db.table_names()
        else []
    )
    assert {p.user_id for p in profiles} == {row["user_id"] for row in analyses.values() if row["status"] == "ok"}
    assert all(p.facts.language and p.facts.language.value in {"it", "id"} for p in profiles)


def test_nightly_findings_and_cache_answers_with_smollm2(data_uri):
    from datetime import datetime, timedelta

    from assets.nightly import nightly_findings
    from assets.nightly.days import BALI
    from assets.response_cache import common_response_cache, curated_facts, intent_catalogue
    from jiwa.domain.status import CACHE_ANSWER
    from jiwa.store.schema import RESPONSE_CACHE_TABLE
    from tests.support.log import conversation, record

    day = "2026-11-23"
    start = datetime(2026, 11, 23, 9, tzinfo=BALI)
    record(
        data_uri,
        conversation("c1", "ana", ["Maaf Pak, saya malu bertanya, berapa biaya KITAS?"], start=start)
        + conversation(
            "c2", "tom", ["I'm overwhelmed by the PT PMA paperwork", "thanks"], start=start + timedelta(hours=2)
        ),
    )
    resources = pipeline_resources(data_uri, LlamaResource(model_path="", server_url="", context_size=4096))
    night = dg.materialize(
        [nightly_findings], resources=resources, partition_key=day, instance=dg.DagsterInstance.ephemeral()
    )
    assert night.success
    metadata = {k: v.value for k, v in night.asset_materializations_for_node("nightly_findings")[0].metadata.items()}
    filtered = dict(metadata["filtered"])
    assert metadata["read"] == 2 and metadata["findings"] + filtered.pop("schema_invalid") == 2
    assert metadata["findings"] == metadata["kept"] + sum(filtered.values())

    cache = dg.materialize(
        [curated_facts, intent_catalogue, common_response_cache],
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        run_config={
            "ops": {
                "common_response_cache": {
                    "config": {"intent_limit": 1, "paraphrases_per_language": 2, "variants_per_language": 1}
                }
            }
        },
    )
    assert cache.success  # the team's references cover every language even if every model variant is refused
    assert all(e.passed for e in cache.get_asset_check_evaluations())
    rows = lancedb.connect(data_uri).open_table(RESPONSE_CACHE_TABLE).to_arrow().to_pylist()
    answers = [row for row in rows if row["kind"] == CACHE_ANSWER]
    assert {row["language"] for row in answers} == {"en", "it", "id"}
    assert not any(ch.isdigit() for row in answers for ch in row["template"].replace("{", "").split("}")[-1])


async def test_attack_corpus_through_the_loop_with_smollm2(claude, data_uri, monkeypatch):
    """Two attempts per language through chat, the night with the real model, approval of everything, retrieval
    and a cache rebuild: nothing planted is served, whatever the small model writes."""
    from tests.support.attack_loop import ATTEMPTS, attack_loop, describe, yesterday_clock

    attempts = [a for lang in ("en", "it", "id") for a in [x for x in ATTEMPTS if x["language"] == lang][:2]]
    day = yesterday_clock(monkeypatch)
    llama = LlamaResource(model_path="", server_url="", context_size=4096)
    report = await attack_loop(claude.url, data_uri, llama, attempts, day)
    print(describe(report))
    assert report.conversations == len(attempts)
    assert report.accounted(attempts), describe(report)
    assert report.leaked(attempts) == []
