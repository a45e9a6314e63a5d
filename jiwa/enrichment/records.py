"""The row of the conversation_analyses table for one conversation."""

from __future__ import annotations

import json
from datetime import datetime

from jiwa.domain.rows.memory import AnalysisRow
from jiwa.domain.status import ANALYSIS_FAILED, ANALYSIS_OK
from jiwa.enrichment.signals import Signals
from jiwa.enrichment.transcript import Transcript


def signals_json(signals: Signals) -> str:
    return json.dumps(
        {"markers": signals.markers, "marker_categories": signals.marker_categories, "languages": signals.languages},
        ensure_ascii=False,
        sort_keys=True,
    )


def analysis_record(
    transcript: Transcript,
    signals: Signals,
    grounded: dict | None,
    *,
    dropped_claims: int,
    attempts: int,
    analysed_at: datetime,
    model: str,
    prompt_version: str,
    run_id: str,
    error: str | None = None,
) -> dict:
    return AnalysisRow(
        id=transcript.conversation_id,
        tenant=transcript.tenant,
        user_id=transcript.user_id,
        fingerprint=transcript.fingerprint,
        status=ANALYSIS_OK if grounded is not None else ANALYSIS_FAILED,
        attempts=attempts,
        turns=len(transcript.turns),
        started_at=transcript.turns[0].created_at if transcript.turns else transcript.last_event_at,
        ended_at=transcript.last_event_at,
        analysed_at=analysed_at,
        primary_language=signals.primary_language,
        signals=signals_json(signals),
        analysis=json.dumps(grounded, ensure_ascii=False, sort_keys=True) if grounded is not None else None,
        dropped_claims=dropped_claims,
        error=error,
        model=model,
        prompt_version=prompt_version,
        run_id=run_id,
    ).to_columns()
