"""Accepting a nightly proposal in one launch: validated whole, stored as a decision, added to the team's files (the
seed) and served once the cache is rebuilt; edits replace, rejections add nothing, and users' words stay out."""

import asyncio
import json
from datetime import UTC, datetime

import dagster as dg
import lancedb
import pyarrow as pa
import pytest
import yaml

from assets import response_cache
from assets.nightly import proposed_intents
from assets.response_cache import accepted_intents, curated_facts, intent_catalogue
from assets.response_cache.accepted import FactConfig, IntentDecisionConfig
from jiwa.catalogue.accepted import AcceptedIntent, with_accepted
from jiwa.catalogue.intents import load_intents
from jiwa.paths import PROJECT_ROOT
from jiwa.store.decisions import record_decision
from jiwa.store.lance import upsert
from jiwa.store.schema import INTENT_DECISIONS_TABLE, PROPOSALS_TABLE, proposals_schema
from serving.insights import QueryEmbedder
from serving.response_cache import ResponseCache
from serving.withheld import Withheld
from tests.support.log import conversation, record
from tests.support.nightly import bali, forget, night, rows
from tests.support.server import FACTS_CHECKED_ON

DAY = "2026-11-23"
PROPOSAL = f"{DAY}-1"
QUESTIONS = ["Can I bring my dog to Bali?", "can i bring my dog to bali", "Can I bring my dog into Bali?"]
PET = {
    "proposal_id": PROPOSAL,
    "decision": "accept",
    "intent": "pet_import",
    "require": ["pet"],
    "optional": ["documents", "how"],
    "new_terms": {"pet": ["dog", "dogs", "cat", "cats", "pet", "pets", "cane", "gatto", "anjing", "kucing"]},
    "phrasings": {
        "en": ["what do I need to bring a pet to Bali?", "flying to Bali with my cat"],
        "it": ["posso portare il mio gatto a Bali?", "cosa serve per portare un cane in Indonesia"],
        "id": ["syarat membawa anjing ke Bali", "bisa bawa kucing ke Bali?"],
    },
    "reference": {
        "en": "Not into Bali: {pet_ban}. Ask the quarantine office before you plan the move.",
        "it": "A Bali no: {pet_ban}. Chiedi all'ufficio quarantena prima di organizzare il trasloco.",
        "id": "Ke Bali tidak bisa: {pet_ban}. Tanyakan ke kantor karantina sebelum merencanakan pindahan.",
    },
    "near_misses": {"en": ["how much is a KITAS for my dog"]},
    "facts": {
        "pet_ban": {
            "value_by_language": {
                "en": "since its rabies outbreak Bali has banned bringing in dogs, cats and other animals that can carry it",
                "it": "dall'epidemia di rabbia Bali vieta l'ingresso di cani, gatti e altri animali che possono trasmetterla",
                "id": "sejak wabah rabies, Bali melarang pemasukan anjing, kucing, dan hewan lain yang dapat menularkannya",
            },
            "as_of": "2026-11-01",
            "review_by": "2027-05-01",
            "source": "Denpasar animal quarantine office, November 2026",
        }
    },
}
TEAM_ONLY = {"paraphrases_per_language": 0, "variants_per_language": 0}


