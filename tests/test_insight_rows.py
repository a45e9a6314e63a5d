"""Dedup and the blocking audits, on hand-made good and bad batches."""

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiwa.catalogue.topics import Topic
from jiwa.domain.insights import CulturalInsight
from jiwa.knowledge.insight_rows import Provenance, audit_batch, insight_id, insight_record, novel_mask
from jiwa.store.schema import insights_schema

TOPICS = [
    Topic(id="maaf", category="phrases", name="maaf", description="sorry, said often"),
    Topic(id="permisi", category="phrases", name="permisi", description="excuse me, politely"),
]
SCHEMA = insights_schema("all-MiniLM-L6-v2", 4)
VECTOR = [1.0, 0.0, 0.0, 0.0]
PROVENANCE = Provenance("llama_offline", "m", "cultural_insight", "3", datetime.now(UTC), "run")


def _insight(text: str) -> CulturalInsight:
    return CulturalInsight(
        insight=text,
        guidance="Answer gently and give one clear next step.",
        triggers={"id": ["maaf ya"], "en": ["sorry"], "it": ["scusa"]},
        tone_tags=["warm"],
    )


def _rows(records):
    return pa.Table.from_pylist(records, schema=SCHEMA)


def _audit(rows, generated=2, passed=2, duplicates=0):
    audits = audit_batch(
        rows,
        expected_schema=SCHEMA,
        generated=generated,
        passed=passed,
        duplicates=duplicates,
        min_pass_share=0.5,
        max_duplicate_rate=0.5,
    )
    return {audit.name: audit for audit in audits}


GOOD = [
    insight_record(TOPICS[0], _insight("Maaf shows humility in nearly every request."), PROVENANCE, VECTOR),
    insight_record(TOPICS[1], _insight("Permisi asks permission before passing or entering."), PROVENANCE, VECTOR),
]


def test_good_batch_passes_every_audit():
    assert all(audit.passed for audit in _audit(_rows(GOOD)).values())


def test_empty_text_fails():
    bad = [dict(GOOD[0], guidance="  "), dict(GOOD[1], triggers_it=[])]
    audit = _audit(_rows(bad))["no_empty_text"]
    assert not audit.passed and audit.metadata["empty_rows"] == 2


def test_a_low_truth_gate_pass_share_fails():
    audit = _audit(_rows(GOOD[:1]), generated=4, passed=1)["truth_gate_pass_share"]
    assert not audit.passed and "1 of 4" in audit.description and audit.metadata["pass_share"] == 0.25


def test_duplicate_rate_above_ceiling_fails():
    assert not _audit(_rows(GOOD), generated=10, passed=10, duplicates=8)["duplicate_rate"].passed


def test_wrong_schema_fails():
    rows = _rows(GOOD).drop_columns(["guidance"]).append_column("guidance", pa.array([1, 2]))
    audit = _audit(rows)["schema_valid"]
    assert not audit.passed and "guidance" in audit.description


def test_ids_are_stable_and_ignore_case_and_spacing():
    assert insight_id("maaf", "Maaf  shows humility") == insight_id("maaf", "maaf shows humility")
    assert insight_id("maaf", "a b") != insight_id("permisi", "a b")


def test_novel_mask_drops_near_duplicates_within_batch_and_against_existing():
    vectors = np.array([[1, 0, 0], [0.999, 0.04, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    existing = np.array([[0, 0, 1]], dtype=np.float32)
    assert novel_mask(vectors, existing, threshold=0.95).tolist() == [True, False, True, False]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.floats(-1, 1, allow_nan=False), min_size=3, max_size=3), min_size=1, max_size=20))
def test_kept_vectors_are_pairwise_below_threshold(raw):
    vectors = np.array(raw, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors[norms[:, 0] > 1e-3] / norms[norms[:, 0] > 1e-3]
    kept = vectors[novel_mask(vectors, np.zeros((0, 3), np.float32), threshold=0.9)]
    if len(kept) > 1:
        similarity = kept @ kept.T
        np.fill_diagonal(similarity, -1)
        assert similarity.max() < 0.9
    assert len(vectors) == 0 or len(kept) >= 1


@pytest.mark.parametrize("threshold", [0.5, 0.99])
def test_empty_batch_keeps_nothing(threshold):
    assert novel_mask(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), threshold).size == 0
