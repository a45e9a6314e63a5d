"""A JSON output written around what its schema fixes (jump-forward decoding).

An object schema with known keys fixes much of its output: braces, keys, separators and the quotes around strings,
about two fifths of an insight's tokens. Decoded one at a time, each of those tokens costs a forward pass of its
own; appended to the prompt instead, a run of them is evaluated in one batch. `walk` gives that fixed text as it
comes (`str`) and asks the model (`Choice`) only for what it decides: a string's text, an enum's value, whether a
list goes on.

Only schemas made of those parts are walked (`walkable`): objects whose every key is required, strings, string
enums, lists of at least one item. A part the model must end by itself, without a closing quote (an integer, a
number), or may leave out (an optional key, an empty list), reads differently to a small model once its end is
not the next token it expects: asked for an integer alone, SmolLM2 went on writing digits. Such a schema is
written whole, under one grammar.

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
    """A part of the output the model writes, under `grammar` (GBNF). `stop` is the text that ends it: it is not part
    of what the model is asked for, and the walk gives it back as fixed text. `max_tokens` bounds a choice whose
    every option is one character (one token)."""

    grammar: str
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


def walkable(schema: dict[str, Any]) -> bool:
    """Whether `walk` can write every part of `schema` (see the module's docstring)."""
    return _part(schema, schema.get("$defs", {})) is not None


def walk(schema: dict[str, Any]) -> Walk:
    """The output of a walkable `schema`, as fixed text and choices; send each choice the text the model wrote."""
    defs = schema.get("$defs", {})
    if _part(schema, defs) is None:
        raise ValueError("the schema has parts the walk does not write; write it whole, under one grammar")
    yield from _value(schema, defs)


def _part(schema: dict[str, Any], defs: dict[str, Any]) -> str | None:
    """Which kind of part `schema` is to the walk, or None when it (or a part of it) is not walkable."""
    schema = _resolve(schema, defs)
    kind = schema.get("type")
    if "const" in schema:
        return "const"
    if "enum" in schema:
        return "enum" if schema["enum"] and all(isinstance(value, str) for value in schema["enum"]) else None
    if kind == "string":
        return None if {"pattern", "format"} & schema.keys() else "string"
    if kind == "object":
        properties = schema.get("properties", {})
        closed = not schema.get("additionalProperties", True) and set(schema.get("required", ())) == set(properties)
        fits = closed and properties and all(_part(value, defs) for value in properties.values())
        return "object" if fits else None
    if kind == "array":
        items = schema.get("items")
        fits = isinstance(items, dict) and schema.get("minItems", 0) >= 1 and _part(items, defs)
        return "array" if fits else None
    return None


def _value(schema: dict[str, Any], defs: dict[str, Any]) -> Walk:
    schema = _resolve(schema, defs)
    part = _part(schema, defs)
    if part == "const":
        yield json.dumps(schema["const"], ensure_ascii=False)
    elif part == "enum":
        yield from _enum(schema["enum"])
    elif part == "string":
        yield '"'
        yield Choice(grammar=_string_grammar(schema.get("minLength", 0), schema.get("maxLength")), stop='"')
        yield '"'
    elif part == "object":
        yield from _object(schema["properties"], defs)
    else:
        yield from _array(schema["items"], schema["minItems"], schema.get("maxItems"), defs)


def _enum(values: list[str]) -> Walk:
    if len(values) == 1:
        yield json.dumps(values[0], ensure_ascii=False)
        return
    yield '"'
    options = " | ".join(_gbnf_literal(json.dumps(value, ensure_ascii=False)[1:-1] + '"') for value in values)
    yield Choice(grammar=f"root ::= {options}", stop='"')
    yield '"'


def _object(properties: dict[str, Any], defs: dict[str, Any]) -> Walk:
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
