"""Pattern 4: every night LLAMA learns from yesterday's conversations (one daily partition per Bali day)."""

import time
from collections import Counter
from pathlib import Path

import dagster as dg
import pyarrow as pa
from pydantic import Field

from assets.checks import rows_match_schema
from assets.nightly import days
from assets.nightly.days import day_conversations, nightly_partitions
from assets.previews import markdown_table
from assets.resources import AnalysisResource, EmbedderResource, KnowledgeResource, LlamaResource, StoresResource
from assets.versions import configured_embedder, configured_model
from jiwa.catalogue.topics import Topic
from jiwa.enrichment import transcript as transcript_rendering
from jiwa.knowledge import insight_rows
from jiwa.knowledge import screen as screening
from jiwa.knowledge.insight_rows import Provenance, insight_record, with_novel_vectors
from jiwa.knowledge.screen import screen
from jiwa.prompts import as_data, load_prompt
from jiwa.store.insights import published_vectors
from jiwa.store.lance import refresh_indexes, sql_literal, tag_version, upsert
from jiwa.store.schema import INSIGHTS_TABLE, insights_schema
from jiwa.versions import code_version

FINDING_PROMPT = load_prompt("nightly_finding")
NIGHTLY_CHECKS = ("findings_schema_valid", "findings_provenance_complete")
_SOURCES = code_version(Path(__file__), days, transcript_rendering, insight_rows, screening)
_KIND_NAMES = {
    "cultural_pattern": "cultural pattern seen in conversations",
    "unmet_need": "emotional need that went unmet",
    "phrasing_worked": "phrasing that worked",
    "phrasing_failed": "phrasing that did not work",
}


