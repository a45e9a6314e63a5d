"""Cache coverage on realistic questions written without the catalogue (tests/data/realistic_questions*.yaml): how
many the team's cache serves, how many of those it serves wrongly or in the wrong language, and why the ones it
could answer were not served.

Each question is the first message of a new conversation from a new user whose client gave no language, except a
follow-up (kind `followup`: "and for my wife?"), which only makes sense after an earlier turn and so is asked as the
next message of a conversation. As the server sees it: the reply language is jiwa.domain.language.reply_language(None, text, closest=closest_language), and with none the
cache is skipped.
The cache is the team's (intents, facts, no LLAMA paraphrases), published in a temp data folder. A served answer is
wrong when its intent is not among the question's `answered_by` labels, which the team wrote by reading each
question against the reference answers.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import yaml

from bench.common import parse, save
from jiwa.catalogue.intents import load_intents
from jiwa.catalogue.languages import closest_language
from jiwa.catalogue.matching import _TOKEN
from jiwa.domain.language import LANGUAGES, reply_language
from jiwa.embedding import Embedder
from jiwa.paths import PROJECT_ROOT
from jiwa.response_cache.followups import left_to_the_responder
from serving.insights import QueryEmbedder
from serving.response_cache import NEW_CONVERSATION, ConversationSoFar, ResponseCache
from serving.withheld import Withheld

QUESTIONS = PROJECT_ROOT / "tests" / "data" / "realistic_questions.yaml"
# Set 1 was read while the catalogue grew, so it is no longer unseen; sets 2 to 5 were written and labelled after the
# catalogue's intents, by helpers who had not read the catalogue while writing. The misses of sets 3 and 4 were read
# when intents were added after each was first measured; set 5 is the one the catalogue has not been fitted to.
QUESTION_SETS = {
    "1": QUESTIONS,
    "2": QUESTIONS.with_name("realistic_questions_2.yaml"),
    "3": QUESTIONS.with_name("realistic_questions_3.yaml"),
    "4": QUESTIONS.with_name("realistic_questions_4.yaml"),
    "5": QUESTIONS.with_name("realistic_questions_5.yaml"),
    "6": QUESTIONS.with_name("realistic_questions_6.yaml"),
}
SMOKE_PER_LANGUAGE = 10
# Why a question the gates passed was left to Claude: the facts its answer cites are past their review date.
PAST_REVIEW = "cites facts past review"
AFTER_ONE_EXCHANGE = ConversationSoFar(turns=2)  # the user's first message and the reply to it
TENANT = "coverage"


@dataclass(frozen=True)
class Outcome:
    id: str
    language: str
    text: str
    kind: str
    answered_by: list[str]
    detected: str | None  # the reply language the server would choose
    served: str | None  # the intent served from the cache, or None
    reason: str  # why it was not served ("" when it was)
    groups: list[str]  # the term groups the message names
    rules: dict[str, str]  # for a labelled intent not served: which of its term rules the message fails

    @property
    def wrong(self) -> bool:
        return self.served is not None and self.served not in self.answered_by

    @property
    def wrong_language(self) -> bool:
        return self.served is not None and self.detected != self.language


def load_questions(path: Path = QUESTIONS, smoke: bool = False) -> list[dict]:
    """The labelled questions; with smoke, only the first SMOKE_PER_LANGUAGE of each language."""
    questions = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    if not smoke:
        return questions
    taken: Counter[str] = Counter()
    subset = []
    for question in questions:
        if taken[question["language"]] < SMOKE_PER_LANGUAGE:
            taken[question["language"]] += 1
            subset.append(question)
    return subset


def unknown_intents(questions: list[dict]) -> set[str]:
    """Intent names in `answered_by` labels that the catalogue does not have."""
    known = set(load_intents().intents)
    return {name for q in questions for name in q["answered_by"]} - known


async def serve(
    questions: list[dict], data_uri: str, embedder: Embedder, review_date: date | None = None
) -> list[Outcome]:
    """Each question through the server's language choice and cache lookup, on the cache published at data_uri, with
    the facts' review dates compared with review_date (None: today)."""
    queries = QueryEmbedder(embedder)
    cache = ResponseCache(data_uri, embedder, queries, Withheld(data_uri), review_date)
    cache.refresh()
    snapshot = cache._snapshot
    if snapshot is None:
        raise RuntimeError(f"no common_response_cache published under {data_uri}")
    matcher = snapshot.matcher  # the same matcher lookup uses, only to say why a question was not served
    outcomes = []
    for number, question in enumerate(questions):
        text = question["text"]
        language = reply_language(None, text, closest=closest_language)
        intent, groups, reason = matcher.candidate(text)
        served = None
        if language is None:
            reason = "language not detected"
        else:
            conversation = AFTER_ONE_EXCHANGE if question["kind"] == "followup" else NEW_CONVERSATION
            hit = await cache.lookup(text, language, None, (TENANT, f"user{number}"), conversation)
            if hit is not None:
                served, reason = hit.intent, ""
            elif intent is not None and conversation.turns and left_to_the_responder(matcher.spec, intent, text):
                reason = "leans on the conversation before it"
            elif intent is not None and (gap := matcher.uncovered(intent, text)):
                reason = gap
            elif intent is not None:
                vectors = [await queries.embed(question) for question in matcher.questions(text)]
                vector = vectors[0] if len(vectors) == 1 else np.stack(vectors)
                reason = matcher.confirm(intent, vector, groups).reason
                if not reason:
                    overdue = cache.overdue_facts(intent)
                    reason = f"{PAST_REVIEW}: {', '.join(sorted(overdue))}" if overdue else f"no {language} answer"
        outcomes.append(
            Outcome(
                question["id"],
                question["language"],
                text,
                question["kind"],
                list(question["answered_by"]),
                language,
                served,
                reason,
                sorted(groups),
                {} if served else _rules_failed(matcher.spec, question["answered_by"], groups, text),
            )
        )
    return outcomes


