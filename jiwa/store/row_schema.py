"""A table's Arrow schema, derived from its row class (jiwa.domain.rows), so its columns are written once."""

from __future__ import annotations

import types
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pyarrow as pa
from pydantic.fields import FieldInfo

from jiwa.domain.rows.columns import Embedding, Row, Wide

_SCALARS = {
    str: pa.string(),
    int: pa.int32(),
    float: pa.float64(),
    bool: pa.bool_(),
    datetime: pa.timestamp("us", tz="UTC"),
}


def row_schema(
    row: type[Row], *, dimension: int | None = None, metadata: dict[bytes, bytes] | None = None
) -> pa.Schema:
    """`dimension`: the length of the embedder's vectors, for a row that holds one."""
    return pa.schema([_column(name, field, dimension) for name, field in row.column_fields()], metadata=metadata)


def _column(name: str, field: FieldInfo, dimension: int | None) -> pa.Field:
    annotation, nullable = _without_none(field.annotation)
    return pa.field(name, _arrow_type(annotation, list(field.metadata), dimension), nullable=nullable)


def _without_none(annotation: Any) -> tuple[Any, bool]:
    """X | None is a nullable column of X; every other column refuses nulls."""
    if get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation):
        (kept,) = [arg for arg in get_args(annotation) if arg is not type(None)]
        return kept, True
    return annotation, False


def _arrow_type(annotation: Any, markers: list[Any], dimension: int | None) -> pa.DataType:
    if get_origin(annotation) is Annotated:
        annotation, *more = get_args(annotation)
        markers = [*markers, *more]
    if any(isinstance(marker, Embedding) for marker in markers):
        if dimension is None:
            raise ValueError("a row with a vector needs the embedder's dimension")
        return pa.list_(pa.float32(), dimension)
    if any(isinstance(marker, Wide) for marker in markers):
        return pa.int64()
    if get_origin(annotation) is Literal:
        return pa.string()
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return pa.list_(_arrow_type(item, [], dimension))
    return _SCALARS[annotation]
