"""A JSON output written around what its schema fixes (jump-forward decoding).

An object schema with known keys fixes much of its output: braces, keys, separators and the quotes around strings,
about two fifths of an insight's tokens. Decoded one at a time, each of those tokens costs a forward pass of its
own; appended to the prompt instead, a run of them is evaluated in one batch. `walk` gives that fixed text as it
comes (`str`) and asks the model (`Choice`) only for what it decides: a string's text, an enum's value, whether a
list goes on, whether an optional key follows and which, whether a list that may be empty has a first item.

Each choice ends where the model itself would end it: a string at its closing quote, a key's name at its quote,
and an integer (walked only as a list's item) at the "," or "]" after it. Asked for an integer with nothing after
it in its grammar, SmolLM2 went on writing digits. A schema with parts the walk cannot end that way (a number
alone, a bounded one, a pattern) is not `walkable`, and is written whole, under one grammar.

The result obeys the same schema as a grammar for the whole output would make it obey, with two narrowings: the
whitespace is fixed (compact; required keys first, then the optional ones, each in the schema's order, as
llama.cpp's grammar orders them), and a string's text holds no escaped double quote, so that the first `"` ends it.
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


def _part(schema: dict[str, Any], defs: dict[str, Any], *, item: bool = False) -> str | None:
    """Which kind of part `schema` is to the walk, or None when it (or a part of it) is not walkable. An integer is
    walkable as a list's item only, where the model ends it with the list's own "," or "]"."""
    schema = _resolve(schema, defs)
    kind = schema.get("type")
    if "const" in schema:
        return "const"
    if "enum" in schema:
        return "enum" if schema["enum"] and all(isinstance(value, str) for value in schema["enum"]) else None
    if kind == "string":
        return None if {"pattern", "format"} & schema.keys() else "string"
    if kind == "integer":
        return "integer" if item and not {"minimum", "maximum", "multipleOf"} & schema.keys() else None
    if kind == "object":
        properties = schema.get("properties", {})
        fits = (
            properties
            and not schema.get("additionalProperties", True)
            and set(schema.get("required", ())) <= set(properties)
            and all(
                _part(value if name in schema.get("required", ()) else _present(value), defs)
                for name, value in properties.items()
            )
        )
        return "object" if fits else None
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, dict):
            return None
        part = _part(items, defs, item=True)
        # An empty list is told from a first item by the item's first character, which an integer does not fix.
        return "array" if part and (schema.get("minItems", 0) >= 1 or part != "integer") else None
    return None


def _present(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional key's value when it is written: `X | None` is X, since leaving the key out says none."""
    options = [option for option in schema.get("anyOf", ()) if option.get("type") != "null"]
    return options[0] if len(options) == 1 and len(schema["anyOf"]) == 2 else schema


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
        yield from _object(schema["properties"], set(schema.get("required", ())), defs)
    else:
        yield from _array(schema["items"], schema.get("minItems", 0), schema.get("maxItems"), defs)


def _enum(values: list[str]) -> Walk:
    if len(values) == 1:
        yield json.dumps(values[0], ensure_ascii=False)
        return
    yield '"'
    yield Choice(grammar=_options_grammar([json.dumps(value, ensure_ascii=False)[1:-1] for value in values]), stop='"')
    yield '"'


def _object(properties: dict[str, Any], required: set[str], defs: dict[str, Any]) -> Walk:
    """Required keys first, then any of the optional ones in order, as llama.cpp's grammar for the schema has it:
    after each key the model says whether another follows, then which."""
    yield "{"
    written = 0
    for name in [name for name in properties if name in required]:
        yield (", " if written else "") + json.dumps(name, ensure_ascii=False) + ": "
        yield from _value(properties[name], defs)
        written += 1
    optional = [name for name in properties if name not in required]
    while optional:
        go_on = _gbnf_literal("," if written else '"')
        if (yield Choice(grammar=f'root ::= {go_on} | "}}"', max_tokens=1)) == "}":
            return
        yield ' "' if written else ""
        chosen = yield Choice(grammar=_options_grammar(optional), stop='"')
        assert chosen in optional
        yield '": '
        yield from _value(_present(properties[chosen]), defs)
        written += 1
        optional = optional[optional.index(chosen) + 1 :]
    yield "}"


def _array(items: dict[str, Any], min_items: int, max_items: int | None, defs: dict[str, Any]) -> Walk:
    if _part(items, defs, item=True) == "integer":
        yield from _integers(min_items, max_items)
        return
    yield "["
    if min_items == 0:
        first = next(_value(items, defs))
        assert isinstance(first, str) and first  # an object's "{" or a string's '"' (see _part)
        if (yield Choice(grammar=f'root ::= "]" | {_gbnf_literal(first[0])}', max_tokens=1)) == "]":
            return
        yield from _after_first_character(_value(items, defs))
    else:
        yield from _value(items, defs)
    written = 1
    while max_items is None or written < max_items:
        if written < min_items:
            yield ", "
        elif (yield _GO_ON_OR_CLOSE) == "]":
            return
        else:
            yield " "
        yield from _value(items, defs)
        written += 1
    yield "]"


def _integers(min_items: int, max_items: int | None) -> Walk:
    """A list of integers: each written with the "," or "]" after it, which is how the model ends a number."""
    yield "["
    written = 0
    while True:
        written += 1
        last = max_items is not None and written >= max_items
        ends = '"]"' if last else '","' if written < min_items else '"," | "]"'
        number = yield Choice(grammar=f'root ::= "-"? ("0" | [1-9] [0-9]{{0,15}}) ({ends})')
        if number is None or number.endswith("]"):
            return
        yield " "


def _after_first_character(steps: Walk) -> Walk:
    """`steps` without the first character of its first fixed text, which a choice already wrote."""
    first = next(steps)
    assert isinstance(first, str)
    if first[1:]:
        yield first[1:]
    yield from steps  # resumes it with the send(None) its first fixed text is waiting for


def _options_grammar(options: list[str]) -> str:
    """One of `options`, followed by the closing quote that ends the choice."""
    return "root ::= " + " | ".join(_gbnf_literal(option + '"') for option in options)


def _string_grammar(min_length: int, max_length: int | None) -> str:
    upper = "" if max_length is None else str(max_length)
    return f'root ::= char{{{min_length},{upper}}} "\\""\nchar ::= {_STRING_CHAR}'


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema
