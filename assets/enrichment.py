"""Patterns 2 and 5: LLAMA analyses each finished conversation, and the analyses deepen each user's JIWA profile."""

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import dagster as dg
import pyarrow as pa
from pydantic import Field, ValidationError

from assets.analysis_rows import Transcript, analysis_record, claims_cite_user_turns, ground
from assets.profile_merge import AnalysedConversation, build_profile, sources_fingerprint
from assets.row_checks import rows_match_schema
from assets.signals import count_signals, load_lexicon
from jiwa.convlog import LogReader, log_root
from jiwa.llm import configured_model_id
from jiwa.profile import Profile
from jiwa.prompts import load_prompt
from jiwa.settings import get_settings
from jiwa.store.enrichment import stored_analyses
from jiwa.store.lance import delete_where, publish, sql_list, upsert
from jiwa.store.schema import ANALYSES_TABLE, ANALYSIS_OK, PROFILES_TABLE, analyses_schema, profiles_schema
from pipelines.resources import LlamaResource, StoresResource

_settings = get_settings()
ANALYSIS_PROMPT = load_prompt("conversation_analysis")
ANALYSIS_CHECKS = ("analyses_schema_valid", "claims_cite_user_turns")
PROFILE_CHECKS = ("profiles_bounded", "profiles_deterministic")
MAX_PROFILE_BYTES = 16_000
# The profile step re-reads analyses this far behind its watermark, for analysis runs that committed late.
_WATERMARK_SAFETY_S = 3600


class AnalysesConfig(dg.Config):
    conversation_ids: list[str] = Field(
        default_factory=list,
        description="Conversations to analyse; the sensor fills this. Empty: every finished conversation not analysed yet.",
    )
    max_conversations: int = Field(default=_settings.analysis_batch_size, ge=1, description="Most conversations this run takes.")
    force: bool = Field(default=False, description="Analyse again even when a conversation's content has not changed.")


