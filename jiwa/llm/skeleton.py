"""A JSON output written around what its schema fixes (jump-forward decoding).

An object schema with known keys fixes much of its output: braces, keys, separators and the quotes around strings,
about two fifths of an insight's tokens. Decoded one at a time, each of those tokens costs a forward pass of its
own; appended to the prompt instead, a run of them is evaluated in one batch. `walk` gives that fixed text as it
comes (`str`) and asks the model (`Choice`) only for what it decides: a string's text, an enum's value, whether a
list goes on, and, through a grammar for that part alone, anything this walk does not take apart.

The result obeys the same schema as a grammar for the whole output would make it obey, with two narrowings: the
whitespace is fixed (compact, keys in the schema's order), and a string's text holds no escaped double quote, so
that the first `"` ends it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

# A JSON string's characters, less the escaped quote (see the module's docstring).
_STRING_CHAR = r'[^"\\\x7F\x00-\x1F] | "\\" ([\\/bfnrt] | "u" [0-9a-fA-F]{4})'


@dataclass(frozen=True)
class Choice:
    """A part of the output the model writes.

    `grammar` is GBNF for it, or None with `schema` set: a grammar for that JSON schema. `stop` is the text that ends
    it: it is not part of what the model is asked for, and the walk gives it back as fixed text. `max_tokens` bounds
    a choice whose every option is one character (one token)."""

    grammar: str | None = None
    schema: dict[str, Any] | None = None
    stop: str | None = None
    max_tokens: int | None = None


Walk = Generator[str | Choice, str | None, None]

_GO_ON_OR_CLOSE = Choice(grammar='root ::= "," | "]"', max_tokens=1)


def write(schema: dict[str, Any], choose: Callable[[str, Choice], tuple[str, bool]]) -> str:
    """The output of `schema`: its fixed text, and for each choice what `choose(text so far, choice)` writes. A choice
    it reports unfinished (cut short) ends the output there."""
    text = ""
    steps = walk(schema)
    try:
        step = next(steps)
        while True:
            if isinstance(step, str):
                text += step
                step = steps.send(None)
                continue
            written, finished = choose(text, step)
            text += written
            if not finished:
                return text
            step = steps.send(written)
    except StopIteration:
        return text


def walk(schema: dict[str, Any]) -> Walk:
    """The output of `schema`, as fixed text and choices; send each choice the text the model wrote for it."""
    yield from _value(schema, schema.get("$defs", {}))


def _value(schema: dict[str, Any], defs: dict[str, Any]) -> Walk:
    schema = _resolve(schema, defs)
    kind = schema.get("type")
    if "const" in schema:
        yield json.dumps(schema["const"], ensure_ascii=False)
    elif "enum" in schema and all(isinstance(value, str) for value in schema["enum"]):
        yield from _enum(schema["enum"])
    elif kind == "string" and not {"enum", "pattern", "format"} & schema.keys():
        yield '"'
        yield Choice(grammar=_string_grammar(schema.get("minLength", 0), schema.get("maxLength")), stop='"')
        yield '"'
    elif kind == "object" and "properties" in schema and not schema.get("additionalProperties"):
        yield from _object(schema["properties"], defs)
    elif kind == "array" and isinstance(schema.get("items"), dict) and schema.get("minItems", 0) >= 1:
        yield from _array(schema["items"], schema["minItems"], schema.get("maxItems"), defs)
    else:
        yield Choice(schema=_inline(schema, defs))


def _enum(values: list[str]) -> Walk:
    if len(values) == 1:
        yield json.dumps(values[0], ensure_ascii=False)
        return
    yield '"'
    options = " | ".join(_gbnf_literal(json.dumps(value, ensure_ascii=False)[1:-1] + '"') for value in values)
    yield Choice(grammar=f"root ::= {options}", stop='"')
    yield '"'


def _object(properties: dict[str, Any], defs: dict[str, Any]) -> Walk:
    # Every property is written, optional ones too: a schema that allows a key to be left out allows it given.
    yield "{"
    for index, (name, value) in enumerate(properties.items()):
        yield ("" if index == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": "
        yield from _value(value, defs)
    yield "}"


def _array(items: dict[str, Any], min_items: int, max_items: int | None, defs: dict[str, Any]) -> Walk:
    yield "["
    written = 0
    while True:
        yield from _value(items, defs)
        written += 1
        if max_items is not None and written >= max_items:
            yield "]"
            return
        if written < min_items:
            yield ", "
            continue
        if (yield _GO_ON_OR_CLOSE) == "]":
            return
        yield " "


def _string_grammar(min_length: int, max_length: int | None) -> str:
    upper = "" if max_length is None else str(max_length)
    return f'root ::= char{{{min_length},{upper}}} "\\""\nchar ::= {_STRING_CHAR}'


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """`schema` with its references replaced by what they name, so that it stands alone."""
    if isinstance(schema, dict):
        schema = _resolve(schema, defs)
        return {key: _inline(value, defs) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [_inline(value, defs) for value in schema]
    return schema
