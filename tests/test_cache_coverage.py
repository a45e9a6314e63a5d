"""Cache coverage on the realistic questions, written without the catalogue and labelled by the team with the intents
whose reference answer answers each one: the labels name real intents, and what the cache serves is right."""

from datetime import date

import pytest

from bench.cache_coverage import PAST_REVIEW, QUESTION_SETS, coverage, load_questions, summarise, unknown_intents
from jiwa.domain.language import LANGUAGES
from tests.support.server import FACTS_CHECKED_ON


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return load_questions()


@pytest.fixture(scope="module")
def report(questions, embedder, tmp_path_factory) -> dict:
    # On a day every fact is within review, so the figures do not depend on the day the test runs.
    stores = str(tmp_path_factory.mktemp("coverage") / "stores")
    return summarise(coverage(questions, embedder, stores, review_date=FACTS_CHECKED_ON))


def test_every_question_is_labelled_with_intents_the_catalogue_has(questions):
    assert len(questions) == 330
    assert {q["language"] for q in questions} == set(LANGUAGES)
    assert all(isinstance(q["answered_by"], list) for q in questions)
    assert not unknown_intents(questions)
    assert len({q["id"] for q in questions}) == len(questions)
    assert len(load_questions(smoke=True)) == 10 * len(LANGUAGES)  # what bench.cache_coverage --smoke runs


def test_a_question_left_to_claude_for_facts_past_review_says_so(embedder, tmp_path):
    # On a day past every review date, the report names the facts, not a missing answer.
    questions = load_questions(smoke=True)
    report = summarise(coverage(questions, embedder, str(tmp_path / "stores"), review_date=date(2100, 1, 1)))
    reasons = report["answerable_not_served_reasons"]
    assert reasons.get(PAST_REVIEW, 0) > 0, reasons
    assert not [reason for reason in reasons if reason.startswith("no ") and reason.endswith(" answer")], reasons


def test_the_coverage_report_counts_every_question(report):
    assert report["all"]["questions"] == 330
    assert sum(row["questions"] for row in report["by_language"].values()) == 330
    assert report["all"]["served"] > 0


# Issue 19 asks for at least 50% served in each language with at most 1% of them wrong. Measured with `python -m
# bench.cache_coverage --on <a day within review>`: 170 of 330 (52%; en 55%, it 50%, id 50%), none wrong. This is the
# set the catalogue was fitted to (its misses were read round after round, and the README's coverage section tells
# that history); on the sets written after it (below) far less is served. The bounds keep what is reached.
def test_what_the_cache_serves_does_not_slide_back(report):
    assert report["all"]["wrong"] == 0, report["wrong"]
    assert report["all"]["served_share"] >= 0.50
    assert all(row["served_share"] >= 0.50 for row in report["by_language"].values()), report["by_language"]
    assert report["all"]["wrong_language"] == 0


# Sets 2 to 6 were each written without the catalogue (by helpers who had not read it) and labelled afterwards
# against its reference answers; the misses of each were read when intents, synonyms and chat words were added after
# it was first measured, so set 6 is the least fitted. On first measure: set 3 served 51 with 14 wrong, set 4 33 with
# 5, set 5 30 with 5, set 6 46 with 5; every rule since was kept only if it added no wrong answer on any set. Now
# (sets 2 to 6): 118/48/59/38/64 served, 0/1/2/1/4 wrong; the wrong ones ask a detail in the intent's own words (which
# bank, where the office is, how much a phone's duty came to), which the three gates do not tell from a right hit.
LATER_SETS = {  # the served share kept, and the most wrong allowed
    "2": (0.35, 0),
    "3": (0.14, 1),
    "4": (0.17, 2),
    "5": (0.11, 1),
    "6": (0.19, 4),
}


@pytest.mark.parametrize("name", sorted(LATER_SETS))
def test_a_later_set_is_labelled_with_intents_the_catalogue_has(name):
    questions = load_questions(QUESTION_SETS[name])
    assert len(questions) == 330 and len({q["id"] for q in questions}) == 330
    assert {q["language"] for q in questions} == set(LANGUAGES)
    assert not unknown_intents(questions)


@pytest.mark.parametrize("name", sorted(LATER_SETS))
def test_on_a_later_set_the_cache_does_not_slide_back(name, embedder, tmp_path_factory):
    served_share, most_wrong = LATER_SETS[name]
    stores = str(tmp_path_factory.mktemp(f"coverage{name}") / "stores")
    report = summarise(coverage(load_questions(QUESTION_SETS[name]), embedder, stores, review_date=FACTS_CHECKED_ON))
    assert report["all"]["served_share"] >= served_share
    assert report["all"]["wrong"] <= most_wrong, report["wrong"]
    assert report["all"]["wrong_language"] == 0
