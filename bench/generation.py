"""Insight generation throughput beside the raw llama.cpp token rate of the same model, in one process and run.

Three rates, same model and threads, the first two from a second worker between the asset's calls:
  raw         plain completion, no chat template, no grammar: llama.cpp's own decode speed;
  free_chat   the insight prompt through the chat template, without the JSON-schema grammar;
  jiwa        the insight prompt with the grammar, validation and retries, as the asset runs it.
"""

import argparse
import time

from assets.knowledge.generation import insight_variables
from bench.common import parse, save
from jiwa.catalogue.curated import load_curated
from jiwa.catalogue.topics import load_catalogue
from jiwa.llm import IsolatedLlamaBackend, LlamaSettings, StructuredLLM
from jiwa.prompts import load_prompt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=4)
    parser.add_argument("--per-topic", type=int, default=2)
    args = parse(parser, topics=1, per_topic=1)
    settings = LlamaSettings()
    backend = IsolatedLlamaBackend(settings)
    # The raw and free-chat rates come from a second worker with the same model and threads, run between the asset's
    # calls: what else the machine does meanwhile weighs on both rates alike, and the asset's worker keeps the
    # evaluated prefix of its previous prompt, as it does in a run.
    reference = IsolatedLlamaBackend(settings)
    prompt = load_prompt("cultural_insight")
    catalogue = load_catalogue()
    curated = load_curated(catalogue)
    topics = catalogue.topics[: args.topics]
    llm = StructuredLLM(backend, temperature=settings.temperature, seed=settings.seed, max_retries=settings.max_retries)

    raw_tokens, raw_seconds = 0, 0.0
    free_tokens, free_seconds = 0, 0.0
    jiwa_seconds = 0.0
    accepted = 0
    for topic in topics:
        messages = prompt.render(**insight_variables(topic, catalogue.facets, curated, 0))
        started = time.perf_counter()
        completion = reference.complete(
            messages, json_schema=None, max_tokens=prompt.max_tokens, temperature=0.7, seed=1
        )
        free_seconds += time.perf_counter() - started
        free_tokens += completion.completion_tokens
        for k in range(args.per_topic):
            tokens, seconds = reference.raw_token_rate(f"Notes on Balinese culture. {topic.description}\n", 100)
            raw_tokens, raw_seconds = raw_tokens + tokens, raw_seconds + seconds
            started = time.perf_counter()
            result = llm.generate(prompt, variant=k, **insight_variables(topic, catalogue.facets, curated, k))
            jiwa_seconds += time.perf_counter() - started
            accepted += result is not None
    reference.close()
    stats = llm.stats

    raw_rate = raw_tokens / raw_seconds
    report = {
        "model": backend.model_id,
        "threads": settings.threads or "all cores",
        "raw_tokens_per_s": round(raw_rate, 1),
        "free_chat_tokens_per_s": round(free_tokens / free_seconds, 1),
        "jiwa_tokens_per_s": round(stats.completion_tokens / jiwa_seconds, 1),
        "jiwa_over_raw": round(stats.completion_tokens / jiwa_seconds / raw_rate, 3),
        "insights_requested": len(topics) * args.per_topic,
        "insights_accepted": accepted,
        "insights_per_min": round(accepted / jiwa_seconds * 60, 2),
        # Schema-valid insights, before the truth gate: the estimate for the goal of 1,000 in 30 minutes.
        "minutes_for_1000_insights": round(1000 / (accepted / jiwa_seconds * 60), 1) if accepted else None,
        "calls": stats.calls,
        "rejections": dict(stats.rejections),
        "dropped": stats.dropped,
        "completion_tokens_per_accepted_insight": round(stats.completion_tokens / max(1, accepted), 1),
        "prompt_tokens": stats.prompt_tokens,
        "prompt_tokens_evaluated": stats.prompt_tokens_evaluated,
        "prompt_tokens_reused": stats.prompt_tokens_reused,
    }
    for key, value in report.items():
        print(f"{key}: {value}")
    print("saved", save("generation", report))


if __name__ == "__main__":
    main()
