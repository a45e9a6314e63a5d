"""What every row class shares: strict validation, the markers the Arrow schema reads, and column groups spliced into
a row where they stand, so the columns several tables share are declared once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Self, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.fields import FieldInfo


class Wide:
    """An integer that can outgrow 32 bits (a table version); every other integer column holds 32."""


class Embedding:
    """A vector of the embedder that wrote the table: its length is known when the table is opened, not here."""


WideInt = Annotated[int, Wide()]
Vector = Annotated[list[float], Embedding()]


def one_of(*words: str) -> AfterValidator:
    """A column of status words: any other word is refused where the row is built, not found later by a reader."""

    def check(word: str) -> str:
        if word not in words:
            raise ValueError(f"{word!r} is not one of {words}")
        return word

    return AfterValidator(check)


class Row(BaseModel):
    """A row of a table, its fields in column order. Strict, because Arrow truncates some wrong values quietly (1.5
    in an integer column is stored as 1) and refuses the others only when the rows are converted for the commit."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @classmethod
    def column_fields(cls) -> Iterator[tuple[str, FieldInfo]]:
        """Each column's name and field, in order, a group's columns in its place."""
        for name, field in cls.model_fields.items():
            group = _group(field)
            if group is None:
                yield name, field
            else:
                yield from group.column_fields()

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(name for name, _ in cls.column_fields())

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> Self:
        """The row from a stored row's columns (a dict from Arrow); columns the row does not declare are ignored."""
        values = {}
        for name, field in cls.model_fields.items():
            group = _group(field)
            values[name] = columns[name] if group is None else group.from_columns(columns)
        return cls(**values)

    def to_columns(self) -> dict[str, Any]:
        """The row as Arrow takes it: one key per column, in order."""
        flat: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            flat.update(value.to_columns() if isinstance(value, Row) else {name: value})
        return flat


def _group(field: FieldInfo) -> type[Row] | None:
    """The row class of a field that holds a group of columns; None for a column."""
    annotation = field.annotation
    if get_origin(annotation) is None and isinstance(annotation, type) and issubclass(annotation, Row):
        return annotation
    return None
