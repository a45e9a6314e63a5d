"""Cache coverage on the realistic questions, written without the catalogue and labelled by the team with the intents
whose reference answer answers each one: the labels name real intents, and what the cache serves is right."""

import pytest

from bench.cache_coverage import coverage, load_questions, summarise, unknown_intents
from jiwa.language import LANGUAGES


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return load_questions()


@pytest.fixture(scope="module")
def report(questions, embedder, tmp_path_factory) -> dict:
    return summarise(coverage(questions, embedder, str(tmp_path_factory.mktemp("coverage") / "stores")))


def test_every_question_is_labelled_with_intents_the_catalogue_has(questions):
    assert len(questions) == 330
    assert {q["language"] for q in questions} == set(LANGUAGES)
    assert all(isinstance(q["answered_by"], list) for q in questions)
    assert not unknown_intents(questions)
    assert len({q["id"] for q in questions}) == len(questions)
    assert len(load_questions(smoke=True)) == 10 * len(LANGUAGES)  # what bench.cache_coverage --smoke runs


def test_the_coverage_report_counts_every_question(report):
    assert report["all"]["questions"] == 330
    assert sum(row["questions"] for row in report["by_language"].values()) == 330
    assert report["all"]["served"] > 0


# Measured with the catalogue of issue 19 (commit abfa6d8): 20 wrong of 99 served, 20.2% (en 8/34, it 5/29, id 7/36),
# mostly near misses that the term rules let through (which KBLI code, investor share thresholds, accountant's fees
# read as PT PMA set-up costs, "sim a ubud" read as a SIM A driving licence). Left failing on purpose: the team
# decides whether the catalogue changes; the labels were not changed to fit the matcher.
@pytest.mark.xfail(strict=True, reason="20.2% of served answers are wrong (20 of 99); the bar is 1%")
def test_at_most_one_percent_of_the_answers_served_are_wrong(report):
    assert report["all"]["wrong_share_of_served"] <= 0.01
