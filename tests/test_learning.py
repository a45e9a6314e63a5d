"""Learning that can be trusted: a lesson is earned by several users of one tenant, reaches other tenants only once
an analyst approves it, loses a forgotten user's support, and feedback withholds what users rated down."""

from pathlib import Path

import dagster as dg
import lancedb
import pytest
from litestar.testing import AsyncTestClient

from assets.nightly import feedback_scores, learned_insights, nightly_findings
from jiwa.store.learned import withheld_ids
from jiwa.store.memory_index import MemoryIndex
from jiwa.store.schema import FEEDBACK_TABLE, INSIGHTS_TABLE, LEARNED_TABLE
from serving.app import create_app
from tests.support.fakes import FakeLlamaResource
from tests.support.log import conversation, record
from tests.support.nightly import bali, feedback, forget, lesson, night, review, rows
from tests.support.server import auth, publish_curated, server_settings

NIGHT_1, NIGHT_2 = "2026-11-20", "2026-11-21"
LATENESS = (
    "Newcomers get upset when builders arrive late, and reading the delay as rudeness makes things worse.",
    "Reassure them that lateness is rarely meant as disrespect and suggest a friendly reminder message the day before.",
)
QUESTION = "my builder is late again and I am angry"
LEARNING = [nightly_findings, learned_insights, feedback_scores]


def _served(data_uri: str, embedder, tenant: str, text: str = QUESTION) -> set[str]:
    db = lancedb.connect(data_uri)
    learned = db.open_table(LEARNED_TABLE) if LEARNED_TABLE in db.table_names() else None
    index = MemoryIndex.from_tables(db.open_table(INSIGHTS_TABLE), learned, withheld_ids(db))
    return {hit.id for hit in index.search(embedder.embed([text])[0], text, k=30, per_topic=30, tenant=tenant)}


def _teach(resources, data_uri: str, day: str, users: list[tuple[str, str]]) -> dict:
    """Each (tenant, user) tells Jiwa about a late builder that day; LLAMA draws the same lesson from each."""
    events = []
    for index, (tenant, user) in enumerate(users):
        events += conversation(
            f"{day}-{tenant}-{user}",
            user,
            ["Il costruttore è di nuovo in ritardo"],
            start=bali(day, 9 + index),
            tenant=tenant,
        )
    record(data_uri, events)
    llama = FakeLlamaResource(script=[lesson(*LATENESS)] * len(users))
    return night({**resources, "llama": llama}, day, assets=LEARNING)


async def _grounds_chat(claude, data_uri: str) -> dict[str, bool]:
    """Whether a learned lesson grounds the server's reply to each tenant's user."""
    app = create_app(server_settings(data_uri, claude.url))
    grounded = {}
    async with AsyncTestClient(app=app) as client:
        for tenant in ("acme", "globex"):
            reply = await client.post(
                "/v1/chat", json={"user_id": f"dewi-{tenant}", "message": QUESTION}, headers=auth(tenant)
            )
            assert reply.status_code == 200, reply.text
            grounded[tenant] = any(i.startswith("learned-") for i in reply.json()["insight_ids"])
    return grounded


def _lateness(data_uri: str, tenant: str = "acme") -> dict | None:
    return next((c for c in rows(data_uri, LEARNED_TABLE) if c["tenant"] == tenant), None)


