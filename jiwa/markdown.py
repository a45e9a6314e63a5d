"""Markdown tables: for Dagster previews and for the sheets analysts read beside the stores."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    limit: int | None = None,
    cell_chars: int | None = None,
    empty: str | None = None,
) -> str:
    """Cells are flattened to one line, and a `|` inside a cell cannot break the table.

    With no rows: `empty` when given, else the header alone.
    """
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for index, row in enumerate(rows):
        if limit is not None and index >= limit:
            break
        cells = [" ".join(str("" if cell is None else cell).split()).replace("|", "/") for cell in row]
        lines.append("| " + " | ".join(cell[:cell_chars] if cell_chars else cell for cell in cells) + " |")
    return empty if empty is not None and len(lines) == 2 else "\n".join(lines)