@dg.asset(
    group_name="enrichment",
    kinds={"llamacpp", "lancedb"},
    pool="llama",
    deps=["conversation_log"],
    code_version=ANALYSIS_PROMPT.code_version(f"{configured_model_id(_settings)}|{load_lexicon().sha256[:12]}"),
    check_specs=[dg.AssetCheckSpec(name, asset="conversation_analyses", blocking=True) for name in ANALYSIS_CHECKS]
    + [dg.AssetCheckSpec("no_failed_analyses", asset="conversation_analyses")],
    description="One analysis per finished conversation: emotions, style, trust, life phase, dreams, anxieties and "
    "stated facts, each citing the user turns it rests on; cultural markers and languages counted by rule.",
)
def conversation_analyses(context: dg.AssetExecutionContext, config: AnalysesConfig, llama: LlamaResource, stores: StoresResource):
    started = time.perf_counter()
    reader = LogReader(log_root(stores.data_uri))
    db = stores.lance()
    ids = config.conversation_ids or _unanalysed(reader, db, config.max_conversations)
    ids = list(dict.fromkeys(ids))[: config.max_conversations]
    stored = stored_analyses(db, ids)
    # Reading only recent segments keeps a run's cost flat however long the log grows.
    since = datetime.now(timezone.utc) - timedelta(days=_settings.conversation_max_days)
    transcripts = [Transcript.from_events(events) for events in reader.conversation_events(ids, since=since).values()]

    todo, unchanged = [], 0
    for transcript in transcripts:
        previous = stored.get(transcript.conversation_id)
        same_content = previous is not None and previous["fingerprint"] == transcript.fingerprint
        if not transcript.user_turns or (same_content and previous["status"] == ANALYSIS_OK and not config.force):
            unchanged += 1
            continue
        attempts = previous["attempts"] + 1 if same_content and previous["status"] != ANALYSIS_OK else 1
        todo.append((transcript, attempts))

    llm = llama.structured()

    def analyse(job):
        transcript, attempts = job
        signals = count_signals(list(transcript.user_turns.values()))
        result = llm.generate(
            ANALYSIS_PROMPT,
            variant=attempts - 1,
            transcript=transcript.render(_settings.analysis_transcript_chars),
            languages=json.dumps(signals.languages),
            markers=json.dumps(signals.markers, ensure_ascii=False),
        )
        grounded, dropped = ground(result, transcript) if result is not None else (None, 0)
        return analysis_record(
            transcript, signals, grounded, dropped_claims=dropped, attempts=attempts, analysed_at=datetime.now(timezone.utc),
            model=llm.model_id, prompt_version=ANALYSIS_PROMPT.version, run_id=context.run_id,
            error=None if grounded is not None else "no valid analysis after retries",
        )

    with ThreadPoolExecutor(max_workers=max(1, llama.concurrency)) as pool:
        records = list(pool.map(analyse, todo))
    # Stamped at commit, not at start: readers that poll for rows newer than what they saw must not miss a long run.
    committed_at = datetime.now(timezone.utc)
    for record in records:
        record["analysed_at"] = committed_at

    schema = analyses_schema()
    by_id = {t.conversation_id: t for t in transcripts}
    failed = [r for r in records if r["status"] != ANALYSIS_OK]
    checks = _analysis_checks(records, schema, by_id, failed)
    stats = llm.stats
    metadata = {
        "requested": len(ids),
        "analysed": len(records) - len(failed),
        "failed": len(failed),
        "unchanged_skipped": unchanged,
        "dropped_claims": sum(r["dropped_claims"] for r in records),
        "rejected_attempts": stats.rejected,
        "rejections": dg.MetadataValue.json(dict(stats.rejections)),
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "tokens_per_conversation": round((stats.prompt_tokens + stats.completion_tokens) / len(records), 1) if records else 0,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "model": llm.model_id,
        "failed_conversations": dg.MetadataValue.json([r["id"] for r in failed][:50]),
        "preview": dg.MetadataValue.md(_analysis_preview(records)),
    }
    if not all(check.passed for check in checks if check.check_name in ANALYSIS_CHECKS):
        context.log.error("Not publishing analyses: a blocking check failed")
        return dg.MaterializeResult(metadata={**metadata, "published": False}, check_results=checks)
    if not records:
        return dg.MaterializeResult(metadata={**metadata, "published": False}, check_results=checks)

    table = upsert(db, ANALYSES_TABLE, schema, pa.Table.from_pylist(records, schema=schema))
    table.optimize()
    version = publish(table, f"analyses-{context.run_id[:8]}")
    swept = sweep_forgotten(db, reader)
    return dg.MaterializeResult(
        metadata={**metadata, "published": True, "table_version": version, "table_rows": table.count_rows(), "forgotten_rows_swept": swept},
        check_results=checks,
    )


class ProfilesConfig(dg.Config):
    rebuild_all: bool = Field(default=False, description="Rebuild every user's profile, not only those with new analyses.")


@dg.asset(
    group_name="enrichment",
    kinds={"lancedb"},
    deps=[conversation_analyses],
    code_version="profile-merge-1",
    check_specs=[dg.AssetCheckSpec(name, asset="jiwa_profiles", blocking=True) for name in PROFILE_CHECKS],
    description="Each user's JIWA memory: stated facts and jiwa_context (personality, emotional state and trust with "
    "their history, preferences, life phase, dreams, anxieties, cultural bridge), folded from their analyses.",
)
def jiwa_profiles(context: dg.AssetExecutionContext, config: ProfilesConfig, stores: StoresResource):
    db = stores.lance()
    if ANALYSES_TABLE not in db.table_names():
        return dg.MaterializeResult(metadata={"users_updated": 0, "published": False}, check_results=_profile_checks([], {}))
    users = _users_to_rebuild(db, _stored_profiles(db), context.run_id, config.rebuild_all)
    return rebuild_profiles(context, stores, users)