class NightlyConfig(dg.Config):
    max_conversations: int = Field(
        default=300, ge=1, description="Most conversations LLAMA reads in one night; rated ones first."
    )
    dedup_threshold: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Cosine similarity to the knowledge base at which a finding is a duplicate; unset: JIWA_INSIGHTS_DEDUP_THRESHOLD.",
    )


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"llamacpp", "lancedb"},
    pool="llama",
    # A day's learning reads the whole knowledge base, every category of it.
    deps=["conversation_log", dg.AssetDep("cultural_insights", partition_mapping=dg.AllPartitionMapping())],
    code_version=FINDING_PROMPT.code_version(configured_model(), configured_embedder(), _SOURCES),
    check_specs=[dg.AssetCheckSpec(name, asset="nightly_insights", blocking=True) for name in NIGHTLY_CHECKS],
    description="What LLAMA learnt from one Bali day of conversations and their feedback: cultural patterns, unmet "
    "needs, phrasings that worked or not. Deduplicated against the knowledge base, then added to cultural_insights "
    "with source llama_nightly, the day and the source conversations.",
)
def nightly_insights(
    context: dg.AssetExecutionContext,
    config: NightlyConfig,
    llama: LlamaResource,
    embedder: EmbedderResource,
    stores: StoresResource,
    analysis: AnalysisResource,
    knowledge: KnowledgeResource,
):
    started = time.perf_counter()
    day = context.partition_key
    policy = analysis.settings()
    knobs = knowledge.settings()
    transcripts, notes = day_conversations(stores.log_reader(), day, policy.conversation_max_days)
    rated = {t.conversation_id for t in transcripts if any(turn.message_id in notes for turn in t.turns)}
    chosen = sorted(
        (t for t in transcripts if t.user_turns), key=lambda t: (t.conversation_id not in rated, t.conversation_id)
    )
    chosen = chosen[: config.max_conversations]

    llm = llama.structured()
    findings = []
    for index, transcript in enumerate(chosen):
        own_notes = {turn.message_id: notes[turn.message_id] for turn in transcript.turns if turn.message_id in notes}
        finding = llm.generate(
            FINDING_PROMPT,
            variant=index,
            transcript=transcript.render(policy.analysis_transcript_chars, own_notes),
            feedback=as_data("; ".join(own_notes.values())) or "none",
        )
        if finding is not None:
            findings.append((transcript, finding))
    # What users tried to teach is screened before anything is stored: planted content and their own words go.
    written_by_llama = len(findings)
    # The users' words are their turns and their feedback comments (in the notes).
    written = [
        list(t.user_turns.values()) + [notes[m] for m in (turn.message_id for turn in t.turns) if m in notes]
        for t, _ in findings
    ]
    screened = screen([finding for _, finding in findings], written)
    findings = [(findings[i][0].conversation_id, findings[i][1]) for i in screened.kept]

    def provenance(conversation_id: str) -> Provenance:
        return Provenance.of_run(
            "llama_nightly",
            llm,
            FINDING_PROMPT,
            context.run_id,
            source_date=day,
            source_conversations=(conversation_id,),
        )

    records = [
        insight_record(
            Topic(
                id=f"nightly_{f.kind}", category="nightly", name=_KIND_NAMES[f.kind], description=_KIND_NAMES[f.kind]
            ),
            f,
            provenance(conversation_id),
        )
        for conversation_id, f in findings
    ]
    model = embedder.embedder()
    schema = insights_schema(model.model_name, model.dimension)
    vectors = model.embed([record["search_text"] for record in records])
    db = stores.lance()
    # The knowledge base as it stands, minus this day's own earlier nightly rows (they are being replaced).
    this_day = f"source = 'llama_nightly' AND source_date = {sql_literal(day)}"
    existing = published_vectors(db, schema, f"NOT ({this_day})")
    kept, duplicates = with_novel_vectors(
        records, vectors, existing, config.dedup_threshold or knobs.insights_dedup_threshold
    )
    checks = _checks(kept, schema, day)
    metadata = {
        "day": day,
        "conversations": len(transcripts),
        "read": len(chosen),
        "rated_conversations": len(rated),
        "findings": written_by_llama,
        "kept_after_screening": len(records),
        "duplicates_of_knowledge_base": duplicates,
        "added": len(kept),
        "kinds": dg.MetadataValue.json(dict(Counter(row["topic_id"] for row in kept))),
        "dropped_invalid": llm.stats.dropped,
        "screened_out": dg.MetadataValue.json(dict(screened.dropped)),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "preview": markdown_table(
            ["kind", "insight", "guidance", "conversation"],
            ([r["topic_id"], r["insight"], r["guidance"], r["source_conversations"][0]] for r in kept),
            limit=5,
        ),
    }
    if not all(check.passed for check in checks):
        return dg.MaterializeResult(metadata={**metadata, "published": False}, check_results=checks)
    if kept or INSIGHTS_TABLE in db.table_names():
        # Replaces exactly this day's nightly rows, so a backfill or a rerun of the day never duplicates them.
        table = upsert(db, INSIGHTS_TABLE, schema, pa.Table.from_pylist(kept, schema=schema), replace_scope=this_day)
        refresh_indexes(table, text_column="search_text", vector_min_rows=knobs.vector_index_min_rows)
        metadata["table_version"] = tag_version(table, f"nightly-{day}-{context.run_id[:8]}")
    return dg.MaterializeResult(metadata={**metadata, "published": True}, check_results=checks)


def _checks(rows: list[dict], schema: pa.Schema, day: str) -> list[dg.AssetCheckResult]:
    incomplete = [
        r["id"]
        for r in rows
        if r["source"] != "llama_nightly" or r["source_date"] != day or not r["source_conversations"]
    ]
    return [
        rows_match_schema("findings_schema_valid", rows, schema),
        dg.AssetCheckResult(
            check_name="findings_provenance_complete",
            passed=not incomplete,
            description="every row names its source, day and conversations"
            if not incomplete
            else f"incomplete provenance: {incomplete[:5]}",
        ),
    ]