def _launch(resources, config: dict, instance=None) -> dg.ExecuteInProcessResult:
    """The review_intent_proposal job as the launchpad runs it, the cache built from the team's texts only."""
    defs = dg.Definitions.merge(response_cache.defs, dg.Definitions(resources=resources))
    return defs.resolve_job_def("review_intent_proposal").execute_in_process(
        run_config={"ops": {"accepted_intents": {"config": config}, "common_response_cache": {"config": TEAM_ONLY}}},
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _propose(resources, data_uri) -> None:
    """Three users ask the cache something it cannot answer; the night proposes it."""
    events = []
    for index, text in enumerate(QUESTIONS):
        events += conversation(f"c{index}", f"user{index}", [text], start=bali(DAY, 8 + index))
    record(data_uri, events)
    assert night(resources, DAY, assets=[proposed_intents])["proposed_intents"]["proposed"][0]["id"] == PROPOSAL


def _proposal_rows(data_uri) -> None:
    """The proposal's rows as the night writes them, without the night."""
    at = datetime(2026, 11, 23, 2, tzinfo=UTC)
    stored = [
        {"id": f"m{i}", "proposal": PROPOSAL, "day": DAY, "tenant": "acme", "user_id": f"user{i}", "question": text}
        | {"asked_at": at, "run_id": "night"}
        for i, text in enumerate(QUESTIONS)
    ]
    upsert(lancedb.connect(data_uri), PROPOSALS_TABLE, proposals_schema(), pa.Table.from_pylist(stored))


def _answer(data_uri, embedder, message: str, lang: str):
    """What the server's cache answers, from the latest published version."""
    cache = ResponseCache(data_uri, embedder, QueryEmbedder(embedder), Withheld(data_uri), FACTS_CHECKED_ON)
    cache.refresh()
    return asyncio.run(cache.lookup(message, lang, None, ("acme", "newcomer")))


def _failure(result: dg.ExecuteInProcessResult) -> str:
    return " ".join(event.event_specific_data.error.message for event in result.get_step_failure_events())


def _data_versions(result) -> tuple[str, ...]:
    return tuple(
        result.asset_materializations_for_node(asset)[0].tags["dagster/data_version"]
        for asset in ("accepted_intents", "intent_catalogue", "common_response_cache")
    )


def _metadata(result, asset: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(asset)[0].metadata.items()}


def test_an_accepted_proposal_is_served_once_the_launch_rebuilds_the_cache(resources, data_uri, embedder):
    _propose(resources, data_uri)
    assert _answer(data_uri, embedder, QUESTIONS[0], "en") is None  # what the night saw: no answer yet

    result = _launch(resources, PET)
    assert result.success, _failure(result)
    hit = _answer(data_uri, embedder, QUESTIONS[0], "en")
    assert hit.intent == "pet_import" and "banned bringing in dogs, cats" in hit.reply
    italian = _answer(data_uri, embedder, "posso portare il mio cane a Bali?", "it")
    assert italian.intent == "pet_import" and "vieta l'ingresso di cani" in italian.reply
    assert _answer(data_uri, embedder, "how much is a KITAS for my dog", "en") is None
    assert _answer(data_uri, embedder, "how much does a KITAS cost?", "en").intent == "kitas_cost"

    assert _metadata(result, "intent_catalogue")["accepted_intents"] == 1
    assert _metadata(result, "curated_facts")["facts_from_accepted_intents"] == 1
    assert lancedb.connect(data_uri).open_table(INTENT_DECISIONS_TABLE).tags.list()
    decision = _metadata(result, "accepted_intents")
    assert decision["accepted"] == 1 and PROPOSAL in decision["preview"]
    # The catalogue holds the analyst's words: no question a user asked is in the decision or in Dagster's metadata.
    stored = json.dumps(rows(data_uri, INTENT_DECISIONS_TABLE), default=str).lower()
    shown = json.dumps([_metadata(result, a) for a in ("accepted_intents", "intent_catalogue")], default=str)
    assert "bring my dog" not in stored and "bring my dog" not in shown.lower()


def test_the_latest_decision_holds_a_rejection_adds_nothing_and_an_edit_replaces(resources, data_uri, embedder):
    _proposal_rows(data_uri)
    instance = dg.DagsterInstance.ephemeral()
    rejected = _launch(resources, {"proposal_id": PROPOSAL, "decision": "reject"}, instance)
    assert rejected.success, _failure(rejected)
    assert _answer(data_uri, embedder, "posso portare il mio gatto a Bali?", "it") is None
    assert _metadata(rejected, "intent_catalogue")["intents"] == len(load_intents().intents)

    assert _launch(resources, PET, instance).success
    edited = {**PET, "reference": {**PET["reference"], "it": "No, {pet_ban}: chiedi prima al veterinario."}}
    assert _launch(resources, edited, instance).success
    hit = _answer(data_uri, embedder, "posso portare il mio gatto a Bali?", "it")
    assert hit.intent == "pet_import" and "chiedi prima al veterinario" in hit.reply
    assert "ufficio quarantena" not in hit.reply
    # The data versions follow what is accepted, so the UI shows what is built on it stale until it is rebuilt.
    versions = [_data_versions(_launch(resources, config, instance)) for config in (PET, edited, PET)]
    assert versions[0] == versions[2] and all(a != b for a, b in zip(versions[0], versions[1], strict=True))
    assert _launch(resources, {"proposal_id": PROPOSAL, "decision": "reject"}, instance).success
    assert _answer(data_uri, embedder, "posso portare il mio gatto a Bali?", "it") is None
    assert [r["decision"] for r in rows(data_uri, INTENT_DECISIONS_TABLE)].count("accept") == 5  # one row a decision


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"require": ["pets"]}, "term groups ['pets'] that are not defined"),
        ({"reference": {**PET["reference"], "en": "A pet needs 30 days of quarantine."}}, "reference.en: states a"),
        ({"phrasings": {"en": PET["phrasings"]["en"], "it": PET["phrasings"]["it"]}}, "phrasing is needed in id"),
        ({"phrasings": {**PET["phrasings"], "en": ["can I bring my dog to Bali"]}}, "phrasings.en[0] repeat"),
        ({"reference": {**PET["reference"], "en": "Yes, with {pet_rules}."}}, "unknown placeholder {pet_rules}"),
        ({"intent": "kitas_cost"}, "has the name of an intent in intents.yaml"),
        ({"proposal_id": "2026-11-30-9"}, "No proposal has the id '2026-11-30-9'"),
        ({"phrasings": {**PET["phrasings"], "en": ["how much does a KITAS cost?"]}}, "phrasings.en[0] is not matched"),
        ({"decision": "reject"}, "A rejection takes only proposal_id and decision"),
        ({"facts": {"pet_ban": {**PET["facts"]["pet_ban"], "as_of": "soon"}}}, "as_of: Input should be"),
    ],
    ids=[
        "unknown_group",
        "number",
        "missing_language",
        "verbatim",
        "unknown_fact",
        "seed_name",
        "no_proposal",
        "another_intents_phrasing",
        "rejection_with_content",
        "date",
    ],
)
def test_an_invalid_decision_fails_saying_what_is_wrong_and_writes_nothing(resources, data_uri, change, message):
    _proposal_rows(data_uri)
    result = _launch(resources, {**PET, **change})
    assert not result.success
    assert message in _failure(result)
    assert "bring my dog" not in _failure(result).lower()
    assert INTENT_DECISIONS_TABLE not in lancedb.connect(data_uri).table_names()
    assert not result.get_asset_materialization_events()  # nothing downstream was rebuilt either


