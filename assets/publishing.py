"""The vetted publish every auditing asset ends with: its blocking checks passed, so it commits; or it holds.

A held batch is never committed, so readers keep the last good version, and the materialization says so in its
`published` metadata (the UI shows it; `pipelines.bootstrap` reads it back through `was_held` to find what to redo).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

# The metadata key that says whether a materialization's rows were committed: kept as is for the UI and old runs.
PUBLISHED = "published"
NOTHING_NEW = "nothing new to publish"


@dataclass(frozen=True)
class Publication:
    """What one vetted publish did: committed (with what the commit reported) or held, and why."""

    published: bool
    metadata: Mapping[str, Any]
    check_results: tuple[dg.AssetCheckResult, ...]
    table_version: int | None = None
    held_because: str | None = None

    def result(self) -> dg.MaterializeResult:
        """The materialization: the asset's metadata, `published`, then whatever the commit reported."""
        return dg.MaterializeResult(metadata=dict(self.metadata), check_results=list(self.check_results))


def publish(
    context: dg.AssetExecutionContext,
    what: str,
    metadata: Mapping[str, Any],
    checks: Sequence[dg.AssetCheckResult],
    commit: Callable[[], Mapping[str, Any]],
    *,
    blocking: Collection[str] | None = None,
    nothing_new: bool = False,
) -> Publication:
    """Audit, then commit or hold: `commit` (the upsert, tag, optimize) runs only if every blocking check passed
    (`blocking`: the names of those that block; all of them when None) and, unless `nothing_new`, there is something
    to commit. What `commit` returns (its table version, row counts) joins the metadata after `published`."""
    failed = [c for c in checks if not c.passed and (blocking is None or c.check_name in blocking)]
    if failed:
        because = "; ".join(f"{c.check_name}: {c.description}" for c in failed)
        context.log.error("Not publishing %s: %s", what, because)
        return hold(metadata, checks, because)
    if nothing_new:
        context.log.info("Not publishing %s: %s", what, NOTHING_NEW)
        return hold(metadata, checks, NOTHING_NEW)
    committed = dict(commit())
    version = committed.get("table_version")
    return Publication(
        published=True,
        metadata={**metadata, PUBLISHED: True, **committed},
        check_results=tuple(checks),
        table_version=version if isinstance(version, int) else None,
    )


def hold(metadata: Mapping[str, Any], checks: Sequence[dg.AssetCheckResult], because: str) -> Publication:
    """A batch not committed: readers keep the last good version; the metadata says `published: False`."""
    return Publication(
        published=False,
        metadata={**metadata, PUBLISHED: False},
        check_results=tuple(checks),
        held_because=because,
    )


def was_held(metadata: Mapping[str, dg.MetadataValue]) -> bool:
    """Whether a materialization's rows were held, read back from its metadata; an asset with no gate never is."""
    published = metadata.get(PUBLISHED)
    return published is not None and not published.value