def rebuild_profiles(context: dg.AssetExecutionContext, stores: StoresResource, users: list[str]) -> dg.MaterializeResult:
    """Fold these users' analyses into their profiles, check the batch, and publish it in one commit."""
    db = stores.lance()
    stored = _stored_profiles(db)
    analyses = _analyses_of(db, users)
    records, built, unchanged = [], {}, 0
    for user_id, items in sorted(analyses.items()):
        fingerprint = sources_fingerprint(items)
        if stored.get(user_id, {}).get("sources_fingerprint") == fingerprint:
            unchanged += 1
            continue
        profile = build_profile(user_id, items[0].tenant, items)
        built[user_id] = items
        records.append({
            "id": user_id,
            "tenant": profile.tenant,
            "user_id": user_id,
            "updated_at": max(item.analysed_at for item in items),
            "first_seen": profile.first_seen,
            "conversations": profile.conversations,
            "sources_fingerprint": fingerprint,
            "profile": profile.model_dump_json(),
            "run_id": context.run_id,
        })

    checks = _profile_checks(records, built)
    metadata = {
        "users_considered": len(users),
        "users_updated": len(records),
        "unchanged_skipped": unchanged,
        "preview": dg.MetadataValue.md(_profile_preview(records)),
    }
    if not records or not all(check.passed for check in checks):
        return dg.MaterializeResult(metadata={**metadata, "published": False}, check_results=checks)
    table = upsert(db, PROFILES_TABLE, profiles_schema(), pa.Table.from_pylist(records, schema=profiles_schema()))
    table.optimize()
    version = publish(table, f"profiles-{context.run_id[:8]}")
    swept = sweep_forgotten(db, LogReader(log_root(stores.data_uri)))
    return dg.MaterializeResult(
        metadata={**metadata, "published": True, "table_version": version, "table_rows": table.count_rows(), "forgotten_rows_swept": swept},
        check_results=checks,
    )


def sweep_forgotten(db, reader: LogReader) -> int:
    """Delete what a run wrote about conversations of a user forgotten while it ran (the server deleted the rest).

    Judged by when the conversations happened, not when the run wrote: a user who came back after being forgotten
    keeps what was learnt since.
    """
    removed = 0
    for user_id, at in reader.forgotten_users().items():
        stamp = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
        user = sql_list([user_id])
        removed += delete_where(db, ANALYSES_TABLE, f"user_id IN {user} AND ended_at <= timestamp '{stamp}'")
        removed += delete_where(db, PROFILES_TABLE, f"user_id IN {user} AND first_seen <= timestamp '{stamp}'")
    return removed


def _unanalysed(reader: LogReader, db, limit: int) -> list[str]:
    now = datetime.now(timezone.utc)
    since = now - timedelta(days=_settings.conversation_max_days)
    ready = reader.ready_conversations(after=since, until=now, idle_s=_settings.conversation_idle_timeout_s, scan_from=since)
    stored = stored_analyses(db, [row["conversation_id"] for row in ready])
    pending = [
        row["conversation_id"]
        for row in ready
        if row["conversation_id"] not in stored
        or stored[row["conversation_id"]]["ended_at"] < row["last_event_at"]
        or (stored[row["conversation_id"]]["status"] != ANALYSIS_OK and stored[row["conversation_id"]]["attempts"] < _settings.analysis_max_attempts)
    ]
    return pending[:limit]


def _stored_profiles(db) -> dict[str, dict]:
    if PROFILES_TABLE not in db.table_names():
        return {}
    rows = db.open_table(PROFILES_TABLE).search().select(["id", "sources_fingerprint", "updated_at"]).limit(None).to_arrow().to_pylist()
    return {row["id"]: row for row in rows}