async def test_a_lesson_from_three_users_over_two_nights_is_earned_by_its_tenant_and_shared_only_once_approved(
    resources, data_uri, embedder, claude
):
    publish_curated(resources)
    first = _teach(resources, data_uri, NIGHT_1, [("acme", "ana"), ("acme", "ben")])
    candidate = _lateness(data_uri)
    assert first["nightly_findings"]["kept"] == 2, first["nightly_findings"]["filtered"]
    assert (candidate["users"], candidate["status"], candidate["first_seen"]) == (2, "candidate", NIGHT_1)
    assert candidate["id"] not in _served(data_uri, embedder, "acme")  # two voices are not yet a pattern

    _teach(resources, data_uri, NIGHT_2, [("acme", "cai")])
    earned = _lateness(data_uri)
    assert earned["id"] == candidate["id"] and len(rows(data_uri, LEARNED_TABLE)) == 1  # support accumulated
    assert (earned["users"], earned["status"], earned["last_seen"]) == (3, "earned", NIGHT_2)
    assert earned["id"] in _served(data_uri, embedder, "acme")
    assert earned["id"] not in _served(data_uri, embedder, "globex")
    assert earned["id"] not in _served(data_uri, embedder, None)

    assert await _grounds_chat(claude, data_uri) == {"acme": True, "globex": False}

    approved = review(resources, approve=[earned["id"]])
    assert approved["statuses"] == {"approved": 1} and earned["id"] in approved["preview"]
    # The words are for the analyst beside the stores, not in Dagster's storage.
    assert LATENESS[0] not in approved["preview"] and LATENESS[0] in Path(approved["review_sheet"]).read_text()
    assert earned["id"] in _served(data_uri, embedder, "globex")
    assert await _grounds_chat(claude, data_uri) == {"acme": True, "globex": True}
    review(resources, reject=[earned["id"]])
    assert earned["id"] not in _served(data_uri, embedder, "acme")


def test_another_tenants_users_never_add_support(resources, data_uri, embedder):
    publish_curated(resources)
    _teach(resources, data_uri, NIGHT_1, [("acme", "ana"), ("acme", "ben"), ("globex", "gus"), ("globex", "gia")])
    assert {(c["tenant"], c["users"], c["status"]) for c in rows(data_uri, LEARNED_TABLE)} == {
        ("acme", 2, "candidate"),
        ("globex", 2, "candidate"),
    }
    # The same user id under another tenant is another person.
    _teach(resources, data_uri, NIGHT_2, [("globex", "ana")])
    assert _lateness(data_uri, "acme")["users"] == 2 and _lateness(data_uri, "globex")["status"] == "earned"
    assert _lateness(data_uri, "globex")["id"] not in _served(data_uri, embedder, "acme")


def test_forgetting_a_user_removes_their_support(resources, data_uri, embedder):
    publish_curated(resources)
    _teach(resources, data_uri, NIGHT_1, [("acme", "ana"), ("acme", "ben"), ("acme", "cai")])
    earned = _lateness(data_uri)
    assert earned["status"] == "earned" and earned["id"] in _served(data_uri, embedder, "acme")

    forget(data_uri, "acme", "cai")
    below = _lateness(data_uri)
    assert (below["users"], below["status"]) == (2, "candidate") and "cai" not in below["supporting_users"]
    assert below["id"] not in _served(data_uri, embedder, "acme")

    forget(data_uri, "acme", "ana")
    forget(data_uri, "acme", "ben")
    assert rows(data_uri, LEARNED_TABLE) == []
    assert LATENESS[0] not in (Path(data_uri) / "learned_insights_review.md").read_text()


def test_unknown_or_contradictory_review_ids_are_refused_with_the_way_out(resources, data_uri):
    _teach(resources, data_uri, NIGHT_1, [("acme", "ana")])
    with pytest.raises(dg.Failure, match="No learned candidate has the id"):
        review(resources, approve=["learned-nope"])
    known = _lateness(data_uri)["id"]
    with pytest.raises(dg.Failure, match="both approved and rejected"):
        review(resources, approve=[known], reject=[known])


