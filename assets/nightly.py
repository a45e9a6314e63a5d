"""Pattern 4: every night LLAMA learns from yesterday's conversations (one daily partition per Bali day)."""

import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from datetime import time as day_time
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import numpy as np
import pyarrow as pa
from pydantic import Field

from assets.analysis_rows import Transcript
from assets.enrichment import rebuild_profiles
from assets.insight_rows import Provenance, insight_record, novel_mask
from assets.row_checks import rows_match_schema
from assets.topics import Topic
from jiwa.convlog import LogReader, log_root
from jiwa.intent_matching import MatcherSpec, TermFinder
from jiwa.llm import configured_model_id
from jiwa.log_compaction import compact_sealed
from jiwa.prompts import load_prompt
from jiwa.settings import get_settings
from jiwa.store.lance import compact, publish, refresh_indexes, sql_list, table_embedder, upsert
from jiwa.store.schema import CACHE_SPEC, INSIGHTS_TABLE, RESPONSE_CACHE_TABLE, USER_DATA_TABLES, insights_schema
from pipelines.resources import EmbedderResource, LlamaResource, StoresResource

_settings = get_settings()
BALI = ZoneInfo("Asia/Makassar")
FINDING_PROMPT = load_prompt("nightly_finding")
nightly_partitions = dg.DailyPartitionsDefinition(start_date="2026-11-01", timezone="Asia/Makassar")
NIGHTLY_CHECKS = ("findings_schema_valid", "findings_provenance_complete")
_KIND_NAMES = {
    "cultural_pattern": "cultural pattern seen in conversations",
    "unmet_need": "emotional need that went unmet",
    "phrasing_worked": "phrasing that worked",
    "phrasing_failed": "phrasing that did not work",
}


def bali_day_window(partition_key: str) -> tuple[datetime, datetime]:
    """The UTC instants that bound one calendar day in Bali."""
    start = datetime.combine(datetime.strptime(partition_key, "%Y-%m-%d").date(), day_time(0), tzinfo=BALI)
    return start.astimezone(timezone.utc), (start + timedelta(days=1)).astimezone(timezone.utc)


def day_conversations(reader: LogReader, partition_key: str) -> tuple[list[Transcript], dict[str, str]]:
    """Conversations with a turn that day (all their turns), and the feedback on their replies as notes by message id."""
    start, end = bali_day_window(partition_key)
    ids = reader.query(
        "SELECT DISTINCT conversation_id FROM events WHERE type = 'turn' AND created_at >= ? AND created_at < ?", [start, end], since=start
    ).column("conversation_id").to_pylist()
    since = start - timedelta(days=_settings.conversation_max_days)
    transcripts = [Transcript.from_events(events) for events in reader.conversation_events(ids, since=since).values()]
    feedback = reader.query(
        "SELECT message_id, rating, comment FROM events WHERE type = 'feedback' AND conversation_id IN (SELECT unnest(?::VARCHAR[]))",
        [ids],
        since=start,
    ).to_pylist() if ids else []
    notes = {row["message_id"]: f"user rated this reply {row['rating']}" + (f": {row['comment']}" if row["comment"] else "") for row in feedback}
    return sorted(transcripts, key=lambda t: t.conversation_id), notes


