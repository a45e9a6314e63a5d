"""Markdown previews for materialization metadata: one table builder for every asset."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from jiwa.markdown import table


def markdown_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    limit: int | None = None,
    cell_chars: int | None = None,
    empty: str | None = None,
) -> dg.MetadataValue:
    """A Markdown table as Dagster metadata (jiwa.markdown.table)."""
    return dg.MetadataValue.md(table(headers, rows, limit=limit, cell_chars=cell_chars, empty=empty))
