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

from jiwa.markdown import table
from jiwa.settings import LearningSettings
from jiwa.store.lance import delete_where
from jiwa.store.learned import review_decisions, stored_findings, write_candidates
from jiwa.store.schema import APPROVED, CANDIDATE, EARNED, LEARNED_TABLE, REJECTED

REVIEW_SHEET = "learned_insights_review.md"
LESSON_COLUMNS = (
    "kind",
    "topic_id",
    "topic",
    "category",
    "insight",
    "guidance",
    "triggers_id",
    "triggers_en",
    "triggers_it",
    "tone_tags",
    "search_text",
)


def status_of(users: int, review: str | None, min_users: int) -> str:
    """An analyst's decision wins; otherwise a candidate is earned once enough distinct users support it."""
    if review in (APPROVED, REJECTED):
        return review
    return EARNED if users >= min_users else CANDIDATE


def served_to(status: str, owner: str, tenant: str) -> bool:
    """Approved lessons reach every tenant; earned ones only the tenant whose users taught them."""
    return status == APPROVED or (status == EARNED and owner == tenant)


def candidate_id(tenant: str, first_finding: str) -> str:
    return "learned-" + hashlib.sha256(f"{tenant}\x00{first_finding}".encode()).hexdigest()[:16]


def build_candidates(findings: list[dict], *, similarity: float, min_users: int, reviews: dict[str, str]) -> list[dict]:
    """Candidates (rows of the learned table, vectors included) from every stored finding."""
    by_tenant: dict[str, list[dict]] = defaultdict(list)
    for finding in findings:
        by_tenant[finding["tenant"]].append(finding)
    candidates = []
    for tenant in sorted(by_tenant):
        ordered = sorted(by_tenant[tenant], key=lambda f: (f["day"], f["ended_at"], f["id"]))
        heads: list[np.ndarray] = []
        groups: list[list[dict]] = []
        for finding in ordered:
            vector = np.asarray(finding["vector"], dtype=np.float32)
            scores = np.asarray(
                [
                    head @ vector if group[0]["kind"] == finding["kind"] else -1.0
                    for head, group in zip(heads, groups, strict=True)
                ]
            )
            if len(scores) and scores.max() >= similarity:
                groups[int(scores.argmax())].append(finding)
            else:
                heads.append(vector)
                groups.append([finding])
        candidates += [_candidate(tenant, group, min_users, reviews) for group in groups]
    return candidates


def _candidate(tenant: str, group: list[dict], min_users: int, reviews: dict[str, str]) -> dict:
    head = group[0]
    identifier = candidate_id(tenant, head["id"])
    users = sorted({finding["user_id"] for finding in group})
    return {
        "id": identifier,
        "tenant": tenant,
        **{column: head[column] for column in LESSON_COLUMNS},
        "vector": head["vector"],
        "supporting_conversations": [finding["id"] for finding in group],
        "supporting_users": users,
        "users": len(users),
        "first_seen": head["day"],
        "last_seen": max(finding["day"] for finding in group),
        "status": status_of(len(users), reviews.get(identifier), min_users),
    }


def rebuild_learned(db, settings: LearningSettings) -> list[dict]:
    """The learned table rebuilt from every stored finding and review: after a night, a review, or a forget. The
    review sheet beside it is rewritten with it, so a forgotten user's lesson leaves the sheet too."""
    findings, schema = stored_findings(db)
    if schema is None:
        delete_where(db, LEARNED_TABLE, "true")
        candidates = []
    else:
        candidates = build_candidates(
            findings, similarity=settings.match_similarity, min_users=settings.min_users, reviews=review_decisions(db)
        )
        write_candidates(db, candidates, schema).optimize()
    write_review_sheet(review_sheet_path(db), candidates)
    return candidates


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
