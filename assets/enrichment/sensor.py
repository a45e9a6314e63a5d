"""The sensor that starts analysis runs for conversations that just finished, and the job it starts."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.resources import AnalysisResource, StoresResource
from jiwa.enrichment.pending import attempts_so_far, needs_analysis
from jiwa.enrichment.tokens import conversation_token, token_key
from jiwa.settings import AnalysisSettings
from jiwa.store.analyses import stored_analyses

enrichment_job = dg.define_asset_job(
    "conversation_enrichment",
    selection=dg.AssetSelection.assets("conversation_analyses", "jiwa_profiles"),
    description="Analyse finished conversations, then fold the analyses into the users' JIWA profiles.",
)

# A first tick (or a reset cursor) looks this far back.
_FIRST_LOOKBACK = timedelta(days=2)
# Runs of the job queued or in progress beyond which the sensor waits: backpressure instead of a growing queue.
_MAX_PENDING_RUNS = 3


@dataclass
class EnrichmentCursor:
    """Watermark of ready times already handled, and conversations requested but not yet analysed."""

    watermark: datetime | None = None
    inflight: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> "EnrichmentCursor":
        if not raw:
            return cls()
        data = json.loads(raw)
        watermark = datetime.fromisoformat(data["watermark"]) if data.get("watermark") else None
        return cls(watermark, data.get("inflight", {}))

    def dump(self) -> str:
        return json.dumps(
            {"watermark": self.watermark.isoformat() if self.watermark else None, "inflight": self.inflight},
            sort_keys=True,
        )


@dg.sensor(
    job=enrichment_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Finds conversations that ended (explicitly, or idle past the timeout) in the sealed log and "
    "requests analysis runs for them in batches; retries conversations whose analysis failed.",
)
def finished_conversations(context: dg.SensorEvaluationContext, stores: StoresResource, analysis: AnalysisResource):
    now = datetime.now(UTC)
    policy: AnalysisSettings = analysis.settings()
    cursor = EnrichmentCursor.parse(context.cursor)
    lag = timedelta(seconds=policy.analysis_sensor_lag_s)
    idle = policy.conversation_idle_timeout_s
    after = (cursor.watermark - lag) if cursor.watermark else now - _FIRST_LOOKBACK
    # Conversations still in flight are looked for again: the cursor knows them by token only.
    oldest = min((datetime.fromisoformat(e["ready_at"]) for e in cursor.inflight.values()), default=after)
    scan_after = min(after, oldest - timedelta(microseconds=1))

    key = token_key(stores.uri)
    ready = stores.event_reader().ready_conversations(
        after=scan_after, until=now, idle_s=idle, scan_from=scan_after - timedelta(seconds=idle)
    )
    tokens = {row["conversation_id"]: conversation_token(key, row["conversation_id"]) for row in ready}
    present = set(tokens.values())
    candidates = {
        row["conversation_id"]: (row["ready_at"], row["last_event_at"])
        for row in ready
        if row["ready_at"] > after or tokens[row["conversation_id"]] in cursor.inflight
    }
    # A token that matches nothing any more: its conversation was forgotten.
    cursor.inflight = {token: entry for token, entry in cursor.inflight.items() if token in present}
    stored = stored_analyses(stores.lance(), list(candidates))

    budget = max(0, _MAX_PENDING_RUNS - _pending_runs(context)) * policy.analysis_batch_size
    requested: list[str] = []
    watermark = now
    retry_after = timedelta(seconds=policy.analysis_retry_after_s)
    for conversation_id, (ready_at, last_event_at) in sorted(
        candidates.items(), key=lambda item: (item[1][0], item[0])
    ):
        token = tokens[conversation_id]
        previous = stored.get(conversation_id)
        if not needs_analysis(previous, last_event_at, policy.analysis_max_attempts):
            cursor.inflight.pop(token, None)
            continue
        entry = cursor.inflight.get(token)
        # The request still in flight for this very content, if any: a request for older content does not count.
        same = entry if entry is not None and entry["content"] == last_event_at.isoformat() else None
        if same is not None and now - datetime.fromisoformat(same["requested_at"]) < retry_after:
            continue  # requested recently; its run may still be queued
        tries = attempts_so_far(previous, last_event_at, requested_runs=same["tries"] if same is not None else 0)
        if tries >= policy.analysis_max_attempts:
            context.log.warning(f"giving up on conversation {token} after {tries} runs; it stays failed")
            cursor.inflight.pop(token, None)
            continue
        if len(requested) >= budget:
            watermark = min(watermark, ready_at)
            continue
        requested.append(token)
        cursor.inflight[token] = {
            "content": last_event_at.isoformat(),
            "ready_at": ready_at.isoformat(),
            "requested_at": now.isoformat(),
            "tries": tries + 1,
        }

    cursor.watermark = max(watermark, cursor.watermark) if cursor.watermark else watermark
    context.update_cursor(cursor.dump())
    if not requested:
        return dg.SkipReason(
            f"{len(ready)} conversation(s) finished since {after:%Y-%m-%d %H:%M:%S}; none needs analysis now"
        )
    size = policy.analysis_batch_size
    return [
        dg.RunRequest(
            run_key=_run_key(batch, cursor),
            run_config={"ops": {"conversation_analyses": {"config": {"conversation_tokens": batch}}}},
            tags={"jiwa/trigger": "finished_conversations", "jiwa/conversations": str(len(batch))},
        )
        for batch in (requested[i : i + size] for i in range(0, len(requested), size))
    ]


def _pending_runs(context: dg.SensorEvaluationContext) -> int:
    pending = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    ]
    return context.instance.get_runs_count(dg.RunsFilter(job_name=enrichment_job.name, statuses=pending))


def _run_key(batch: list[str], cursor: EnrichmentCursor) -> str:
    digest = hashlib.sha256()
    for token in batch:
        entry = cursor.inflight[token]
        digest.update(f"{token}|{entry['content']}|{entry['tries']}\n".encode())
    return f"analyse-{digest.hexdigest()[:20]}"
