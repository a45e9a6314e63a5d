"""The nightly learning run with the configured model, beside the raw llama.cpp token rate of the same model in the
same process: time per conversation, what was kept, candidates and promotions, and every drop by reason.

The day holds ordinary conversations in three languages and the first attempts of the team's attack corpus, with
their feedback. Learned lessons need JIWA_LEARNING_MIN_USERS (3) users of a tenant; this day has one per lesson,
so promotion is shown with --min-users 1, the worst case.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import dagster as dg
import yaml

from assets.knowledge import cultural_topics, curated_insights
from assets.nightly import learned_insights, nightly_findings
from assets.resources import LearningResource, LlamaResource
from bench.common import parse, save
from bench.support.log import bali, conversation, feedback, record
from bench.support.metadata import materialized, number
from bench.support.resources import pipeline_resources
from jiwa.llm import IsolatedLlamaBackend, LlamaSettings
from jiwa.paths import PROJECT_ROOT

DAY = "2026-11-20"
ORDINARY = [
    ["Maaf, saya bingung soal KITAS, harus mulai dari mana?", "Terima kasih banyak"],
    ["My landlord keeps saying 'besok' about fixing the roof, what does that mean?"],
    ["Il mio vicino mi ha invitato a un odalan, come mi devo vestire?", "Grazie mille!"],
    ["I'm overwhelmed by the PT PMA paperwork", "thanks"],
    ["Kenapa tukangnya selalu telat ya?"],
    ["Ho paura di offendere qualcuno durante Nyepi"],
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attacks-per-language", type=int, default=2)
    parser.add_argument("--min-users", type=int, default=1)
    args = parse(parser, attacks_per_language=0)
    attempts = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "attack_corpus.yaml").read_text())["attempts"]
    attacks = [
        a
        for lang in ("en", "it", "id")
        for a in [x for x in attempts if x["language"] == lang][: args.attacks_per_language]
    ]

    settings = LlamaSettings()
    backend = IsolatedLlamaBackend(settings)
    raw_tokens, raw_seconds = 0, 0.0
    for turns in ORDINARY[:3]:
        tokens, seconds = backend.raw_token_rate(f"Notes on life in Bali. {turns[0]}\n", max_tokens=200)
        raw_tokens, raw_seconds = raw_tokens + tokens, raw_seconds + seconds

    with tempfile.TemporaryDirectory() as data_uri:
        events = []
        for index, turns in enumerate(ORDINARY):
            events += conversation(f"ordinary-{index}", f"user{index}", turns, start=bali(DAY, 8 + index))
        for index, attack in enumerate(attacks):
            attacked = conversation(
                attack["id"], f"attacker{index}", attack["user_turns"], start=bali(DAY, 15 + index / 4)
            )
            reply = [e for e in attacked if e.role == "assistant"][-1]
            events += [*attacked, feedback(reply, attack["feedback"]["rating"], attack["feedback"].get("comment"))]
        record(data_uri, events)
        resources = {
            **pipeline_resources(data_uri, LlamaResource()),
            "learning": LearningResource(min_users=args.min_users),
        }
        assert dg.materialize([cultural_topics, curated_insights], resources=resources).success
        started = time.perf_counter()
        night = dg.materialize([nightly_findings, learned_insights], resources=resources, partition_key=DAY)
        night_seconds = time.perf_counter() - started
        assert night.success
        found = materialized(night, "nightly_findings")
        learned = materialized(night, "learned_insights")

    raw_rate = raw_tokens / raw_seconds
    conversations, llama_s = number(found, "conversations"), number(found, "llama_s")
    night_rate = number(found, "llama_completion_tokens") / llama_s if llama_s else 0.0
    report = {
        "model": backend.model_id,
        "conversations": found["conversations"],
        "of_which_attacks": len(attacks),
        "findings_written": found["findings"],
        "kept": found["kept"],
        "filtered": found["filtered"],
        "candidates": learned["candidates"],
        "promoted": learned["promoted"],
        "min_users": args.min_users,
        "night_s_per_conversation": round(night_seconds / max(1, conversations), 2),
        "llama_s_per_conversation": round(llama_s / max(1, conversations), 2),
        "raw_tokens_per_s": round(raw_rate, 1),
        "night_tokens_per_s": round(night_rate, 1),
        "night_over_raw": round(night_rate / raw_rate, 3),
        # The asset's own report: its rate over its LLM time beside the raw probe it ran at the start of its step.
        "asset_tokens_per_s": found.get("tokens_per_s"),
        "asset_raw_tokens_per_s": found.get("raw_tokens_per_s"),
        "asset_over_raw": found.get("over_raw"),
        "prompt_tokens_evaluated": found.get("prompt_tokens_evaluated"),
        "prompt_tokens_reused": found.get("prompt_tokens_reused"),
        "note": "night_s includes the truth gate's second reading and embedding; llama_s is the findings' generation",
    }
    for key, value in report.items():
        print(f"{key}: {value}")
    print("saved", save("nightly", report))


if __name__ == "__main__":
    main()
