"""Turning validated LLAMA insights into store rows, removing near-duplicates, and auditing a batch before it is published."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from jiwa.catalogue.topics import Topic
from jiwa.domain.insights import CulturalInsight
from jiwa.domain.language import TRIGGER_LANGUAGES
from jiwa.domain.rows.insights import TRIGGER_COLUMNS, InsightColumns, InsightRow

TEXT_COLUMNS = ("insight", "guidance", "search_text")


@dataclass(frozen=True)
class Provenance:
    source: str
    model: str
    prompt_name: str
    prompt_version: str
    generated_at: datetime
    run_id: str
    source_date: str | None = None
    source_conversations: tuple[str, ...] = ()

    @classmethod
    def of_run(cls, source: str, llm, prompt, run_id: str, **origin) -> Provenance:
        """Who wrote a row: this run's model and prompt, now; `origin` adds the day and conversations it came from."""
        return cls(
            source=source,
            model=llm.model_id,
            prompt_name=prompt.name,
            prompt_version=prompt.version,
            generated_at=datetime.now(UTC),
            run_id=run_id,
            **origin,
        )


def without_near_duplicates(
    records: list[dict], vectors: np.ndarray, existing: np.ndarray, threshold: float
) -> tuple[list[dict], int]:
    """The records whose vectors are not near-duplicates (of each other or of `existing`); and how many were."""
    keep = novel_mask(vectors, existing, threshold)
    return [record for record, ok in zip(records, keep, strict=True) if ok], int((~keep).sum())


def insight_id(topic_id: str, text: str) -> str:
    """Stable across runs: the same topic and wording always give the same id."""
    digest = hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:16]
    return f"{topic_id}-{digest}"


def search_text(topic: Topic, insight: CulturalInsight) -> str:
    triggers = [trigger for language in TRIGGER_LANGUAGES for trigger in getattr(insight.triggers, language)]
    return " ".join([f"{topic.name}.", insight.insight, *triggers])


def insight_fields(topic: Topic, insight: CulturalInsight) -> InsightColumns:
    """The columns every table of insights shares (the knowledge base, findings, learned lessons)."""
    triggers: dict[str, Any] = {
        column: list(getattr(insight.triggers, language))
        for column, language in zip(TRIGGER_COLUMNS, TRIGGER_LANGUAGES, strict=True)
    }
    return InsightColumns(
        topic_id=topic.id,
        topic=topic.name,
        category=topic.category,
        insight=insight.insight,
        guidance=insight.guidance,
        **triggers,
        tone_tags=list(dict.fromkeys(insight.tone_tags)),
        search_text=search_text(topic, insight),
    )


def insight_record(topic: Topic, insight: CulturalInsight, provenance: Provenance, vector: list[float]) -> dict:
    """A row of the knowledge base; `vector`: the embedding of its search_text."""
    return InsightRow(
        id=insight_id(topic.id, insight.insight),
        content=insight_fields(topic, insight),
        source=provenance.source,
        model=provenance.model,
        prompt_name=provenance.prompt_name,
        prompt_version=provenance.prompt_version,
        generated_at=provenance.generated_at,
        run_id=provenance.run_id,
        source_date=provenance.source_date,
        source_conversations=list(provenance.source_conversations),
        vector=vector,
    ).to_columns()


def closest_existing(vectors: np.ndarray, existing: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Each vector's cosine similarity to its closest existing vector (-1 when there is none); unit vectors."""
    best = np.full(len(vectors), -1.0, dtype=np.float32)
    for start in range(0, len(existing), chunk):
        best = np.maximum(best, (vectors @ existing[start : start + chunk].T).max(axis=1))
    return best


def novel_mask(vectors: np.ndarray, existing: np.ndarray, threshold: float, chunk: int = 4096) -> np.ndarray:
    """True for each vector whose cosine similarity to every earlier kept vector and every existing one is below threshold.

    Vectors are unit length, so a dot product is the cosine.
    """
    keep = np.zeros(len(vectors), dtype=bool)
    if len(vectors) == 0:
        return keep
    best_existing = closest_existing(vectors, existing, chunk)
    kept: list[int] = []
    for index, vector in enumerate(vectors):
        if best_existing[index] >= threshold:
            continue
        if kept and float((vectors[kept] @ vector).max()) >= threshold:
            continue
        kept.append(index)
        keep[index] = True
    return keep


@dataclass(frozen=True)
class Audit:
    name: str
    passed: bool
    description: str
    metadata: dict


def audit_batch(
    rows: pa.Table,
    *,
    expected_schema: pa.Schema,
    generated: int,
    passed: int,
    duplicates: int,
    min_pass_share: float,
    max_duplicate_rate: float,
) -> list[Audit]:
    """The blocking checks on the rows a run is about to publish for one category.

    generated: schema-valid insights LLAMA wrote; passed: those the truth gate let through; duplicates: passed ones
    dropped as near-duplicates of each other or of what is already published (the curated base included).
    """
    pass_share = passed / generated if generated else 0.0
    duplicate_rate = duplicates / passed if passed else 0.0
    schema_problems = [
        f"{field.name}: expected {field.type}, got {rows.schema.field(field.name).type}"
        if field.name in rows.schema.names
        else f"{field.name}: missing"
        for field in expected_schema
        if field.name not in rows.schema.names or rows.schema.field(field.name).type != field.type
    ]
    empty = _empty_text_rows(rows)
    return [
        Audit(
            "truth_gate_pass_share",
            passed=pass_share >= min_pass_share,
            description=f"{passed} of {generated} generated insights passed the truth gate ({pass_share:.0%}; "
            f"floor {min_pass_share:.0%})",
            metadata={"passed": passed, "generated": generated, "pass_share": round(pass_share, 4)},
        ),
        Audit(
            "schema_valid",
            passed=not schema_problems,
            description="matches the store schema" if not schema_problems else "; ".join(schema_problems),
            metadata={"problems": len(schema_problems)},
        ),
        Audit(
            "no_empty_text",
            passed=not empty,
            description="every row has insight, guidance and triggers in id/en/it"
            if not empty
            else f"rows with empty text: {', '.join(empty[:5])}",
            metadata={"empty_rows": len(empty)},
        ),
        Audit(
            "duplicate_rate",
            passed=duplicate_rate <= max_duplicate_rate,
            description=f"{duplicates} of {passed} vetted insights were near-duplicates "
            f"({duplicate_rate:.0%}; ceiling {max_duplicate_rate:.0%})",
            metadata={"duplicates": duplicates, "passed": passed, "rate": round(duplicate_rate, 4)},
        ),
    ]


def _empty_text_rows(rows: pa.Table) -> list[str]:
    if "id" not in rows.schema.names:
        return []
    records = rows.select([c for c in ("id", *TEXT_COLUMNS, *TRIGGER_COLUMNS) if c in rows.schema.names]).to_pylist()
    empty = []
    for record in records:
        texts_blank = any(not str(record.get(column) or "").strip() for column in TEXT_COLUMNS if column in record)
        triggers_blank = any(
            not [t for t in (record.get(column) or []) if t and str(t).strip()]
            for column in TRIGGER_COLUMNS
            if column in record
        )
        if texts_blank or triggers_blank:
            empty.append(record["id"])
    return empty
