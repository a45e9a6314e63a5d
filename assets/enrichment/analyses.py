"""Conversation enrichment: LLAMA analyses each finished conversation; claims are grounded in user turns before they are stored."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import dagster as dg
import pyarrow as pa
from pydantic import Field

from assets.checks import rows_match_schema
from assets.previews import markdown_table
from assets.publishing import publish
from assets.resources import LLAMA_RETRY_POLICY, AnalysisResource, EmbedderResource, LlamaResource, StoresResource
from assets.versions import asset_code_version
from jiwa.catalogue.markers import MARKERS_PATH
from jiwa.domain.analysis import ConversationAnalysis
from jiwa.domain.rows.memory import AnalysisRow
from jiwa.domain.status import ANALYSIS_OK
from jiwa.enrichment.claims import claims_cite_user_turns, ground
from jiwa.enrichment.pending import attempts_so_far, needs_analysis
from jiwa.enrichment.records import analysis_record
from jiwa.enrichment.signals import count_signals
from jiwa.enrichment.support import EvidenceSupport
from jiwa.enrichment.transcript import Transcript
from jiwa.enrichment.window import pending_conversations, resolve_tokens
from jiwa.forgetting import commit_user_rows
from jiwa.llm.progress import Progress
from jiwa.prompts import load_prompt
from jiwa.settings import AnalysisSettings
from jiwa.store.analyses import analysis_rows, stored_analyses
from jiwa.store.schema import ANALYSES_TABLE, analyses_schema

ANALYSIS_PROMPT = load_prompt("conversation_analysis")
ANALYSIS_CHECKS = ("analyses_schema_valid", "claims_cite_user_turns")
# What decides an analysis besides the prompt and the model: the rules around it and the team's marker lexicon.


class AnalysesConfig(dg.Config):
    conversation_ids: list[str] = Field(
        default_factory=list,
        description="Conversations to analyse, by id (an analyst's choice). Empty, with no tokens: every finished "
        "conversation not analysed yet.",
    )
    conversation_tokens: list[str] = Field(
        default_factory=list,
        description="Conversations to analyse, by the keyed tokens the sensor uses so that no conversation id stays in "
        "Dagster's storage after its user is forgotten; the sensor fills this.",
    )
    max_conversations: int | None = Field(
        default=None, ge=1, description="Most conversations this run takes; unset: the analysis resource's batch size."
    )
    force: bool = Field(default=False, description="Analyse again even when a conversation's content has not changed.")


@dg.asset(
    group_name="enrichment",
    kinds={"llamacpp", "lancedb"},
    pool="llama",
    retry_policy=LLAMA_RETRY_POLICY,
    deps=["conversation_log"],
    code_version=asset_code_version(__name__, model=True, embedder=True, files=[MARKERS_PATH]),
    check_specs=[dg.AssetCheckSpec(name, asset="conversation_analyses", blocking=True) for name in ANALYSIS_CHECKS]
    + [dg.AssetCheckSpec("no_failed_analyses", asset="conversation_analyses")],
    description="One analysis per finished conversation: emotions, style, trust, life phase, dreams, anxieties and "
    "stated facts, each citing the user turns it rests on; cultural markers and languages counted by rule.",
)
def conversation_analyses(
    context: dg.AssetExecutionContext,
    config: AnalysesConfig,
    llama: LlamaResource,
    embedder: EmbedderResource,
    stores: StoresResource,
    analysis: AnalysisResource,
):
    started = time.perf_counter()
    policy: AnalysisSettings = analysis.settings()
    limit = config.max_conversations or policy.analysis_batch_size
    reader = stores.event_reader()
    db = stores.lance()
    if config.conversation_ids:
        ids = config.conversation_ids
    elif config.conversation_tokens:  # the sensor's: none left when their users were forgotten meanwhile
        ids = resolve_tokens(reader, stores.uri, policy, config.conversation_tokens)
    else:
        ids = pending_conversations(reader, db, policy, limit)
    ids = list(dict.fromkeys(ids))[:limit]
    stored = stored_analyses(db, ids)
    # Reading only recent segments keeps a run's cost flat however long the log grows.
    since = datetime.now(UTC) - timedelta(days=policy.conversation_max_days)
    transcripts = [Transcript.from_events(events) for events in reader.conversation_events(ids, since=since).values()]

    todo, touched, unchanged = [], [], 0
    for transcript in transcripts:
        previous = stored.get(transcript.conversation_id)
        due = config.force or needs_analysis(previous, transcript.last_event_at, policy.analysis_max_attempts)
        if not transcript.user_turns or not due:
            unchanged += 1
        elif (
            previous
            and previous.status == ANALYSIS_OK
            and previous.fingerprint == transcript.fingerprint
            and not config.force
        ):
            # Only an end marker is new: the analysis still holds, and now covers the log up to that marker.
            touched.append(transcript)
        else:
            todo.append((transcript, attempts_so_far(previous, transcript.last_event_at) + 1))

    llm = llama.structured(context.log)
    progress = Progress(context.log, llm, total=len(todo), label="analyses")
    support = EvidenceSupport(embedder.embedder(), policy.analysis_min_support)

    def analyse(job):
        transcript, attempts = job
        counted = count_signals(list(transcript.user_turns.values()))
        result = llm.generate(
            ANALYSIS_PROMPT,
            ConversationAnalysis,
            variant=attempts - 1,
            transcript=transcript.render(policy.analysis_transcript_chars),
            languages=json.dumps(counted.languages),
            markers=json.dumps(counted.markers, ensure_ascii=False),
        )
        grounded, dropped = (None, 0)
        if result is not None:
            distress = counted.marker_categories.get("distress", 0)
            grounded, dropped = ground(result, transcript, support=support, distress_markers=distress)
        record = analysis_record(
            transcript,
            counted,
            grounded,
            dropped_claims=dropped,
            attempts=attempts,
            analysed_at=datetime.now(UTC),
            model=llm.model_id,
            prompt_version=ANALYSIS_PROMPT.version,
            run_id=context.run_id,
            error=None if grounded is not None else "no valid analysis after retries",
        )
        progress.step()
        return record

    with ThreadPoolExecutor(max_workers=max(1, llama.settings().concurrency)) as pool:
        new_records = list(pool.map(analyse, todo))
    # Stamped at commit, not at start: readers that poll for rows newer than what they saw must not miss a long run.
    committed_at = datetime.now(UTC)
    for record in new_records:
        record["analysed_at"] = committed_at
    last_event = {t.conversation_id: t.last_event_at for t in touched}
    refreshed = [
        AnalysisRow.from_columns(dict(row, ended_at=last_event[row["id"]])).to_columns()
        for row in analysis_rows(db, list(last_event))
    ]

    schema = analyses_schema()
    by_id = {t.conversation_id: t for t in transcripts}
    failed = [r for r in new_records if r["status"] != ANALYSIS_OK]
    checks = _checks(new_records, schema, by_id, failed)
    stats = llm.stats
    metadata = {
        "requested": len(ids),
        "analysed": len(new_records) - len(failed),
        "failed": len(failed),
        "unchanged_skipped": unchanged + len(touched),
        "dropped_claims": sum(r["dropped_claims"] for r in new_records),
        "rejected_attempts": stats.rejected,
        "rejections": dg.MetadataValue.json(dict(stats.rejections)),
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "tokens_per_conversation": round((stats.prompt_tokens + stats.completion_tokens) / len(new_records), 1)
        if new_records
        else 0,
        **stats.rate_metadata(),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "model": llm.model_id,
        "failed_conversations": len(failed),
        # Counts only: Dagster's storage outlives any forget, so no conversation id, no text a user wrote and nothing
        # inferred about them goes into its metadata (the failed rows are in the table, with their ids).
        "preview": markdown_table(
            ["status", "language", "conversations", "turns", "dropped claims"],
            (
                [
                    status,
                    language or "",
                    len(group),
                    sum(r["turns"] for r in group),
                    sum(r["dropped_claims"] for r in group),
                ]  # fmt: skip
                for (status, language), group in _grouped(new_records)
            ),
            limit=10,
        ),
    }
    # Only the ANALYSIS_CHECKS block; and a run that analysed and refreshed nothing holds too, with nothing to commit.
    return publish(
        context,
        "analyses",
        metadata,
        checks,
        lambda: commit_user_rows(
            db, reader, ANALYSES_TABLE, schema, new_records + refreshed, f"analyses-{context.run_id[:8]}"
        ),
        blocking=ANALYSIS_CHECKS,
        nothing_new=not new_records and not refreshed,
    ).result()


def _checks(
    rows: list[dict], schema: pa.Schema, transcripts: dict[str, Transcript], failed: list[dict]
) -> list[dg.AssetCheckResult]:
    uncited = [
        r["id"]
        for r in rows
        if r["analysis"] is not None and not claims_cite_user_turns(json.loads(r["analysis"]), transcripts[r["id"]])
    ]
    return [
        rows_match_schema("analyses_schema_valid", rows, schema),
        dg.AssetCheckResult(
            check_name="claims_cite_user_turns",
            passed=not uncited,
            description="every kept claim cites user turns of its own conversation"
            if not uncited
            else f"uncited claims in {len(uncited)} conversation(s)",
            metadata={"conversations_with_uncited_claims": len(uncited)},
        ),
        dg.AssetCheckResult(
            check_name="no_failed_analyses",
            passed=not failed,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{len(failed)} conversation(s) got no valid analysis; the sensor retries them"
            if failed
            else "all analysed",
            metadata={"failed": len(failed)},
        ),
    ]


def _grouped(records: list[dict]) -> list[tuple[tuple[str, str | None], list[dict]]]:
    groups: dict[tuple[str, str | None], list[dict]] = {}
    for record in records:
        groups.setdefault((record["status"], record["primary_language"]), []).append(record)
    return sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or ""))