class NightlyConfig(dg.Config):
    max_conversations: int = Field(default=300, ge=1, description="Most conversations LLAMA reads in one night; rated ones first.")
    dedup_threshold: float = Field(default=_settings.insights_dedup_threshold, gt=0, le=1,
                                   description="Cosine similarity to the knowledge base at which a finding is a duplicate.")


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"llamacpp", "lancedb"},
    pool="llama",
    deps=["conversation_log", "cultural_insights"],
    code_version=FINDING_PROMPT.code_version(configured_model_id(_settings)),
    check_specs=[dg.AssetCheckSpec(name, asset="nightly_insights", blocking=True) for name in NIGHTLY_CHECKS],
    description="What LLAMA learnt from one Bali day of conversations and their feedback: cultural patterns, unmet "
    "needs, phrasings that worked or not. Deduplicated against the knowledge base, then added to cultural_insights "
    "with source llama_nightly, the day and the source conversations.",
)
def nightly_insights(context: dg.AssetExecutionContext, config: NightlyConfig, llama: LlamaResource,
                     embedder: EmbedderResource, stores: StoresResource):
    started = time.perf_counter()
    day = context.partition_key
    transcripts, notes = day_conversations(LogReader(log_root(stores.data_uri)), day)
    rated = {t.conversation_id for t in transcripts if any(turn.message_id in notes for turn in t.turns)}
    chosen = sorted((t for t in transcripts if t.user_turns), key=lambda t: (t.conversation_id not in rated, t.conversation_id))
    chosen = chosen[: config.max_conversations]

    llm = llama.structured()
    findings = []
    for index, transcript in enumerate(chosen):
        own_notes = {turn.message_id: notes[turn.message_id] for turn in transcript.turns if turn.message_id in notes}
        finding = llm.generate(
            FINDING_PROMPT, variant=index, transcript=transcript.render(_settings.analysis_transcript_chars, own_notes),
            feedback="; ".join(own_notes.values()) or "none",
        )
        if finding is not None:
            findings.append((transcript.conversation_id, finding))

    provenance = lambda conversation_id: Provenance(  # noqa: E731
        source="llama_nightly", model=llm.model_id, prompt_name=FINDING_PROMPT.name, prompt_version=FINDING_PROMPT.version,
        generated_at=datetime.now(timezone.utc), run_id=context.run_id, source_date=day, source_conversations=(conversation_id,),
    )
    records = [
        insight_record(Topic(id=f"nightly_{f.kind}", category="nightly", name=_KIND_NAMES[f.kind], description=_KIND_NAMES[f.kind]),
                       f, provenance(conversation_id))
        for conversation_id, f in findings
    ]
    model = embedder.embedder()
    schema = insights_schema(model.model_name, model.dimension)
    vectors = model.embed([record["search_text"] for record in records])
    db = stores.lance()
    keep = novel_mask(vectors, _knowledge_vectors(db, schema, day), config.dedup_threshold)
    kept = [dict(record, vector=vector.tolist()) for record, vector, ok in zip(records, vectors, keep) if ok]
    checks = _checks(kept, schema, day)
    metadata = {
        "day": day,
        "conversations": len(transcripts),
        "read": len(chosen),
        "rated_conversations": len(rated),
        "findings": len(records),
        "duplicates_of_knowledge_base": int((~keep).sum()),
        "added": len(kept),
        "kinds": dg.MetadataValue.json(dict(Counter(row["topic_id"] for row in kept))),
        "dropped_invalid": llm.stats.dropped,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "preview": dg.MetadataValue.md(_preview(kept)),
    }
    if not all(check.passed for check in checks):
        return dg.MaterializeResult(metadata={**metadata, "published": False}, check_results=checks)
    if kept or INSIGHTS_TABLE in db.table_names():
        # Replaces exactly this day's nightly rows, so a backfill or a rerun of the day never duplicates them.
        table = upsert(db, INSIGHTS_TABLE, schema, pa.Table.from_pylist(kept, schema=schema),
                       replace_scope=f"source = 'llama_nightly' AND source_date = '{day}'")
        refresh_indexes(table, text_column="search_text", vector_min_rows=_settings.vector_index_min_rows)
        metadata["table_version"] = publish(table, f"nightly-{day}-{context.run_id[:8]}")
    return dg.MaterializeResult(metadata={**metadata, "published": True}, check_results=checks)


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"lancedb"},
    deps=[nightly_insights, "conversation_analyses"],
    code_version="refresh-1",
    description="The JIWA profiles of everyone who talked to Jiwa that day, folded again from their latest analyses.",
)
def refreshed_profiles(context: dg.AssetExecutionContext, stores: StoresResource):
    transcripts, _ = day_conversations(LogReader(log_root(stores.data_uri)), context.partition_key)
    users = sorted({t.user_id for t in transcripts})
    result = rebuild_profiles(context, stores, users) if users else None
    failed = [check.check_name for check in (result.check_results if result else []) if not check.passed]
    if failed:
        raise dg.Failure(f"profiles for {context.partition_key} failed their checks: {', '.join(failed)}")
    metadata = dict(result.metadata) if result else {"users_updated": 0}
    return dg.MaterializeResult(metadata={**metadata, "day": context.partition_key, "users_that_day": len(users)})


