"""Asking LLAMA for insights, one request per (topic, facet), with a top-up round and progress in the run log."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from jiwa.catalogue.curated import CuratedBase
from jiwa.catalogue.topics import Topic
from jiwa.domain.insights import CulturalInsight
from jiwa.llm import StructuredLLM
from jiwa.prompts import load_prompt

INSIGHT_PROMPT = load_prompt("cultural_insight")
_PROGRESS_EVERY_S = 15.0


def generate_insights(
    log, llm: StructuredLLM, topics: list[Topic], facets, per_topic: int, concurrency: int, curated: CuratedBase
) -> list[tuple[Topic, CulturalInsight]]:
    """One request per (topic, facet); a topic left with nothing gets one more round of fresh variants."""
    progress = _Progress(log, llm, total=len(topics) * per_topic)
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
    llm: StructuredLLM, jobs, facets, curated: CuratedBase, concurrency: int, progress: _Progress
) -> list[tuple[Topic, CulturalInsight]]:
    def run(job):
        topic, variant = job
        return topic, llm.generate(
            INSIGHT_PROMPT, variant=variant, **insight_variables(topic, facets, curated, variant)
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
        "examples": _examples(curated.of(topic.id), variant),
    }


def _examples(curated: tuple[CulturalInsight, ...], variant: int, count: int = 2) -> str:
    """Two of the team's insights on the topic, rotating with the variant, as JSON the model's answer should resemble."""
    chosen = [curated[(variant + k) % len(curated)] for k in range(min(count, len(curated)))]
    return "\n".join(example.model_dump_json() for example in chosen) or "none yet"


class _Progress:
    """Logs done/total, rate and ETA at most every few seconds."""

    def __init__(self, log, llm: StructuredLLM, total: int) -> None:
        self.log, self.llm, self.total = log, llm, total
        self.done = 0
        self.started = self.last_report = time.perf_counter()

    def step(self) -> None:
        self.done += 1
        now = time.perf_counter()
        if self.done < self.total and now - self.last_report < _PROGRESS_EVERY_S:
            return
        self.last_report = now
        rate = self.done / (now - self.started) if now > self.started else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        self.log.info(
            f"insights {self.done}/{self.total} ({rate * 60:.1f}/min, ETA {eta:.0f}s, {self.llm.stats.dropped} dropped)"
        )
