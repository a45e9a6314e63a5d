"""Whether a message leans on the conversation before it: such a message is never answered from the cache.

"and for my wife?", "e quanto costa?", "kalau untuk anak?" or "how long does it take?" mean something only after what
was said before; a pre-written answer to the words alone would answer another question. Two signals, both cheap and
conservative (a message flagged wrongly costs one Claude call, never a wrong answer): it opens with a connector, or
it refers back: with a pronoun or demonstrative, or by asking what was meant or said ("what did you mean by sponsor
there?", "maksudnya sponsor itu sy atau perusahaan?", "wait, even if the lease is notarised?"), which the answer to
the words alone would take for a first question about them.
"""

from __future__ import annotations

import re

from jiwa.catalogue.matching import MatcherSpec
from jiwa.catalogue.typos import normalize

_CONNECTORS = {
    "en": ("and", "also", "what about", "how about", "but", "plus", "then", "so"),
    "it": ("e", "ed", "anche", "invece", "ma", "però", "pero", "pure", "allora", "quindi"),
    "id": (
        "dan",
        "terus",
        "trus",
        "trs",
        "lalu",
        "kalau",
        "kalo",
        "klo",
        "gimana dengan",
        "bagaimana dengan",
        "juga",
        "tapi",
        "tp",
    ),
}
_REFERENCES = {
    "en": (
        *("it", "its", "it's", "that", "that's", "thats", "this", "those", "these", "them", "they", "same", "one"),
        *("wait", "even if", "you mean", "you meant", "did you mean", "you said", "you mentioned", "explain again"),
    ),
    "it": (
        *("quello", "quella", "quelli", "quelle", "questo", "questa", "stesso", "stessa", "ciò", "cio"),
        *("aspetta", "intendi", "intendevi", "dicevi", "hai detto", "rispieghi", "non ho capito", "nn ho capito"),
    ),
    # Not "itu" alone: "apa itu KITAS?" and "KITAS itu apa" use it to mark the topic, not to point back.
    "id": ("yang itu", "tersebut", "tsb", "tadi", "td", "yang sama", "hal itu", "maksudnya", "maksud kamu", "eh tapi"),
}


def _pattern(words: tuple[str, ...], anchored: bool) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    # A hyphen or apostrophe continues the word: "e-voa" does not open with the connector "e".
    return re.compile((r"^" if anchored else r"(?<![\w'’-])") + f"(?:{alternatives})(?![\\w'’-])")


_OPENS_WITH_CONNECTOR = _pattern(tuple(w for words in _CONNECTORS.values() for w in words), anchored=True)
_REFERS_BACK = _pattern(tuple(w for words in _REFERENCES.values() for w in words), anchored=False)


def leans_on_context(message: str) -> bool:
    text = normalize(message).lstrip("¿¡-–—.… ")
    return bool(_OPENS_WITH_CONNECTOR.search(text) or _REFERS_BACK.search(text))


def left_to_the_responder(spec: MatcherSpec, intent: str, message: str) -> bool:
    """Inside a conversation, whether the cache must leave this candidate to the responder: a social intent (one that
    needs only neutral terms, a greeting or thanks) stands alone whatever words it opens with."""
    rule = next(rule for rule in spec.rules if rule.intent == intent)
    return not set(rule.require) <= set(spec.neutral) and leans_on_context(message)
