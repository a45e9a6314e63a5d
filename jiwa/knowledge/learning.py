"""Learned lessons: a tenant's vetted findings grouped into candidates whose support is counted in distinct users,
and the rule that decides to whom a candidate is served.

A finding joins the candidate of its tenant and kind whose lesson it matches best, at JIWA_LEARNING_MATCH_SIMILARITY
or above; otherwise it starts one. Findings are
taken oldest first, so a candidate keeps its wording (and its id) while support accumulates across nights, and a
forgotten user's finding leaves every candidate as if it had never been written.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.fs as pafs

from jiwa.domain.rows.insights import LessonColumns
from jiwa.domain.rows.learning import LearnedRow
from jiwa.domain.status import APPROVED, CANDIDATE, EARNED, REJECTED
from jiwa.markdown import table
from jiwa.settings import LearningSettings
from jiwa.store.lance import delete_where
from jiwa.store.learned import (
    forget_reviews_of_gone_findings,
    review_decisions,
    source_versions,
    stored_findings,
    write_candidates,
)
from jiwa.store.schema import LEARNED_TABLE

REVIEW_SHEET = "learned_insights_review.md"
_REBUILD_ATTEMPTS = 5


def status_of(users: int, review: str | None, min_users: int) -> str:
    """A rejection always holds. Below the support threshold a lesson is a candidate, approved or not (a forget can
    take it back there); above it, it is approved for every tenant or earned by its own."""
    if review == REJECTED:
        return REJECTED
    if users < min_users:
        return CANDIDATE
    return APPROVED if review == APPROVED else EARNED


def served_to(status: str, owner: str, tenant: str) -> bool:
    """Approved lessons reach every tenant; earned ones only the tenant whose users taught them."""
    return status == APPROVED or (status == EARNED and owner == tenant)


def candidate_id(tenant: str, kind: str, insight: str) -> str:
    """From the lesson's own words, never from a conversation id a client knows: the id links to no one."""
    return "learned-" + hashlib.sha256(f"{tenant}\x00{kind}\x00{insight}".encode()).hexdigest()[:16]


def build_candidates(
    findings: list[dict], *, similarity: float, min_users: int, reviews: dict[str, tuple]
) -> list[dict]:
    """Candidates (rows of the learned table, vectors included) from every stored finding. `reviews` maps a
    finding's id to (decided_at, decision): a decision is kept with every finding the lesson had when it was made,
    so it survives the lesson changing its first finding (a forget, a conversation that went on another day)."""
    by_group: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for finding in findings:
        by_group[(finding["tenant"], finding["kind"])].append(finding)
    candidates = []
    for (tenant, _kind), members in sorted(by_group.items()):
        ordered = sorted(members, key=lambda f: (f["day"], f["ended_at"], f["id"]))
        vectors = np.asarray([f["vector"] for f in ordered], dtype=np.float32)
        heads = np.empty_like(vectors)
        groups: list[list[dict]] = []
        for finding, vector in zip(ordered, vectors, strict=True):
            if groups:
                scores = heads[: len(groups)] @ vector
                best = int(scores.argmax())
                if scores[best] >= similarity:
                    groups[best].append(finding)
                    continue
            heads[len(groups)] = vector
            groups.append([finding])
        candidates += [_candidate(tenant, group, min_users, reviews) for group in groups]
    return candidates


def _candidate(tenant: str, group: list[dict], min_users: int, reviews: dict[str, tuple]) -> dict:
    head = group[0]
    users = sorted({finding["user_id"] for finding in group})
    decisions = [reviews[finding["id"]] for finding in group if finding["id"] in reviews]
    review = max(decisions)[1] if decisions else None
    return LearnedRow(
        id=candidate_id(tenant, head["kind"], head["insight"]),
        tenant=tenant,
        lesson=LessonColumns.from_columns(head),
        supporting_conversations=[finding["id"] for finding in group],
        supporting_users=users,
        users=len(users),
        first_seen=head["day"],
        last_seen=max(finding["day"] for finding in group),
        status=status_of(len(users), review, min_users),
    ).to_columns()


def rebuild_learned(db, settings: LearningSettings) -> list[dict]:
    """The learned table rebuilt from every stored finding and review: after a night, a review, or a forget. The
    review sheet beside it is rewritten with it, so a forgotten user's lesson leaves the sheet too.

    Rebuilds can run at once (a night in the pipeline, a forget in a server). Each checks after its write that the
    findings and reviews it read are still the latest, and rebuilds again if not, so the last write reflects them.
    """
    for _ in range(_REBUILD_ATTEMPTS):
        read = source_versions(db)
        findings, schema = stored_findings(db)
        reviews = review_decisions(db)
        if schema is None:
            delete_where(db, LEARNED_TABLE, "true")
            candidates = []
        else:
            candidates = build_candidates(
                findings, similarity=settings.match_similarity, min_users=settings.min_users, reviews=reviews
            )
            write_candidates(db, candidates, schema).optimize()
        forget_reviews_of_gone_findings(db, {finding["id"] for finding in findings})
        write_review_sheet(review_sheet_path(db), candidates)
        if source_versions(db) == read:
            return candidates
    raise RuntimeError("findings kept changing while learned_insights was rebuilt; run it again")


def review_sheet_path(db) -> str:
    """Where analysts read the candidates' words: beside the stores (a local folder or a bucket), where forgetting
    reaches, never in Dagster."""
    uri = str(db.uri)
    return f"{uri.rstrip('/')}/{REVIEW_SHEET}" if "://" in uri else str(Path(uri).resolve() / REVIEW_SHEET)


def write_review_sheet(location: str, candidates: list[dict]) -> None:
    ranked = sorted(candidates, key=lambda c: (-c["users"], c["tenant"], c["id"]))
    sheet = table(
        ["id", "tenant", "status", "users", "kind", "topic", "insight", "guidance"],
        (
            [c["id"], c["tenant"], c["status"], c["users"], c["kind"], c["topic"], c["insight"], c["guidance"]]
            for c in ranked
        ),
        empty="No lesson learned yet.",
    )
    filesystem, path = pafs.FileSystem.from_uri(location)
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    # Object stores replace a whole object in one put; on a local disk the temporary file and rename do the same.
    temporary = path if "://" in location else f"{path}.tmp"
    with filesystem.open_output_stream(temporary) as stream:
        stream.write(f"# Learned lessons to review\n\n{sheet}\n".encode())
    if temporary != path:
        filesystem.move(temporary, path)