def test_forgetting_a_user_removes_their_questions_and_the_accepted_intent_stays(resources, data_uri):
    _propose(resources, data_uri)
    assert _launch(resources, PET).success
    forget(data_uri, "acme", "user0")
    assert sorted(r["user_id"] for r in rows(data_uri, PROPOSALS_TABLE)) == ["user1", "user2"]
    for user in ("user1", "user2"):
        forget(data_uri, "acme", user)
    assert rows(data_uri, PROPOSALS_TABLE) == []
    # The decision holds the analyst's words only, so it outlives the questions and the catalogue keeps it.
    republished = dg.materialize(
        [accepted_intents, intent_catalogue], resources=resources, instance=dg.DagsterInstance.ephemeral()
    )
    assert republished.success and _metadata(republished, "intent_catalogue")["accepted_intents"] == 1


def test_a_new_accepted_set_rebuilds_the_catalogues_by_automation(resources, data_uri):
    cache_defs = dg.Definitions.merge(response_cache.defs, dg.Definitions(resources=resources))
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([curated_facts, intent_catalogue], resources=resources, instance=instance)
    baseline = dg.evaluate_automation_conditions(defs=cache_defs, instance=instance)
    assert baseline.get_num_requested(intent_catalogue.key) == 0  # no decision yet: the seed alone, as before
    _proposal_rows(data_uri)
    assert _launch(resources, PET, instance).success  # the whole launch rebuilds, so nothing is left to do
    after_launch = dg.evaluate_automation_conditions(defs=cache_defs, instance=instance, cursor=baseline.cursor)
    assert after_launch.total_requested == 0
    # Materialized alone (a republish), the accepted set still reaches the catalogues and the cache after it.
    dg.materialize([accepted_intents], resources=resources, instance=instance)
    after = dg.evaluate_automation_conditions(defs=cache_defs, instance=instance, cursor=after_launch.cursor)
    assert after.get_num_requested(intent_catalogue.key) == after.get_num_requested(curated_facts.key) == 1


def test_a_seed_intent_that_takes_an_accepted_name_fails_the_catalogue_saying_what_to_do(resources, data_uri):
    taken = AcceptedIntent.model_validate(
        {"proposal": PROPOSAL, "name": "kitas_cost", "intent": load_intents().intents["kitas_cost"].model_dump()}
    )
    record_decision(lancedb.connect(data_uri), PROPOSAL, "accept", taken, "run-1")
    result = dg.materialize([intent_catalogue], resources=resources, raise_on_error=False)
    assert not result.success
    assert "has the name of an intent in intents.yaml: accept the proposal again under another name" in _failure(result)


def test_the_readme_example_is_the_launch_config():
    readme = (PROJECT_ROOT / "README.md").read_text().split("**Accepting a proposal**", 1)[1]
    example = yaml.safe_load(readme.split("```yaml\n", 1)[1].split("```", 1)[0])
    assert set(example) <= set(IntentDecisionConfig.model_fields)
    assert {field for fact in example["facts"].values() for field in fact} <= set(FactConfig.model_fields)
    assert "review_intent_proposal" in readme and "ops: {accepted_intents: {config: ...}}" in readme
    from pipelines.definitions import defs

    job = defs.resolve_job_def("review_intent_proposal")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == {
        "accepted_intents",
        "curated_facts",
        "intent_catalogue",
        "common_response_cache",
    }


def test_a_catalogue_with_accepted_intents_keeps_the_seeds_matching_settings():
    # Whatever the seed says beyond intents and terms (neutral groups, welcome-back texts) must carry over:
    # a field left behind would make the cache match differently once anything is accepted.
    seed = load_intents()
    assert with_accepted(seed, []).model_dump(exclude={"sha256"}) == seed.model_dump(exclude={"sha256"})
