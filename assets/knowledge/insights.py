"""Cultural knowledge: LLAMA writes the cultural-insights knowledge base the chat server retrieves from."""

import time

import dagster as dg
import pyarrow as pa
from pydantic import Field

from assets.knowledge.curated import curated_insights
from assets.knowledge.generation import INSIGHT_PROMPT, generate_insights
from assets.knowledge.topics import category_partitions
from assets.previews import markdown_table
from assets.publishing import publish
from assets.resources import LLAMA_RETRY_POLICY, EmbedderResource, KnowledgeResource, LlamaResource, StoresResource
from assets.versions import asset_code_version
from jiwa.catalogue.curated import load_curated
from jiwa.catalogue.topics import TopicCatalogue
from jiwa.domain.status import LLAMA_OFFLINE
from jiwa.knowledge.insight_rows import (
    Provenance,
    audit_batch,
    insight_record,
    search_text,
    without_near_duplicates,
)
from jiwa.knowledge.truth_gate import GateReference, LlamaVerifier, vet
from jiwa.prompts import load_prompt
from jiwa.store.insights import published_vectors
from jiwa.store.lance import refresh_indexes, sql_literal, tag_version, upsert
from jiwa.store.schema import INSIGHTS_TABLE, insights_schema

VERIFY_PROMPT = load_prompt("insight_verification")
INSIGHT_CHECKS = ("truth_gate_pass_share", "schema_valid", "no_empty_text", "duplicate_rate")
# Said in the metadata of every run, because it is what an analyst sees first with the embedded model.
GATE_NOTE = (
    "Only what agrees with the team's curated insights is published; the curated base serves every topic regardless."
)
SMALL_MODEL_NOTE = (
    " The embedded SmolLM2-135M writes almost nothing that passes; a larger model (JIWA_LLM_MODEL_PATH or "
    "JIWA_LLM_SERVER_URL) adds more."
)


class InsightsConfig(dg.Config):
    insights_per_topic: int | None = Field(
        default=None,
        ge=1,
        le=50,
        description="Insights to request per topic; unset: JIWA_INSIGHTS_PER_TOPIC (default 2).",
    )
    topic_limit: int = Field(default=0, ge=0, description="Use only the first N topics of the category; 0 uses all.")
    dedup_threshold: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Cosine similarity that counts as a near-duplicate; unset: JIWA_INSIGHTS_DEDUP_THRESHOLD.",
    )


@dg.asset(
    partitions_def=category_partitions,
    group_name="knowledge",
    kinds={"llamacpp", "lancedb"},
    pool="llama",
    retry_policy=LLAMA_RETRY_POLICY,
    # After the curated base: it is the examples in LLAMA's prompt and the reference of the truth gate.
    deps=[curated_insights],
    code_version=asset_code_version(__name__, model=True, embedder=True),
    check_specs=[dg.AssetCheckSpec(name, asset="cultural_insights", blocking=True) for name in INSIGHT_CHECKS],
    description="Cultural insights LLAMA writes per topic, with guidance for the responder and multilingual triggers; "
    "only those that pass the truth gate against the curated base are published, one LanceDB commit per category.",
)
def cultural_insights(
    context: dg.AssetExecutionContext,
    config: InsightsConfig,
    cultural_topics: TopicCatalogue,
    llama: LlamaResource,
    embedder: EmbedderResource,
    stores: StoresResource,
    knowledge: KnowledgeResource,
):
    knobs = knowledge.settings()
    per_topic = config.insights_per_topic or knobs.insights_per_topic
    threshold = config.dedup_threshold or knobs.insights_dedup_threshold
    category = context.partition_key
    topics = cultural_topics.in_category(category)
    if config.topic_limit:
        topics = topics[: config.topic_limit]
    llm = llama.structured(context.log)
    started = time.perf_counter()

    curated = load_curated(cultural_topics)
    generated = generate_insights(
        context.log, llm, topics, cultural_topics.facets, per_topic, llama.settings().concurrency, curated
    )
    model = embedder.embedder()
    gate = vet(
        generated,
        GateReference.build(cultural_topics, curated, model),
        model,
        min_agreement=knobs.insights_min_agreement,
        max_gap=knobs.insights_max_agreement_gap,
        verifier=LlamaVerifier(llm, VERIFY_PROMPT) if knobs.insights_verify_with_model else None,
    )
    provenance = Provenance.of_run(LLAMA_OFFLINE, llm, INSIGHT_PROMPT, context.run_id)
    vectors = model.embed([search_text(topic, insight) for topic, insight in gate.passed])
    records = [
        insight_record(topic, insight, provenance, vector.tolist())
        for (topic, insight), vector in zip(gate.passed, vectors, strict=True)
    ]

    db = stores.lance()
    schema = insights_schema(model.model_name, model.dimension)
    # Everything already published but this category's own LLAMA rows (being replaced): the curated base included.
    this_batch = f"category = {sql_literal(category)} AND source = '{LLAMA_OFFLINE}'"
    kept, duplicates = without_near_duplicates(
        records, vectors, published_vectors(db, schema, f"NOT ({this_batch})"), threshold
    )
    rows = pa.Table.from_pylist(kept, schema=schema)

    requested = len(topics) * per_topic
    audits = audit_batch(
        rows,
        expected_schema=schema,
        generated=len(generated),
        passed=len(gate.passed),
        duplicates=duplicates,
        min_pass_share=knobs.insights_min_pass_share,
        max_duplicate_rate=knobs.insights_max_duplicate_rate,
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
        "generated": len(generated),
        "passed_truth_gate": len(gate.passed),
        "truth_gate_pass_share": round(gate.pass_share, 4),
        "dropped_by_truth_gate": dg.MetadataValue.json(dict(gate.dropped)),
        "triggers_in_wrong_language": gate.triggers_dropped,
        "truth_gate": GATE_NOTE + (SMALL_MODEL_NOTE if llm.model_id.startswith("SmolLM2") else ""),
        "dropped_invalid": stats.dropped,
        "rejected_attempts": stats.rejected,
        "rejections": dg.MetadataValue.json(dict(stats.rejections)),
        "duplicates_removed": duplicates,
        "rows_written": rows.num_rows,
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        **stats.rate_metadata(),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "model": llm.model_id,
        "preview": markdown_table(
            ["topic", "insight", "guidance", "tone"],
            ([r["topic"], r["insight"], r["guidance"], ", ".join(r["tone_tags"])] for r in kept),
            limit=5,
        ),
    }

    def commit() -> dict:
        table = upsert(db, INSIGHTS_TABLE, schema, rows, replace_scope=this_batch)
        refresh_indexes(table, text_column="search_text", vector_min_rows=knobs.vector_index_min_rows)
        return {
            "table_version": tag_version(table, f"{category}-{context.run_id[:8]}"),
            "table_rows": table.count_rows(),
            "uri": dg.MetadataValue.path(f"{stores.uri}/{INSIGHTS_TABLE}.lance"),
        }

    # Readers keep the last good version: a batch that fails its audit is never committed.
    return publish(context, category, metadata, check_results, commit).result()