def _rules_failed(spec, intents: list[str], groups: set[str], text: str) -> dict[str, str]:
    """Per labelled intent, what keeps its term rules from choosing the message: a required group it does not
    name, a group outside the rule it does name, or too many words ("" when the rules pass)."""
    words = len(_TOKEN.findall(text))
    failed = {}
    for rule in spec.rules:
        if rule.intent not in intents:
            continue
        missing = sorted(set(rule.require) - groups)
        forbidden = sorted(groups - set(rule.require) - set(rule.optional) - set(spec.neutral))
        why = [f"missing {', '.join(missing)}"] if missing else []
        why += [f"forbidden {', '.join(forbidden)}"] if forbidden else []
        why += [f"{words} words over {rule.max_words}"] if words > rule.max_words else []
        failed[rule.intent] = "; ".join(why)
    return failed


def coverage(
    questions: list[dict], embedder: Embedder, data_uri: str | None = None, review_date: date | None = None
) -> list[Outcome]:
    """Publish the team's cache (in data_uri, else a temp folder) and serve every question from it."""
    from bench.support.publish import publish_team_cache
    from bench.support.resources import pipeline_resources

    with tempfile.TemporaryDirectory(prefix="jiwa-coverage-") as folder:
        data_uri = data_uri or str(Path(folder) / "stores")
        publish_team_cache(pipeline_resources(data_uri))
        return asyncio.run(serve(questions, data_uri, embedder, review_date))


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


def summarise(outcomes: list[Outcome]) -> dict:
    """Per language and in all: questions, served, wrong and wrong-language among served, answerable share."""

    def figures(subset: list[Outcome]) -> dict:
        served = [o for o in subset if o.served]
        answerable = [o for o in subset if o.answered_by]
        return {
            "questions": len(subset),
            "served": len(served),
            "served_share": _share(len(served), len(subset)),
            "wrong": sum(o.wrong for o in served),
            "wrong_share_of_served": _share(sum(o.wrong for o in served), len(served)),
            "wrong_language": sum(o.wrong_language for o in served),
            "wrong_language_share_of_served": _share(sum(o.wrong_language for o in served), len(served)),
            "answerable": len(answerable),
            "answerable_share": _share(len(answerable), len(subset)),
            "answerable_served": sum(1 for o in answerable if o.served),
        }

    def case(o: Outcome) -> dict:
        return {
            "id": o.id,
            "text": o.text,
            "served": o.served,
            "answered_by": o.answered_by,
            "reply_language": o.detected,
        }

    missed = [o for o in outcomes if o.answered_by and not o.served]
    return {
        "by_language": {lang: figures([o for o in outcomes if o.language == lang]) for lang in LANGUAGES},
        "all": figures(outcomes),
        "wrong": [case(o) for o in outcomes if o.wrong],
        "wrong_language": [case(o) for o in outcomes if o.wrong_language],
        "answerable_not_served_reasons": dict(Counter(_reason_group(o.reason) for o in missed).most_common()),
        "answerable_not_served": [
            {"id": o.id, "text": o.text, "reason": o.reason, "groups": o.groups, "term_rules": o.rules} for o in missed
        ],
    }


def _reason_group(reason: str) -> str:
    if reason.startswith("several questions, question"):
        # "several questions, question 2 of 3: no intent's terms": grouped by why the question was not matched.
        return f"several questions, one not matched: {_reason_group(reason.split(': ', 1)[1])}"
    if reason.startswith("several questions of different intents"):
        return "several questions of different intents"
    if reason.startswith("similarity"):
        return "similarity below threshold"
    if reason.startswith("closer to a near miss"):
        return "closer to a near miss"
    if reason.startswith("asks about words the answer does not cover"):
        return "asks about words the answer does not cover"
    if reason.startswith(PAST_REVIEW):
        return PAST_REVIEW
    if reason.startswith("ambiguous"):
        return "ambiguous between intents"
    return reason


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--on",
        type=date.fromisoformat,
        default=None,
        help="The day the facts' review dates are compared with (default: today; facts past review are not served).",
    )
    parser.add_argument("--questions", choices=sorted(QUESTION_SETS), default="1", help="Which realistic set.")
    args = parse(parser)
    questions = load_questions(QUESTION_SETS[args.questions], smoke=args.smoke)
    unknown = unknown_intents(questions)
    if unknown:
        raise SystemExit(f"answered_by names intents the catalogue lacks: {sorted(unknown)}")
    report = {
        "facts_review_day": str(args.on or "today"),
        **summarise(coverage(questions, Embedder(), review_date=args.on)),
    }
    columns = ("questions", "served", "served_share", "wrong", "wrong_language", "answerable", "answerable_share")
    print(f"{'':6}" + "".join(f"{c:>18}" for c in columns))
    for name, row in [*report["by_language"].items(), ("all", report["all"])]:
        print(f"{name:6}" + "".join(f"{row[c]:>18}" for c in columns))
    for kind in ("wrong", "wrong_language"):
        for case in report[kind]:
            print(f"{kind}: {case['id']} {case['text']!r} -> {case['served']} (labels {case['answered_by']})")
    print("answerable, not served:", report["answerable_not_served_reasons"])
    name = "cache_coverage" if args.questions == "1" else f"cache_coverage-set{args.questions}"
    print("saved", save(name, {"smoke": args.smoke, "questions": str(QUESTION_SETS[args.questions].name), **report}))


if __name__ == "__main__":
    main()