def _users_to_rebuild(db, stored_profiles: dict[str, dict], run_id: str, rebuild_all: bool) -> list[str]:
    table = db.open_table(ANALYSES_TABLE)
    if rebuild_all or not stored_profiles:
        where = f"status = '{ANALYSIS_OK}'"
    else:
        watermark = max(row["updated_at"] for row in stored_profiles.values()).timestamp() - _WATERMARK_SAFETY_S
        stamp = datetime.fromtimestamp(watermark, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
        where = f"status = '{ANALYSIS_OK}' AND (analysed_at > timestamp '{stamp}' OR run_id = '{run_id}')"
    rows = table.search().where(where).select(["user_id"]).limit(None).to_arrow()
    return sorted(set(rows.column("user_id").to_pylist()))


def _analyses_of(db, users: list[str]) -> dict[str, list[AnalysedConversation]]:
    if not users:
        return {}
    rows = (
        db.open_table(ANALYSES_TABLE).search().where(f"status = '{ANALYSIS_OK}' AND user_id IN {sql_list(users)}")
        .limit(None).to_arrow().to_pylist()
    )
    grouped: dict[str, list[AnalysedConversation]] = {}
    for row in rows:
        signals = json.loads(row["signals"])
        grouped.setdefault(row["user_id"], []).append(
            AnalysedConversation(
                conversation_id=row["id"], tenant=row["tenant"], user_id=row["user_id"], fingerprint=row["fingerprint"],
                ended_at=row["ended_at"], analysed_at=row["analysed_at"], analysis=json.loads(row["analysis"]),
                markers=signals["markers"], languages=signals["languages"], primary_language=row["primary_language"],
            )
        )
    return grouped


def _analysis_checks(records: list[dict], schema: pa.Schema, transcripts: dict[str, Transcript], failed: list[dict]) -> list[dg.AssetCheckResult]:
    uncited = [
        r["id"] for r in records
        if r["analysis"] is not None and not claims_cite_user_turns(json.loads(r["analysis"]), transcripts[r["id"]])
    ]
    return [
        rows_match_schema("analyses_schema_valid", records, schema),
        dg.AssetCheckResult(
            check_name="claims_cite_user_turns",
            passed=not uncited,
            description="every kept claim cites user turns of its own conversation" if not uncited else f"uncited claims in {uncited[:5]}",
            metadata={"conversations_with_uncited_claims": len(uncited)},
        ),
        dg.AssetCheckResult(
            check_name="no_failed_analyses",
            passed=not failed,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{len(failed)} conversation(s) got no valid analysis; the sensor retries them" if failed else "all analysed",
            metadata={"failed": len(failed), "failed_conversations": dg.MetadataValue.json([r["id"] for r in failed][:50])},
        ),
    ]


def _profile_checks(records: list[dict], built: dict[str, list[AnalysedConversation]]) -> list[dg.AssetCheckResult]:
    oversized, invalid = [], []
    for record in records:
        if len(record["profile"].encode()) > MAX_PROFILE_BYTES:
            oversized.append(record["id"])
        try:
            Profile.model_validate_json(record["profile"])
        except ValidationError:
            invalid.append(record["id"])
    # The merge promises order does not matter: rebuild each profile from shuffled analyses and compare.
    shuffler = random.Random(0)
    unstable = []
    for record in records:
        items = list(built[record["id"]])
        shuffler.shuffle(items)
        if build_profile(record["id"], record["tenant"], items + items[:1]).model_dump_json() != record["profile"]:
            unstable.append(record["id"])
    return [
        dg.AssetCheckResult(
            check_name="profiles_bounded",
            passed=not oversized and not invalid,
            description=f"{len(oversized)} over {MAX_PROFILE_BYTES} bytes, {len(invalid)} failing the Profile model",
        ),
        dg.AssetCheckResult(
            check_name="profiles_deterministic",
            passed=not unstable,
            description="shuffled and repeated analyses give the same profiles" if not unstable else f"unstable: {unstable[:5]}",
        ),
    ]


def _analysis_preview(records: list[dict], limit: int = 5) -> str:
    lines = ["| conversation | status | language | summary | emotion | trust |", "|---|---|---|---|---|---|"]
    for record in records[:limit]:
        analysis = json.loads(record["analysis"]) if record["analysis"] else {}
        emotion = (analysis.get("emotional_state") or {}).get("value", "")
        trust = (analysis.get("trust_level") or {}).get("value", "")
        cells = [record["id"], record["status"], record["primary_language"] or "", (analysis.get("summary") or "")[:80], emotion, trust]
        lines.append("| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


def _profile_preview(records: list[dict], limit: int = 5) -> str:
    lines = ["| user | name | language | emotional state | trust | conversations |", "|---|---|---|---|---|---|"]
    for record in records[:limit]:
        profile = Profile.model_validate_json(record["profile"])
        facts, jiwa = profile.facts, profile.jiwa_context
        cells = [record["id"]] + [
            remembered.value if remembered else ""
            for remembered in (facts.name, facts.language, jiwa.emotional_state, jiwa.trust_level)
        ] + [profile.conversations]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)
