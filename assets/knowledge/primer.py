"""The cultural primer: the published knowledge base distilled into the text the server sends in Claude's cached
prefix, long enough to pass the configured models' cache minimum."""

from collections import Counter
from datetime import UTC, datetime

import dagster as dg
import pyarrow as pa

from assets.knowledge.curated import curated_insights
from assets.knowledge.insights import cultural_insights
from assets.knowledge.topics import cultural_topics
from assets.previews import markdown_table
from assets.publishing import publish
from assets.resources import ClaudeResource, StoresResource
from assets.versions import asset_code_version
from jiwa.catalogue.topics import load_catalogue
from jiwa.claude_cache import (
    MAX_PRIMER_FACTOR,
    PRIMER_TARGET_FACTOR,
    TOKENIZER,
    cache_minimum,
    count_tokens,
    required_local_tokens,
)
from jiwa.domain.rows.primer import PrimerRow
from jiwa.knowledge.primer import build_primer
from jiwa.prompts import load_prompt
from jiwa.store.insights import served_rows
from jiwa.store.lance import ids_where, tag_version, upsert
from jiwa.store.schema import PRIMER_TABLE, primer_schema

RESPONDER_PROMPT = load_prompt("responder")
PRIMER_CHECKS = ("primer_reaches_cache_minimum",)
_COLUMNS = ["id", "topic_id", "topic", "category", "insight", "guidance", "source"]

# A new version of the catalogue or of either publisher of the knowledge base rebuilds the primer; any partition of LLAMA's will do.
_ON_PUBLISH = (
    (dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)


@dg.asset(
    group_name="knowledge",
    kinds={"lancedb"},
    deps=[cultural_topics, curated_insights, cultural_insights],
    automation_condition=_ON_PUBLISH,
    code_version=asset_code_version(__name__, claude=True),
    check_specs=[dg.AssetCheckSpec(name, asset="cultural_primer", blocking=True) for name in PRIMER_CHECKS],
    description="A few lines per topic chosen by rule from the served insights (curated first), sized so the "
    "responder's rules and the primer pass the Claude models' prompt-cache minimum; the server sends it in the "
    "cached prefix. Needs no model; rewritten only when its text changes.",
)
def cultural_primer(context: dg.AssetExecutionContext, claude: ClaudeResource, stores: StoresResource):
    catalogue = load_catalogue()
    settings = claude.settings()
    minimum = max(cache_minimum(model, settings.claude_cache_min_tokens) for model in settings.claude_models)
    rules_tokens = count_tokens(RESPONDER_PROMPT.system.strip())
    required = required_local_tokens(minimum)
    db = stores.lance()
    rows, knowledge_version = served_rows(db, _COLUMNS)
    primer = build_primer(
        catalogue,
        rows,
        target_tokens=round(minimum * PRIMER_TARGET_FACTOR) - rules_tokens,
        max_tokens=round(minimum * MAX_PRIMER_FACTOR) - rules_tokens,
    )
    prefix_tokens = rules_tokens + primer.tokens
    reached = prefix_tokens >= required
    check = dg.AssetCheckResult(
        check_name="primer_reaches_cache_minimum",
        passed=reached,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"rules and primer: {prefix_tokens} local tokens, {required} needed ({minimum} x margin)"
        + ("" if reached else f"; the knowledge base holds {len(rows)} served insights, too few"),
        metadata={"prefix_tokens": prefix_tokens, "required_tokens": required, "minimum_tokens": minimum},
    )
    metadata = {
        "tokens": primer.tokens,
        "prefix_tokens": prefix_tokens,
        "rules_tokens": rules_tokens,
        "minimum_tokens": minimum,
        "models": ", ".join(settings.claude_models),
        "tokenizer": TOKENIZER,
        "chars": len(primer.text),
        "topics": primer.topics,
        "insights": primer.insights,
        "served_insights": len(rows),
        "knowledge_version": knowledge_version,
        "sha256": primer.id,
        "preview": markdown_table(
            ["insights per topic", "topics"],
            sorted(Counter(primer.per_topic.values()).items()),
        ),
    }

    def commit() -> dict:
        if primer.id in ids_where(db, PRIMER_TABLE, "true"):
            # Same rows, same primer: a new version would only make every server reload it (published, unchanged).
            return {"changed": False}
        if knowledge_version is None:
            raise dg.Failure("no cultural_insights are published for the primer to distil; publish them first")
        row = PrimerRow(
            id=primer.id,
            text=primer.text,
            tokens=primer.tokens,
            tokenizer=TOKENIZER,
            topics=primer.topics,
            insights=primer.insights,
            knowledge_version=knowledge_version,
            built_at=datetime.now(UTC),
            run_id=context.run_id,
        )
        schema = primer_schema()
        rows = pa.Table.from_pylist([row.to_columns()], schema=schema)
        table = upsert(db, PRIMER_TABLE, schema, rows, replace_scope="true")
        return {"changed": True, "table_version": tag_version(table, f"primer-{context.run_id[:8]}")}

    return publish(context, "the primer", metadata, [check], commit).result()


# Rebuilds the primer whenever the curated base or a category of LLAMA's insights is published.
primer_automation = dg.AutomationConditionSensorDefinition(
    "primer_automation",
    target=dg.AssetSelection.assets(cultural_primer),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds cultural_primer after the knowledge base is republished.",
)
