"""Asking LLAMA for insights, one request per (topic, facet), with a top-up round and progress in the run log."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from jiwa.catalogue.curated import CuratedBase
from jiwa.catalogue.topics import Topic
from jiwa.domain.insights import CulturalInsight
from jiwa.llm import StructuredLLM
from jiwa.llm.progress import Progress
from jiwa.prompts import load_prompt

INSIGHT_PROMPT = load_prompt("cultural_insight")


def generate_insights(
    log, llm: StructuredLLM, topics: list[Topic], facets, per_topic: int, concurrency: int, curated: CuratedBase
) -> list[tuple[Topic, CulturalInsight]]:
    """One request per (topic, facet); a topic left with nothing gets one more round of fresh variants."""
    progress = Progress(log, llm, total=len(topics) * per_topic, label="insights")
    results = _run_jobs(
        llm, [(topic, k) for topic in topics for k in range(per_topic)], facets, curated, concurrency, progress
    )
    covered = {topic.id for topic, _ in results}
    uncovered = [topic for topic in topics if topic.id not in covered]
    if uncovered:
        log.info(
            f"top-up round for {len(uncovered)} topic(s) with no valid insight: {', '.join(t.id for t in uncovered)}"
        )
        progress.total += len(uncovered) * per_topic
        top_up = [(topic, per_topic + k) for topic in uncovered for k in range(per_topic)]
        results += _run_jobs(llm, top_up, facets, curated, concurrency, progress)
    return results


def _run_jobs(
    llm: StructuredLLM, jobs, facets, curated: CuratedBase, concurrency: int, progress: Progress
) -> list[tuple[Topic, CulturalInsight]]:
    def run(job):
        topic, variant = job
        return topic, llm.generate(
            INSIGHT_PROMPT, CulturalInsight, variant=variant, **insight_variables(topic, facets, curated, variant)
        )

    results = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for topic, insight in pool.map(run, jobs):
            if insight is not None:
                results.append((topic, insight))
            progress.step()
    return results


def insight_variables(topic: Topic, facets, curated: CuratedBase, variant: int) -> dict[str, str]:
    """What the insight prompt is filled with for one (topic, variant): the asset's request, and the benchmark's."""
    return {
        "category": topic.category,
        "topic": topic.name,
        "description": topic.description,
        "facet": facets[variant % len(facets)],
        # The same examples for every facet of a round, so the requests of one topic share their prompt up to the
        # facet and llama.cpp evaluates only that; a new round of facets (a top-up) rotates them.
        "examples": _examples(curated.of(topic.id), variant // len(facets)),
    }


def _examples(curated: tuple[CulturalInsight, ...], rotation: int, count: int = 2) -> str:
    """Two of the team's insights on the topic, rotating per round, as JSON the model's answer should resemble."""
    chosen = [curated[(rotation + k) % len(curated)] for k in range(min(count, len(curated)))]
    return "\n".join(example.model_dump_json() for example in chosen) or "none yet"
