"""An in-memory snapshot of the insights table for request-time retrieval: exact cosine plus BM25, fused by rank.

At the knowledge base's size (thousands to about a hundred thousand rows) a NumPy scan is faster than a
LanceDB query, which costs several milliseconds of fixed overhead (see bench/retrieval.py). The snapshot is
built from one committed table version, so a reader never sees a half-written state.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jiwa.domain.status import APPROVED, EARNED, SERVED_SOURCES
from jiwa.store.insights import InsightHit

_TOKEN = re.compile(r"\w+", re.UNICODE)
_RRF_K = 60
_BM25_K1, _BM25_B = 1.2, 0.75
# A topic holds several insights that say related things; the responder is better served by several topics.
PER_TOPIC = 1
SNAPSHOT_COLUMNS = ["id", "topic", "category", "insight", "guidance", "tone_tags", "search_text", "vector"]
# A row every tenant may be served; a learned row earned by one tenant carries that tenant instead.
EVERY_TENANT = ""


@dataclass(frozen=True)
class Relevance:
    """Which of the best hits are close enough to send: a hit's cosine must reach `min_similarity` and lie within
    `max_gap` of the best hit's. Rank fusion alone always returns k hits, however weak the last ones; these bounds,
    tuned on the team's evaluation set for the default embedder, let a message get fewer."""

    min_similarity: float = -1.0
    max_gap: float = 2.0


EVERY_HIT = Relevance()


def tokens(text: str) -> list[str]:
    return [token for token in _TOKEN.findall(text.lower()) if len(token) > 1]


@dataclass(frozen=True)
class _Postings:
    rows: np.ndarray
    weights: np.ndarray


