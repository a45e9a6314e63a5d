"""Pattern 1: LLAMA writes the cultural-insights knowledge base the chat server retrieves from."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import dagster as dg
import numpy as np
import pyarrow as pa
from pydantic import Field

from assets.insight_rows import Provenance, audit_batch, insight_record, novel_mask
from assets.topics import TOPICS_PATH, Topic, TopicCatalogue, load_catalogue
from jiwa.llm import configured_model_id
from jiwa.llm.outputs import CulturalInsight
from jiwa.prompts import load_prompt
from jiwa.settings import get_settings
from jiwa.store.lance import publish, refresh_indexes, table_embedder, upsert
from jiwa.store.schema import INSIGHTS_TABLE, insights_schema
from pipelines.resources import EmbedderResource, LlamaResource, StoresResource

_settings = get_settings()
_catalogue = load_catalogue()
INSIGHT_PROMPT = load_prompt("cultural_insight")

category_partitions = dg.StaticPartitionsDefinition(_catalogue.categories)

_PROGRESS_EVERY_S = 15.0
INSIGHT_CHECKS = ("enough_rows", "schema_valid", "no_empty_text", "duplicate_rate", "topics_covered")


@dg.asset(
    group_name="knowledge",
    kinds={"yaml"},
    code_version=_catalogue.sha256[:16],
    description=f"The team's cultural-topic catalogue ({TOPICS_PATH.name}), validated.",
)
def cultural_topics() -> dg.Output[TopicCatalogue]:
    catalogue = load_catalogue()
    per_category = {category: len(catalogue.in_category(category)) for category in catalogue.categories}
    table = "\n".join(f"| {c} | {n} |" for c, n in per_category.items())
    return dg.Output(
        catalogue,
        metadata={
            "topics": len(catalogue.topics),
            "facets": len(catalogue.facets),
            "categories": dg.MetadataValue.json(per_category),
            "preview": dg.MetadataValue.md(f"| category | topics |\n|---|---|\n{table}"),
        },
    )


class InsightsConfig(dg.Config):
    insights_per_topic: int = Field(default=_settings.insights_per_topic, ge=1, le=50, description="Insights to request per topic.")
    topic_limit: int = Field(default=0, ge=0, description="Use only the first N topics of the category; 0 uses all.")
    dedup_threshold: float = Field(default=_settings.insights_dedup_threshold, gt=0, le=1, description="Cosine similarity that counts as a near-duplicate.")


@dg.asset(
    partitions_def=category_partitions,
    group_name="knowledge",
    kinds={"llamacpp", "lancedb"},
    pool="llama",
    code_version=INSIGHT_PROMPT.code_version(f"{configured_model_id(_settings)}|{_settings.embedding_model_path}"),
    check_specs=[dg.AssetCheckSpec(name, asset="cultural_insights", blocking=True) for name in INSIGHT_CHECKS],
    description="Cultural insights LLAMA writes per topic, with guidance for the responder and multilingual triggers; "
    "one partition per category, published as one LanceDB commit and tagged.",
)
def cultural_insights(
    context: dg.AssetExecutionContext,
    config: InsightsConfig,
    cultural_topics: TopicCatalogue,
    llama: LlamaResource,
    embedder: EmbedderResource,
    stores: StoresResource,
):
    category = context.partition_key
    topics = cultural_topics.in_category(category)
    if config.topic_limit:
        topics = topics[: config.topic_limit]
    llm = llama.structured()
    started = time.perf_counter()

    generated = _generate(context, llm, topics, cultural_topics.facets, config.insights_per_topic, llama.concurrency)
    provenance = Provenance(
        source="llama_offline",
        model=llm.model_id,
        prompt_name=INSIGHT_PROMPT.name,
        prompt_version=INSIGHT_PROMPT.version,
        generated_at=datetime.now(timezone.utc),
        run_id=context.run_id,
    )
    records = [insight_record(topic, insight, provenance) for topic, insight in generated]
    vectors = embedder.embedder().embed([record["search_text"] for record in records])

    db = stores.lance()
    schema = insights_schema(embedder.embedder().model_name, embedder.embedder().dimension)
    existing = _vectors_outside(db, category, schema)
    keep = novel_mask(vectors, existing, config.dedup_threshold)
    kept = [dict(record, vector=vector.tolist()) for record, vector, ok in zip(records, vectors, keep) if ok]
    rows = pa.Table.from_pylist(kept, schema=schema)

    requested = len(topics) * config.insights_per_topic
    audits = audit_batch(
        rows,
        expected_schema=schema,
        topics=topics,
        requested=requested,
        generated=len(records),
        duplicates=int((~keep).sum()),
        min_yield=_settings.insights_min_yield,
        max_duplicate_rate=_settings.insights_max_duplicate_rate,
    )
    check_results = [
        dg.AssetCheckResult(
            check_name=audit.name,
            passed=audit.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=audit.description,
            metadata=audit.metadata,
        )
        for audit in audits
    ]
    stats = llm.stats
    metadata = {
        "category": category,
        "topics": len(topics),
        "requested": requested,
        "generated": len(records),
        "dropped_invalid": stats.dropped,
        "rejected_attempts": stats.rejected,
        "rejections": dg.MetadataValue.json(dict(stats.rejections)),
        "duplicates_removed": int((~keep).sum()),
        "rows_written": rows.num_rows,
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "tokens_per_s": round(stats.tokens_per_second, 1),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "model": llm.model_id,
        "preview": dg.MetadataValue.md(_preview(kept)),
    }

    failed = [audit for audit in audits if not audit.passed]
    if failed:
        # Readers keep the last good version: a batch that fails its audit is never committed.
        context.log.error("Not publishing %s: %s", category, "; ".join(a.description for a in failed))
        return dg.MaterializeResult(metadata={**metadata, "published": False}, check_results=check_results)

    table = upsert(db, INSIGHTS_TABLE, schema, rows, replace_scope=f"category = '{category}'")
    refresh_indexes(table, text_column="search_text", vector_min_rows=_settings.vector_index_min_rows)
    version = publish(table, f"{category}-{context.run_id[:8]}")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "published": True,
            "table_version": version,
            "table_rows": table.count_rows(),
            "uri": dg.MetadataValue.path(f"{stores.data_uri}/{INSIGHTS_TABLE}.lance"),
        },
        check_results=check_results,
    )


def _generate(context, llm, topics: list[Topic], facets, per_topic: int, concurrency: int) -> list[tuple[Topic, CulturalInsight]]:
    """One request per (topic, facet); a topic left with nothing gets one more round of fresh variants."""
    progress = _Progress(context, llm, total=len(topics) * per_topic)
    results = _run_jobs(llm, [(topic, k) for topic in topics for k in range(per_topic)], facets, concurrency, progress)
    covered = {topic.id for topic, _ in results}
    uncovered = [topic for topic in topics if topic.id not in covered]
    if uncovered:
        context.log.info(f"top-up round for {len(uncovered)} topic(s) with no valid insight: {', '.join(t.id for t in uncovered)}")
        progress.total += len(uncovered) * per_topic
        top_up = [(topic, per_topic + k) for topic in uncovered for k in range(per_topic)]
        results += _run_jobs(llm, top_up, facets, concurrency, progress)
    return results


def _run_jobs(llm, jobs, facets, concurrency: int, progress: "_Progress") -> list[tuple[Topic, CulturalInsight]]:
    def run(job):
        topic, variant = job
        return topic, llm.generate(
            INSIGHT_PROMPT,
            variant=variant,
            category=topic.category,
            topic=topic.name,
            description=topic.description,
            facet=facets[variant % len(facets)],
        )

    results = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for topic, insight in pool.map(run, jobs):
            if insight is not None:
                results.append((topic, insight))
            progress.step()
    return results


class _Progress:
    """Logs done/total, rate and ETA at most every few seconds."""

    def __init__(self, context, llm, total: int) -> None:
        self.context, self.llm, self.total = context, llm, total
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
        self.context.log.info(
            f"insights {self.done}/{self.total} ({rate * 60:.1f}/min, ETA {eta:.0f}s, {self.llm.stats.dropped} dropped)"
        )


def _vectors_outside(db, category: str, schema: pa.Schema) -> np.ndarray:
    """Vectors already published for other categories: new insights must not repeat them."""
    if INSIGHTS_TABLE not in db.table_names():
        return np.zeros((0, schema.field("vector").type.list_size), dtype=np.float32)
    table = db.open_table(INSIGHTS_TABLE)
    if table_embedder(table.schema) != table_embedder(schema):
        # A different embedder wrote the table; upsert refuses it with a clear error, so skip cross-dedup here.
        return np.zeros((0, schema.field("vector").type.list_size), dtype=np.float32)
    others = table.search().where(f"category != '{category}'").select(["vector"]).limit(None).to_arrow()
    if others.num_rows == 0:
        return np.zeros((0, schema.field("vector").type.list_size), dtype=np.float32)
    return np.asarray(others.column("vector").to_pylist(), dtype=np.float32)


def _preview(records: list[dict], limit: int = 5) -> str:
    lines = ["| topic | insight | guidance | tone |", "|---|---|---|---|"]
    for record in records[:limit]:
        cells = [record["topic"], record["insight"], record["guidance"], ", ".join(record["tone_tags"])]
        lines.append("| " + " | ".join(cell.replace("|", "/").replace("\n", " ") for cell in cells) + " |")
    return "\n".join(lines)
