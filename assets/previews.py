"""Markdown previews for materialization metadata: one table builder for every asset."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg


def markdown_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    limit: int | None = None,
    cell_chars: int | None = None,
    empty: str | None = None,
) -> dg.MetadataValue:
    """A Markdown table; cells are flattened to one line, and a `|` inside a cell cannot break the table.

    With no rows: `empty` when given, else the header alone.
    """
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for index, row in enumerate(rows):
        if limit is not None and index >= limit:
            break
        cells = [" ".join(str("" if cell is None else cell).split()).replace("|", "/") for cell in row]
        lines.append("| " + " | ".join(cell[:cell_chars] if cell_chars else cell for cell in cells) + " |")
    return dg.MetadataValue.md(empty if empty is not None and len(lines) == 2 else "\n".join(lines))