class ProposalConfig(dg.Config):
    min_cluster_size: int = Field(default=3, ge=2, description="Messages a question needs that day to be proposed.")
    similarity: float = Field(default=0.75, gt=0, le=1, description="Cosine similarity that puts two questions together.")


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"duckdb"},
    deps=["conversation_log", "common_response_cache"],
    code_version="proposals-1",
    description="Questions asked often that day and not answered from the cache, clustered and proposed as new "
    "intents. Nothing here is served: an analyst accepts a proposal by adding it to assets/catalogue/intents.yaml.",
)
def proposed_intents(context: dg.AssetExecutionContext, config: ProposalConfig, embedder: EmbedderResource, stores: StoresResource):
    start, end = bali_day_window(context.partition_key)
    rows = LogReader(log_root(stores.data_uri)).query(
        """
        SELECT u.content, u.user_id FROM events u
        JOIN events a ON a.conversation_id = u.conversation_id AND a.role = 'assistant' AND a.type = 'turn'
          AND a.created_at >= u.created_at
          AND NOT EXISTS (SELECT 1 FROM events m WHERE m.conversation_id = u.conversation_id AND m.role = 'user'
                          AND m.type = 'turn' AND m.created_at > u.created_at AND m.created_at <= a.created_at)
        WHERE u.type = 'turn' AND u.role = 'user' AND u.created_at >= ? AND u.created_at < ?
          AND coalesce(a.source, '') <> 'cache' AND length(u.content) <= 200
        """,
        [start, end],
    ).to_pylist()
    questions = [row for row in rows if "?" in row["content"] or len(row["content"].split()) <= 12]
    vectors = embedder.embedder().embed([row["content"] for row in questions])
    clusters = _cluster(vectors, config.similarity)
    finder = _finder(stores)
    proposals = []
    for members in clusters:
        users = {questions[i]["user_id"] for i in members}
        if len(members) < config.min_cluster_size or len(users) < 2:
            continue
        examples = [questions[i]["content"] for i in members]
        centre = vectors[members].mean(axis=0)
        representative = examples[int(np.argmax(vectors[members] @ centre))]
        proposals.append({
            "representative": representative, "messages": len(members), "users": len(users), "examples": examples[:5],
            "term_groups": sorted(finder.groups(representative)) if finder else [],
        })
    proposals.sort(key=lambda p: (-p["messages"], p["representative"]))
    return dg.MaterializeResult(metadata={
        "day": context.partition_key,
        "cache_missed_questions": len(questions),
        "proposals": len(proposals),
        "proposed": dg.MetadataValue.json(proposals[:20]),
        "preview": dg.MetadataValue.md(_proposal_preview(proposals)),
    })


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"lancedb"},
    deps=[nightly_insights, refreshed_profiles, proposed_intents],
    code_version="compaction-1",
    description="After the night's writes: every table compacted; knowledge tables keep JIWA_STORE_RETENTION_HOURS "
    "of versions, user-data tables none.",
)
def compacted_stores(context: dg.AssetExecutionContext, stores: StoresResource):
    db = stores.lance()
    retention = timedelta(hours=_settings.store_retention_hours)
    stats = {name: compact(db.open_table(name), keep_versions_for=None if name in USER_DATA_TABLES else retention)
             for name in db.table_names()}
    log_stats = compact_sealed(Path(log_root(stores.data_uri)))
    return dg.MaterializeResult(metadata={
        "conversation_log": dg.MetadataValue.json(log_stats),
        "tables": dg.MetadataValue.json(stats),
        "versions_removed": sum(s["versions_removed"] for s in stats.values()),
        "bytes_removed": sum(s["bytes_removed"] for s in stats.values()),
    })


def _knowledge_vectors(db, schema: pa.Schema, day: str) -> np.ndarray:
    """The knowledge base as it stands, minus this day's own earlier nightly rows (they are being replaced)."""
    dimension = schema.field("vector").type.list_size
    if INSIGHTS_TABLE not in db.table_names():
        return np.zeros((0, dimension), dtype=np.float32)
    table = db.open_table(INSIGHTS_TABLE)
    if table_embedder(table.schema) != table_embedder(schema):
        return np.zeros((0, dimension), dtype=np.float32)
    rows = table.search().where(f"NOT (source = 'llama_nightly' AND source_date IN {sql_list([day])})").select(["vector"]).limit(None).to_arrow()
    return np.asarray(rows.column("vector").to_pylist(), dtype=np.float32).reshape(-1, dimension)


def _checks(rows: list[dict], schema: pa.Schema, day: str) -> list[dg.AssetCheckResult]:
    incomplete = [r["id"] for r in rows if r["source"] != "llama_nightly" or r["source_date"] != day or not r["source_conversations"]]
    return [
        rows_match_schema("findings_schema_valid", rows, schema),
        dg.AssetCheckResult(
            check_name="findings_provenance_complete", passed=not incomplete,
            description="every row names its source, day and conversations" if not incomplete else f"incomplete provenance: {incomplete[:5]}",
        ),
    ]


def _cluster(vectors: np.ndarray, similarity: float) -> list[list[int]]:
    """Greedy single pass: each question joins the first cluster whose founder it is close to."""
    founders: list[int] = []
    clusters: list[list[int]] = []
    for index in range(len(vectors)):
        if founders:
            scores = vectors[founders] @ vectors[index]
            best = int(np.argmax(scores))
            if scores[best] >= similarity:
                clusters[best].append(index)
                continue
        founders.append(index)
        clusters.append([index])
    return clusters


def _finder(stores: StoresResource) -> TermFinder | None:
    db = stores.lance()
    if RESPONSE_CACHE_TABLE not in db.table_names():
        return None
    spec = db.open_table(RESPONSE_CACHE_TABLE).search().where(f"kind = '{CACHE_SPEC}'").select(["text"]).limit(1).to_arrow()
    return TermFinder(MatcherSpec.from_json(spec.column("text")[0].as_py()).terms) if spec.num_rows else None


def _preview(rows: list[dict], limit: int = 5) -> str:
    lines = ["| kind | insight | guidance | conversation |", "|---|---|---|---|"]
    for row in rows[:limit]:
        cells = [row["topic_id"], row["insight"], row["guidance"], row["source_conversations"][0]]
        lines.append("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


def _proposal_preview(proposals: list[dict]) -> str:
    if not proposals:
        return "No question was frequent enough that day."
    lines = ["| question | messages | users | terms it uses | to accept, add to intents.yaml |", "|---|---|---|---|---|"]
    for p in proposals[:10]:
        snippet = f"`new_intent: {{require: {p['term_groups']}, phrasings: {{en: [\"{p['representative']}\"]}}}}`"
        lines.append(f"| {p['representative'].replace('|', '/')} | {p['messages']} | {p['users']} | {', '.join(p['term_groups'])} | {snippet} |")
    return "\n".join(lines)
