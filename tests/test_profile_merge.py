"""The profile merge: newer evidence wins, history is kept, and order or repetition of analyses changes nothing."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from jiwa.domain.analysis import AnalysedConversation
from jiwa.domain.profile import MAX_HISTORY, MAX_LIST_ITEMS, Profile
from jiwa.enrichment.profile_merge import build_profile, latest_per_conversation, merge, sources_fingerprint

T0 = datetime(2026, 11, 1, tzinfo=UTC)
EMOTIONS = ["calm", "anxious", "hopeful", "confused"]
TRUST = ["low", "medium", "high"]
NOTES = ["yoga", "surfing", "a villa in Ubud", "cooking", "the visa process", "kids' school", "opening a cafe"]


def analysed(
    conversation: int,
    *,
    day: int,
    emotion="calm",
    trust="medium",
    name=None,
    interests=(),
    fingerprint="f1",
    language="it",
) -> AnalysedConversation:
    claim = lambda value, evidence=(1,): {"value": value, "evidence": list(evidence)}  # noqa: E731
    analysis = {
        "summary": f"Conversation {conversation} about moving to Bali.",
        "emotional_state": claim(emotion),
        "emotional_trajectory": "steady",
        "trust_level": claim(trust),
        "personality": None,
        "communication_style": claim("detailed", (1, 3)),
        "relationship_phase": claim("getting_to_know"),
        "life_phase": claim("planning"),
        "life_situation": None,
        "cultural_signals": [],
        "dreams": [],
        "anxieties": [],
        "needs_beyond_question": [],
        "facts": {
            "name": claim(name) if name else None,
            "nationality": None,
            "interests": [claim(i) for i in interests],
            "plans": [],
        },
    }
    at = T0 + timedelta(days=day)
    return AnalysedConversation(
        conversation_id=f"conv_{conversation}",
        tenant="acme",
        user_id="u1",
        fingerprint=fingerprint,
        ended_at=at,
        analysed_at=at + timedelta(minutes=1),
        analysis=analysis,
        markers={"maaf": 1},
        languages={language: 2},
        primary_language=language,
    )


def test_newer_evidence_updates_a_field_and_history_keeps_the_trajectory():
    profile = build_profile(
        "u1",
        "acme",
        [analysed(1, day=0, emotion="anxious", trust="low"), analysed(2, day=1, emotion="hopeful", trust="high")],
    )
    context = profile.jiwa_context
    assert context.emotional_state.value == "hopeful" and context.emotional_state.sources == ("conv_2",)
    assert context.trust_level.value == "high" and context.trust_level.updated_at == T0 + timedelta(days=1)
    assert [point.value for point in profile.emotional_history] == ["anxious", "hopeful"]
    assert [point.value for point in profile.trust_history] == ["low", "high"]
    assert profile.conversations == 2 and profile.cultural_markers == {"maaf": 2}


def test_agreement_raises_confidence_and_collects_sources():
    one = build_profile("u1", "acme", [analysed(1, day=0, name="Giulia")])
    two = build_profile("u1", "acme", [analysed(1, day=0, name="Giulia"), analysed(2, day=3, name="giulia")])
    assert two.facts.name.confidence > one.facts.name.confidence
    assert two.facts.name.sources == ("conv_1", "conv_2")
    assert two.facts.name.first_seen == T0 and two.facts.name.updated_at == T0 + timedelta(days=3)


def test_a_continued_conversation_replaces_its_earlier_analysis():
    first = analysed(1, day=0, emotion="anxious", fingerprint="before")
    continued = analysed(1, day=1, emotion="calm", fingerprint="after")
    profile = build_profile("u1", "acme", [first, continued])
    assert profile.conversations == 1
    assert profile.jiwa_context.emotional_state.value == "calm"
    assert [point.value for point in profile.emotional_history] == ["calm"]
    assert latest_per_conversation([continued, first]) == [continued]


def test_lists_and_history_stay_bounded():
    items = [analysed(i, day=i, interests=[NOTES[i % len(NOTES)], f"topic {i}"]) for i in range(40)]
    profile = build_profile("u1", "acme", items)
    assert len(profile.facts.interests) == MAX_LIST_ITEMS
    assert len(profile.emotional_history) == MAX_HISTORY
    assert {item.value for item in profile.facts.interests[:2]} == {"topic 39", NOTES[39 % len(NOTES)]}  # newest first
    Profile.model_validate_json(profile.model_dump_json())


analysis_lists = st.lists(
    st.builds(
        analysed,
        conversation=st.integers(0, 6),
        day=st.integers(0, 20),
        emotion=st.sampled_from(EMOTIONS),
        trust=st.sampled_from(TRUST),
        name=st.sampled_from([None, "Giulia", "Made"]),
        interests=st.lists(st.sampled_from(NOTES), max_size=3),
        fingerprint=st.sampled_from(["a", "b"]),
        language=st.sampled_from(["it", "en", "id"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(analyses=analysis_lists, data=st.data())
def test_order_and_repetition_do_not_change_the_profile(analyses, data):
    expected = build_profile("u1", "acme", analyses).model_dump_json()
    shuffled = data.draw(st.permutations(analyses))
    repeated = shuffled + data.draw(st.lists(st.sampled_from(analyses), max_size=6))
    assert build_profile("u1", "acme", repeated).model_dump_json() == expected
    assert sources_fingerprint(repeated) == sources_fingerprint(analyses)


@settings(max_examples=100, deadline=None)
@given(analyses=analysis_lists)
def test_folding_new_conversations_onto_a_stored_profile_equals_a_rebuild(analyses):
    ordered = latest_per_conversation(analyses)
    split = len(ordered) // 2
    stored = build_profile("u1", "acme", ordered[:split])
    for item in ordered[split:]:
        stored = merge(stored, item)
    assert stored == build_profile("u1", "acme", analyses)
