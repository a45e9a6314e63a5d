"""Conversation analysis throughput with the embedded model, beside the raw llama.cpp token rate, in one process.

Seals N synthetic finished conversations (Italian, English, Indonesian; 1-3 user turns) into a temporary store,
then materializes conversation_analyses + jiwa_profiles exactly as the sensor's runs do.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.enrichment import conversation_analyses, jiwa_profiles
from assets.resources import LlamaResource
from bench.common import parse, save
from bench.support.log import conversation, record
from bench.support.metadata import materialized, number, step_seconds
from bench.support.resources import pipeline_resources
from jiwa.llm import IsolatedLlamaBackend, LlamaSettings
from jiwa.store.lance import connect
from jiwa.store.schema import ANALYSES_TABLE

CONVERSATIONS = [
    [
        "Ciao! Mi chiamo Giulia, sono italiana e vorrei aprire una scuola di yoga a Ubud.",
        "Quanto costa un KITAS? Ho un po' di paura.",
    ],
    [
        "Hi, my name is Tom. How long does a KITAS take to process?",
        "Thanks, that helps. Maybe later I'll ask about PT PMA.",
    ],
    ["Permisi Pak, saya bingung soal NPWP untuk orang asing.", "Terima kasih banyak, Bapak."],
    ["Scusa, per il visto on arrival posso prolungarlo?", "Grazie, sei gentile.", "E per la famiglia?"],
    ["Hello, I'm overwhelmed by the paperwork for my PT PMA. What is the minimum capital?"],
    ["Halo, nama saya Wayan. Berapa biaya KITAP?", "Maaf, satu lagi: berapa lama prosesnya?"],
    ["I want to retire in Bali with my wife. Which visa should we look at?", "We love surfing and cooking."],
    ["Buongiorno, sono Marco. Devo registrare la mia azienda con NIB su OSS?", "Non ce la faccio con la burocrazia."],
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=16)
    args = parse(parser, conversations=1)
    settings = LlamaSettings()

    backend = IsolatedLlamaBackend(settings)
    raw_tokens, raw_seconds = 0, 0.0
    for turns in CONVERSATIONS[:4]:
        tokens, seconds = backend.raw_token_rate(f"A conversation about moving to Bali. {turns[0]}\n", max_tokens=200)
        raw_tokens, raw_seconds = raw_tokens + tokens, raw_seconds + seconds
    del backend

    data_uri = tempfile.mkdtemp(prefix="jiwa-bench-analysis-")
    start = datetime.now(UTC) - timedelta(hours=3)
    events = []
    for index in range(args.conversations):
        turns = CONVERSATIONS[index % len(CONVERSATIONS)]
        events += conversation(f"bench_{index:04d}", f"user_{index % 6}", turns, start=start + timedelta(seconds=index))
    record(data_uri, events)

    resources = pipeline_resources(data_uri, LlamaResource())
    started = time.perf_counter()
    result = dg.materialize(
        [conversation_analyses, jiwa_profiles],
        resources=resources,
        run_config={"ops": {"conversation_analyses": {"config": {"max_conversations": args.conversations}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    wall = time.perf_counter() - started
    steps = step_seconds(result)
    analyses = materialized(result, "conversation_analyses")
    profiles = materialized(result, "jiwa_profiles")
    rows = connect(data_uri).open_table(ANALYSES_TABLE).to_arrow().to_pylist()
    kept_claims = sum(_claims(json.loads(row["analysis"])) for row in rows if row["analysis"])

    analyse_s = steps.get("conversation_analyses", wall)
    analysed = number(analyses, "analysed")
    jiwa_rate = number(analyses, "completion_tokens") / analyse_s
    report = {
        "model": analyses["model"],
        "threads": settings.threads or "all cores",
        "conversations": args.conversations,
        "analysed": analyses["analysed"],
        "failed": analyses["failed"],
        "rejected_attempts": analyses["rejected_attempts"],
        "analyses_per_min": round(analysed / analyse_s * 60, 2),
        "tokens_per_conversation": analyses["tokens_per_conversation"],
        "prompt_tokens": analyses["prompt_tokens"],
        "completion_tokens": analyses["completion_tokens"],
        "claims_kept": kept_claims,
        "claims_dropped_by_grounding": analyses["dropped_claims"],
        "raw_tokens_per_s": round(raw_tokens / raw_seconds, 1),
        "analysis_tokens_per_s": round(jiwa_rate, 1),
        "analysis_over_raw": round(jiwa_rate / (raw_tokens / raw_seconds), 3),
        # The asset's own report: its rate over its LLM time beside the raw probe it ran at the start of its step.
        "asset_tokens_per_s": analyses.get("tokens_per_s"),
        "asset_raw_tokens_per_s": analyses.get("raw_tokens_per_s"),
        "asset_over_raw": analyses.get("over_raw"),
        "prompt_tokens_evaluated": analyses.get("prompt_tokens_evaluated"),
        "prompt_tokens_reused": analyses.get("prompt_tokens_reused"),
        "analysis_step_s": round(analyse_s, 1),
        "profile_step_s": round(steps.get("jiwa_profiles", 0.0), 2),
        "profiles_updated": profiles["users_updated"],
        "machines_for_100k_per_day": round(100_000 / (analysed / analyse_s * 86_400), 1) if analysed else None,
    }
    for key, value in report.items():
        print(f"{key}: {value}")
    print("saved", save("analysis", report))


def _claims(analysis: dict) -> int:
    scalars = [value for value in analysis.values() if isinstance(value, dict) and "evidence" in value]
    lists = [item for value in analysis.values() if isinstance(value, list) for item in value]
    facts = analysis.get("facts") or {}
    stated = [v for v in facts.values() if isinstance(v, dict)] + [
        i for v in facts.values() if isinstance(v, list) for i in v
    ]
    return len(scalars) + len(lists) + len(stated)


if __name__ == "__main__":
    main()
