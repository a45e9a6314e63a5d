"""Asset checks shared by the asset families that audit their rows before they commit them."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa


def rows_match_schema(check_name: str, rows: list[dict], schema: pa.Schema) -> dg.AssetCheckResult:
    """Every row converts to the table's Arrow schema, so the commit cannot fail half-way or widen a column."""
    try:
        pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        return dg.AssetCheckResult(
            check_name=check_name, passed=False, description=f"rows do not match the table schema: {exc}"
        )
    return dg.AssetCheckResult(
        check_name=check_name, passed=True, description=f"{len(rows)} rows match the table schema"
    )


def none_of(check_name: str, offenders: list, passed: str, failed: str) -> dg.AssetCheckResult:
    """Passes when nothing offends; `failed` may use {count} and {sample} (the first five offenders)."""
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=not offenders,
        description=passed if not offenders else failed.format(count=len(offenders), sample=offenders[:5]),
    )
