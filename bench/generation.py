"""Insight generation throughput beside the raw llama.cpp token rate of the same model, in one process and run.

Four rates, same model and threads:
  raw         plain completion, no chat template, no grammar, one request alone: llama.cpp's own decode speed;
  raw at prompt depth  the same, after a prompt as long as the asset's (decode slows as the context grows);
  free_chat   the insight prompt through the chat template, without the JSON-schema grammar;
  jiwa        the insight prompt with the grammar, validation and retries, as the asset runs it.

The asset's requests run in rounds of --concurrency at once, and a raw burst runs alone between rounds, so that what
else the machine does meanwhile weighs on both rates alike. In this process (the default) the raw and free-chat
rates come from a second worker with the same model, which leaves the asset's worker the evaluated prefix of its
previous prompt, as in a run. With --server-url (a llama.cpp server started with --parallel N) they come from the
same server: jiwa's aggregate over the round beside one stream alone.

    python -m bench.generation [--topics 4 --per-topic 2]
    python -m bench.generation --server-url http://127.0.0.1:8080 --concurrency 4
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from assets.knowledge.generation import insight_variables
from bench.common import parse, save
from jiwa.catalogue.curated import load_curated
from jiwa.catalogue.topics import load_catalogue
from jiwa.domain.insights import CulturalInsight
from jiwa.llm import IsolatedLlamaBackend, LlamaServerBackend, LlamaSettings, StructuredLLM
from jiwa.prompts import load_prompt

RAW_BURST_TOKENS = 100


def raw_rate_at_depth(backend: LlamaServerBackend | IsolatedLlamaBackend, messages: list[dict[str, str]]) -> float:
    """Unconstrained decode after a prompt as long as the asset's: the prompt's text is evaluated by a first call, so
    the second, which reuses it, times the decode alone."""
    text = "\n\n".join(message["content"] for message in messages) + "\n"
    backend.raw_token_rate(text, 1)
    tokens, seconds = backend.raw_token_rate(text, RAW_BURST_TOKENS)
    return tokens / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topics", type=int, default=4)
    parser.add_argument("--per-topic", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="The asset's requests in flight at once.")
    parser.add_argument("--server-url", default="", help="A llama.cpp server instead of the model in this process.")
    parser.add_argument(
        "--compare-whole-grammar",
        action="store_true",
        help="In process: also write each round with JIWA_LLM_JUMP_FORWARD=false, right after it, and report both.",
    )
    args = parse(parser, topics=1, per_topic=1, compare_whole_grammar=True)
    backend: LlamaServerBackend | IsolatedLlamaBackend
    reference: LlamaServerBackend | IsolatedLlamaBackend
    if args.server_url:
        settings = LlamaSettings(server_url=args.server_url, concurrency=args.concurrency)
        backend = reference = LlamaServerBackend(settings)
    else:
        settings = LlamaSettings(concurrency=args.concurrency)
        backend, reference = IsolatedLlamaBackend(settings), IsolatedLlamaBackend(settings)
    prompt = load_prompt("cultural_insight")
    catalogue = load_catalogue()
    curated = load_curated(catalogue)
    topics = catalogue.topics[: args.topics]
    llm = StructuredLLM(backend, temperature=settings.temperature, seed=settings.seed, max_retries=settings.max_retries)
    whole = None
    if args.compare_whole_grammar and not args.server_url:
        whole_settings = settings.model_copy(update={"jump_forward": False})
        whole = StructuredLLM(
            IsolatedLlamaBackend(whole_settings), temperature=settings.temperature, seed=settings.seed
        )

    free_tokens, free_seconds = 0, 0.0
    for topic in topics:
        messages = prompt.render(**insight_variables(topic, catalogue.facets, curated, 0))
        started = time.perf_counter()
        completion = reference.complete(
            messages, json_schema=None, max_tokens=prompt.max_tokens, temperature=0.7, seed=1
        )
        free_seconds += time.perf_counter() - started
        free_tokens += completion.completion_tokens

    def generate(job, writer=llm):
        topic, k = job
        return writer.generate(
            prompt, CulturalInsight, variant=k, **insight_variables(topic, catalogue.facets, curated, k)
        )

    jobs = [(topic, k) for topic in topics for k in range(args.per_topic)]
    raw_tokens, raw_seconds, jiwa_seconds, accepted = 0, 0.0, 0.0, 0
    whole_seconds, whole_accepted = 0.0, 0
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        for start in range(0, len(jobs), args.concurrency):
            tokens, seconds = reference.raw_token_rate(
                f"Notes on Balinese culture. {jobs[start][0].description}\n", RAW_BURST_TOKENS
            )
            raw_tokens, raw_seconds = raw_tokens + tokens, raw_seconds + seconds
            started = time.perf_counter()
            accepted += sum(r is not None for r in pool.map(generate, jobs[start : start + args.concurrency]))
            jiwa_seconds += time.perf_counter() - started
            if whole is not None:
                started = time.perf_counter()
                whole_accepted += sum(
                    generate(job, whole) is not None for job in jobs[start : start + args.concurrency]
                )
                whole_seconds += time.perf_counter() - started
    depth_rate = raw_rate_at_depth(
        reference, prompt.render(**insight_variables(topics[0], catalogue.facets, curated, 0))
    )
    if reference is not backend:
        reference.close()
    stats = llm.stats
    if whole is not None:
        whole.close()

    raw_rate = raw_tokens / raw_seconds
    report = {
        "model": backend.model_id,
        "backend": args.server_url or "in process",
        "threads": settings.threads or "all cores",
        "concurrency": args.concurrency,
        "raw_tokens_per_s": round(raw_rate, 1),
        "free_chat_tokens_per_s": round(free_tokens / free_seconds, 1),
        "jiwa_tokens_per_s": round(stats.completion_tokens / jiwa_seconds, 1),
        "jiwa_over_raw": round(stats.completion_tokens / jiwa_seconds / raw_rate, 3),
        # Each token attends to the whole prompt before it: the same model decodes slower after the insight prompt
        # than after a short one, however little Jiwa adds.
        "raw_at_prompt_depth_tokens_per_s": round(depth_rate, 1),
        "jiwa_over_raw_at_prompt_depth": round(stats.completion_tokens / jiwa_seconds / depth_rate, 3),
        "insights_requested": len(jobs),
        "insights_accepted": accepted,
        "insights_per_min": round(accepted / jiwa_seconds * 60, 2),
        # Schema-valid insights, before the truth gate: the estimate for the goal of 1,000 in 30 minutes.
        "minutes_for_1000_insights": round(1000 / (accepted / jiwa_seconds * 60), 1) if accepted else None,
        "calls": stats.calls,
        "rejections": dict(stats.rejections),
        "dropped": stats.dropped,
        "completion_tokens_per_accepted_insight": round(stats.completion_tokens / max(1, accepted), 1),
        # The schema's fixed text, evaluated in batches instead of decoded one token at a time.
        "completion_tokens_batched": stats.completion_tokens_batched,
        "prompt_tokens": stats.prompt_tokens,
        "prompt_tokens_evaluated": stats.prompt_tokens_evaluated,
        "prompt_tokens_reused": stats.prompt_tokens_reused,
    }
    if whole is not None:
        # The same rounds, written with the whole output decoded under one grammar, each right after its twin.
        report |= {
            "whole_grammar_tokens_per_s": round(whole.stats.completion_tokens / whole_seconds, 1),
            "whole_grammar_over_raw": round(whole.stats.completion_tokens / whole_seconds / raw_rate, 3),
            "whole_grammar_insights_per_min": round(whole_accepted / whole_seconds * 60, 2),
            "whole_grammar_completion_tokens_per_accepted_insight": round(
                whole.stats.completion_tokens / max(1, whole_accepted), 1
            ),
            "jump_forward_speedup_insights": round((accepted / jiwa_seconds) / (whole_accepted / whole_seconds), 3)
            if whole_accepted
            else None,
        }
    for key, value in report.items():
        print(f"{key}: {value}")
    variant = f"-server-x{args.concurrency}" if args.server_url else ""
    print("saved", save(f"generation{variant}", report))


if __name__ == "__main__":
    main()
