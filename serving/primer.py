"""The cultural primer the server sends with the responder's rules in Claude's cached prefix, and whether that prefix
is long enough for each configured model to cache it."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import anthropic
from anthropic.types import TextBlockParam

from jiwa.claude_cache import LOCAL_MARGIN, TOKENIZER, cache_minimum, count_tokens, required_local_tokens
from jiwa.settings import ClaudeSettings, Settings
from jiwa.store.lance import connect
from jiwa.store.schema import PRIMER_TABLE
from serving.published import PublishedTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrefixCount:
    """The cached prefix's tokens against one model's minimum; exact when Anthropic counted them."""

    model: str
    tokens: int
    minimum: int
    exact: bool

    @property
    def required(self) -> int:
        return self.minimum if self.exact else required_local_tokens(self.minimum)

    @property
    def cacheable(self) -> bool:
        return self.tokens >= self.required

    def describe(self) -> str:
        counted = "counted by Anthropic" if self.exact else f"a local estimate with {TOKENIZER}"
        margin = "" if self.exact else f" x {LOCAL_MARGIN} margin"
        return (
            f"{self.model}: the cached prefix (rules and primer) has {self.tokens} tokens ({counted}); it needs "
            f"{self.required} ({self.minimum}{margin})"
        )


def local_counts(settings: ClaudeSettings, rules: str, primer: str) -> list[PrefixCount]:
    tokens = count_tokens(rules) + count_tokens(primer)
    return [
        PrefixCount(model, tokens, cache_minimum(model, settings.claude_cache_min_tokens), exact=False)
        for model in settings.claude_models
    ]


def primer_text(table) -> str:
    rows = table.search().select(["text"]).limit(1).to_list()
    return rows[0]["text"] if rows else ""


def anthropic_counts(settings: Settings, api_key: str, rules: str, primer: str) -> list[PrefixCount]:
    """The prefix counted by Anthropic's count_tokens API, with a one-word message (the API needs one)."""
    client = anthropic.Anthropic(
        api_key=api_key, base_url=settings.anthropic_base_url or None, timeout=settings.claude_timeout_s
    )
    system: list[TextBlockParam] = [{"type": "text", "text": rules}, {"type": "text", "text": primer}]
    with client:
        return [
            PrefixCount(
                model,
                client.messages.count_tokens(
                    model=model, system=system, messages=[{"role": "user", "content": "."}]
                ).input_tokens,
                cache_minimum(model, settings.claude_cache_min_tokens),
                exact=True,
            )
            for model in settings.claude_models
        ]


def startup_problem(settings: Settings, rules: str) -> str | None:
    """Why the server must not start: Claude answers and a published primer, with the rules, stays below a
    configured model's cache minimum. None before the first primer: the server starts and /ready says so."""
    api_key = os.environ.get("ANTHROPIC_API_KEY")
    if not api_key or PRIMER_TABLE not in connect(settings.data_uri).table_names():
        return None
    table = PublishedTable(settings.data_uri, PRIMER_TABLE).newer_than(None)
    primer = primer_text(table) if table is not None else ""
    if not primer:
        return None
    counts = local_counts(settings, rules, primer)
    if settings.claude_count_tokens:
        try:
            counts = anthropic_counts(settings, api_key, rules, primer)
        except anthropic.AnthropicError as exc:
            log.warning("count_tokens failed (%s): the prefix is checked with the local estimate", exc)
    short = [count for count in counts if not count.cacheable]
    if not short:
        return None
    return (
        "; ".join(count.describe() for count in short)
        + ". Below it Claude caches nothing and every reply pays the full input price: rematerialize cultural_primer "
        "(it is sized for JIWA_CLAUDE_MODEL and JIWA_CLAUDE_COMPLEX_MODEL), or correct JIWA_CLAUDE_CACHE_MIN_TOKENS."
    )


class PrimerStore:
    """The latest published primer, swapped whole when a new one is published; empty before the first."""

    def __init__(self, data_uri: str, settings: ClaudeSettings, rules: str) -> None:
        self._published = PublishedTable(data_uri, PRIMER_TABLE)
        self._settings = settings
        self._rules = rules
        self.version: int | None = None
        self.text = ""
        self.counts: list[PrefixCount] = []

    def refresh(self) -> None:
        table = self._published.newer_than(self.version)
        if table is None:
            if self._published.missing:
                self.version, self.text, self.counts = None, "", []
            return
        text = primer_text(table)
        counts = local_counts(self._settings, self._rules, text)
        for count in counts:
            if not count.cacheable:
                # Claude still answers, at the full input price: the next primer or a restart fixes it.
                log.error("%s: it will not be cached; rematerialize cultural_primer", count.describe())
        self.version, self.text, self.counts = table.version, text, counts
        log.info("serving cultural_primer version %d (%d local tokens)", table.version, count_tokens(text))

    @property
    def error(self) -> str | None:
        return self._published.error

    def status(self) -> dict:
        if self._published.missing:
            return {
                "loaded": False,
                "missing": True,
                "error": f"{PRIMER_TABLE} does not exist: Claude's prefix holds the rules alone, too short to be "
                "cached. Materialize cultural_primer (python -m pipelines.bootstrap does).",
            }
        if self.version is None:
            return {"loaded": False, "missing": False, "error": self.error}
        return {
            "loaded": True,
            "missing": False,
            "version": self.version,
            "prefix_tokens": self.counts[0].tokens if self.counts else 0,
            "tokenizer": TOKENIZER,
            "cacheable": {count.model: count.cacheable for count in self.counts},
        }