@pytest.mark.parametrize("users_rating_down, withheld", [(2, False), (3, True)])
def test_what_enough_users_rate_down_is_withheld_unless_the_team_wrote_it(
    resources, data_uri, embedder, users_rating_down, withheld
):
    publish_curated(resources)
    insight = next(r for r in rows(data_uri, INSIGHTS_TABLE) if r["topic_id"] == "jam_karet")
    assert insight["id"] in _served(data_uri, embedder, "acme")
    events = []
    for index in range(users_rating_down):
        turns = conversation(f"c{index}", f"user{index}", [QUESTION], start=bali(NIGHT_1, 9 + index))
        reply = next(e for e in turns if e.role == "assistant")
        reply.insight_ids, reply.cache_answer = [insight["id"]], "answer-visa-en-short"
        events += [*turns, feedback(reply, "down", "not helpful")]
    # A user rating up is outweighed, and one rating twice counts once.
    happy = conversation("c_up", "happy", [QUESTION], start=bali(NIGHT_1, 20))
    happy_reply = next(e for e in happy if e.role == "assistant")
    happy_reply.insight_ids = [insight["id"]]
    events += [*happy, feedback(happy_reply, "up"), feedback(happy_reply, "up")]
    record(data_uri, events)

    metadata = night(resources, None, assets=[feedback_scores])["feedback_scores"]
    scores = {(row["tenant"], row["item"]): row for row in rows(data_uri, FEEDBACK_TABLE)}
    assert scores[("acme", insight["id"])]["rated_down_users"] == users_rating_down
    assert scores[("acme", insight["id"])]["rated_up_users"] == 1
    acme_withheld = withheld_ids(lancedb.connect(data_uri)).get("acme", frozenset())
    # The insight is curated: the votes put it before an analyst and it stays served.
    assert insight["id"] not in acme_withheld and insight["id"] in _served(data_uri, embedder, "acme")
    assert scores[("acme", insight["id"])]["needs_review"] is withheld
    # The cached answer is not the team's: it is withheld, from acme only (acme's users speak for acme).
    assert ("answer-visa-en-short" in acme_withheld) is withheld
    assert "answer-visa-en-short" not in withheld_ids(lancedb.connect(data_uri)).get("globex", frozenset())
    assert metadata["withheld"] == (1 if withheld else 0) and metadata["needs_review"] == (1 if withheld else 0)
    assert "not helpful" not in str(metadata)


def test_a_rejection_holds_when_the_lesson_loses_its_first_finding(resources, data_uri, embedder):
    publish_curated(resources)
    _teach(resources, data_uri, NIGHT_1, [("acme", "ana"), ("acme", "ben"), ("acme", "cai"), ("acme", "dan")])
    rejected = _lateness(data_uri)
    review(resources, reject=[rejected["id"]])
    forget(data_uri, "acme", "ana")  # the lesson's first finding goes, so it is rebuilt from ben's
    again = _lateness(data_uri)
    assert again["users"] == 3 and again["status"] == "rejected"
    assert again["id"] not in _served(data_uri, embedder, "acme")
    _teach(resources, data_uri, NIGHT_2, [("acme", "eva")])  # new support joins a rejected lesson, still rejected
    assert _lateness(data_uri)["status"] == "rejected"


def test_an_approved_lesson_below_the_threshold_again_is_served_nowhere(resources, data_uri, embedder):
    publish_curated(resources)
    _teach(resources, data_uri, NIGHT_1, [("acme", "ana"), ("acme", "ben"), ("acme", "cai")])
    approved = review(resources, approve=[_lateness(data_uri)["id"]])
    assert approved["statuses"] == {"approved": 1}
    forget(data_uri, "acme", "cai")
    lesson = _lateness(data_uri)
    assert (lesson["users"], lesson["status"]) == (2, "candidate")
    assert lesson["id"] not in _served(data_uri, embedder, "acme") | _served(data_uri, embedder, "globex")


def test_the_preview_counts_lessons_of_too_few_users_without_showing_them(resources, data_uri):
    metadata = _teach(resources, data_uri, NIGHT_1, [("acme", "ana")])["learned_insights"]
    candidate = _lateness(data_uri)
    assert candidate["id"] not in metadata["preview"] and "1 more candidates" in metadata["preview"]