class MemoryIndex:
    def __init__(
        self,
        records: list[dict],
        vectors: np.ndarray,
        version,
        scopes: list[str] | None = None,
        withheld: dict[str, frozenset[str]] | None = None,
    ) -> None:
        self.version = version
        self.size = len(records)
        self._scopes = np.asarray(scopes if scopes is not None else [EVERY_TENANT] * len(records), dtype=object)
        self._ids = np.asarray([r["id"] for r in records], dtype=object)
        self._withheld = withheld or {}
        self._scoped = bool((self._scopes != EVERY_TENANT).any()) or bool(self._withheld)
        self._allowed: dict[str | None, np.ndarray] = {}
        self._hits = [
            InsightHit(
                r["id"], r["topic"], r["category"], r["insight"], r["guidance"], tuple(r["tone_tags"] or ()), 0.0
            )
            for r in records
        ]
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._postings = self._build_postings([r["search_text"] for r in records])

    @classmethod
    def from_table(cls, table) -> MemoryIndex:
        """The served rows of one committed version: the curated base and what passed the truth gate."""
        return cls.from_tables(table)

    @classmethod
    def from_tables(
        cls, insights, learned=None, withheld: dict[str, frozenset[str]] | None = None, version=None
    ) -> MemoryIndex:
        """The knowledge base's served rows, plus learned lessons that are earned (scoped to their tenant) or
        approved (for every tenant); what a tenant's feedback withheld is left out for that tenant."""
        arrow = insights.to_arrow()
        arrow = arrow.filter(pc.is_in(arrow.column("source"), pa.array(SERVED_SOURCES))).select(SNAPSHOT_COLUMNS)
        scopes = [EVERY_TENANT] * arrow.num_rows
        if learned is not None:
            lessons = learned.to_arrow()
            lessons = lessons.filter(pc.is_in(lessons.column("status"), pa.array([EARNED, APPROVED])))
            scopes += [
                EVERY_TENANT if status == APPROVED else tenant
                for status, tenant in zip(
                    lessons.column("status").to_pylist(), lessons.column("tenant").to_pylist(), strict=True
                )
            ]
            arrow = pa.concat_tables([arrow, lessons.select(SNAPSHOT_COLUMNS).cast(arrow.schema)])
        vectors = np.asarray(arrow.column("vector").combine_chunks().flatten(), dtype=np.float32)
        dimension = arrow.schema.field("vector").type.list_size
        records = arrow.drop_columns(["vector"]).to_pylist()
        return cls(records, vectors.reshape(len(records), dimension), version or insights.version, scopes, withheld)

    def allowed(self, tenant: str | None) -> np.ndarray | None:
        """Rows this tenant may be served: every tenant's rows and its own, less what its feedback withheld; None
        when every row may be served to everyone."""
        if not self._scoped:
            return None
        if tenant not in self._allowed:
            mask = (self._scopes == EVERY_TENANT) | (self._scopes == tenant)
            withheld = self._withheld.get(tenant or "")
            if withheld:
                mask &= ~np.isin(self._ids, list(withheld))
            self._allowed[tenant] = mask
        return self._allowed[tenant]

    def _build_postings(self, texts: list[str]) -> dict[str, _Postings]:
        lengths = np.zeros(len(texts), dtype=np.float32)
        frequencies: dict[str, dict[int, int]] = defaultdict(dict)
        for row, text in enumerate(texts):
            row_tokens = tokens(text)
            lengths[row] = len(row_tokens)
            for token in row_tokens:
                frequencies[token][row] = frequencies[token].get(row, 0) + 1
        average = float(lengths.mean()) if len(texts) else 1.0
        postings = {}
        for token, by_row in frequencies.items():
            rows = np.fromiter(by_row.keys(), dtype=np.int64, count=len(by_row))
            tf = np.fromiter(by_row.values(), dtype=np.float32, count=len(by_row))
            idf = math.log(1 + (len(texts) - len(rows) + 0.5) / (len(rows) + 0.5))
            norm = tf + _BM25_K1 * (1 - _BM25_B + _BM25_B * lengths[rows] / max(average, 1e-6))
            postings[token] = _Postings(rows, idf * tf * (_BM25_K1 + 1) / norm)
        return postings

    def _vector_ranking(self, query: np.ndarray, depth: int, allowed: np.ndarray | None) -> np.ndarray:
        scores = self._vectors @ query
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        depth = min(depth, self.size)
        top = np.argpartition(-scores, depth - 1)[:depth]
        top = top[np.argsort(-scores[top])]
        return top if allowed is None else top[allowed[top]]

    def _text_ranking(self, message: str, depth: int, allowed: np.ndarray | None) -> np.ndarray:
        matched = [self._postings[token] for token in set(tokens(message)) if token in self._postings]
        if not matched:
            return np.zeros(0, dtype=np.int64)
        scores = np.zeros(self.size, dtype=np.float32)
        for postings in matched:
            scores[postings.rows] += postings.weights  # rows are unique within one token's postings
        if allowed is not None:
            scores[~allowed] = 0.0
        candidates = np.flatnonzero(scores)
        depth = min(depth, len(candidates))
        top = candidates[np.argpartition(-scores[candidates], depth - 1)[:depth]]
        return top[np.argsort(-scores[top])]

    def search(
        self,
        query_vector: np.ndarray,
        message: str,
        k: int = 5,
        per_topic: int = PER_TOPIC,
        tenant: str | None = None,
        relevance: Relevance = EVERY_HIT,
    ) -> list[InsightHit]:
        """Reciprocal-rank fusion of the exact vector ranking and the BM25 ranking, at most per_topic hits a topic,
        over the rows the tenant may be served (without a tenant: the rows every tenant may be served), less the
        hits `relevance` finds too far from the message."""
        if self.size == 0:
            return []
        depth = max(k * 8, 40)
        allowed = self.allowed(tenant)
        fused: dict[int, float] = defaultdict(float)
        rankings = (self._vector_ranking(query_vector, depth, allowed), self._text_ranking(message, depth, allowed))
        for ranking in rankings:
            for rank, row in enumerate(ranking.tolist()):
                fused[row] += 1.0 / (_RRF_K + rank + 1)
        best: list[int] = []
        taken: defaultdict[str, int] = defaultdict(int)
        for row in sorted(fused, key=fused.__getitem__, reverse=True):
            topic = self._hits[row].topic
            if taken[topic] < per_topic:
                taken[topic] += 1
                best.append(row)
            if len(best) == k:
                break
        if best:
            similarity = self._vectors[best] @ query_vector
            floor = max(relevance.min_similarity, float(similarity.max()) - relevance.max_gap)
            # The row that shares most of the message's own words stays, however far its vector: "aku malu" names
            # the aku_malu topic even where the embedding misses it.
            lexical = rankings[1][0] if len(rankings[1]) else -1
            best = [
                row for row, close in zip(best, (similarity >= floor).tolist(), strict=True) if close or row == lexical
            ]
        return [self._with_score(self._hits[row], fused[row]) for row in best]

    @staticmethod
    def _with_score(hit: InsightHit, score: float) -> InsightHit:
        return InsightHit(hit.id, hit.topic, hit.category, hit.insight, hit.guidance, hit.tone_tags, score)
