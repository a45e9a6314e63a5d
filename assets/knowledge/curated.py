"""The team's curated insights, published into the knowledge base before LLAMA writes anything: the floor it stands on."""

from collections import Counter
from datetime import UTC, datetime

import dagster as dg
import pyarrow as pa

from assets.checks import rows_match_schema
from assets.knowledge.topics import cultural_topics
from assets.previews import markdown_table
from assets.publishing import publish
from assets.resources import EmbedderResource, KnowledgeResource, StoresResource
from assets.versions import asset_code_version
from jiwa.catalogue.curated import CURATED_DIR, MIN_PER_TOPIC, curated_files, load_curated
from jiwa.catalogue.topics import TopicCatalogue
from jiwa.domain.status import CURATED
from jiwa.knowledge.insight_rows import Provenance, insight_record, search_text
from jiwa.store.lance import refresh_indexes, tag_version, upsert
from jiwa.store.schema import INSIGHTS_TABLE, insights_schema

CURATED_CHECKS = ("curated_schema_valid", "every_topic_curated")


@dg.asset(
    group_name="knowledge",
    kinds={"yaml", "lancedb"},
    deps=[cultural_topics],
    code_version=asset_code_version(__name__, embedder=True, files=curated_files()),
    check_specs=[dg.AssetCheckSpec(name, asset="curated_insights", blocking=True) for name in CURATED_CHECKS],
    description=f"The team's curated insights ({CURATED_DIR.name}/<category>.yaml), at least {MIN_PER_TOPIC} per "
    "topic, published into cultural_insights with source curated. Needs no model: always served.",
)
def curated_insights(
    context: dg.AssetExecutionContext,
    embedder: EmbedderResource,
    stores: StoresResource,
    knowledge: KnowledgeResource,
):
    from jiwa.catalogue.topics import load_catalogue

    catalogue: TopicCatalogue = load_catalogue()
    curated = load_curated(catalogue)
    provenance = Provenance(
        source=CURATED,
        model="team",
        prompt_name=CURATED_DIR.name,
        prompt_version=curated.sha256[:12],
        generated_at=datetime.now(UTC),
        run_id=context.run_id,
    )
    written = [(topic, insight) for topic in catalogue.topics for insight in curated.of(topic.id)]
    model = embedder.embedder()
    vectors = model.embed([search_text(topic, insight) for topic, insight in written])
    rows = [
        insight_record(topic, insight, provenance, vector.tolist())
        for (topic, insight), vector in zip(written, vectors, strict=True)
    ]
    schema = insights_schema(model.model_name, model.dimension)
    per_topic = Counter(row["topic_id"] for row in rows)
    short = [topic.id for topic in catalogue.topics if per_topic[topic.id] < MIN_PER_TOPIC]
    checks = [
        rows_match_schema("curated_schema_valid", rows, schema),
        dg.AssetCheckResult(
            check_name="every_topic_curated",
            passed=not short,
            description=f"every topic has at least {MIN_PER_TOPIC} curated insights"
            if not short
            else f"too few for {short}",
            metadata={"topics": len(catalogue.topics), "short": len(short)},
        ),
    ]
    per_category = Counter(row["category"] for row in rows)
    metadata = {
        "rows": len(rows),
        "topics": len(per_topic),
        "per_category": dg.MetadataValue.json(dict(sorted(per_category.items()))),
        "embedder": model.model_name,
        "preview": markdown_table(
            ["topic", "insight", "guidance"], ([r["topic"], r["insight"], r["guidance"]] for r in rows), limit=5
        ),
    }

    def commit() -> dict:
        # The curated base starts the knowledge base: with a new embedder it is built anew, and LLAMA's categories,
        # whose code versions changed with it, are queued again.
        table = upsert(
            stores.lance(),
            INSIGHTS_TABLE,
            schema,
            pa.Table.from_pylist(rows, schema=schema),
            replace_scope=f"source = '{CURATED}'",
            rebuild_on_new_embedder=True,
        )
        refresh_indexes(table, text_column="search_text", vector_min_rows=knowledge.settings().vector_index_min_rows)
        version = tag_version(table, f"curated-{context.run_id[:8]}")
        return {"table_version": version, "table_rows": table.count_rows()}

    return publish(context, "the curated insights", metadata, checks, commit).result()
