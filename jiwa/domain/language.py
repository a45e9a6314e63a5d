"""Which of Jiwa's languages (Italian, English, Indonesian) a message is in, by counting function words.

Exact and cheap, so the pipeline can count a conversation's languages by rule and the server can pick the reply
language without a model. Anything else, or too little text to tell, is "unknown".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

# The languages Jiwa's users write in, and so the ones every answer, phrasing and fallback exists in.
LANGUAGES = ("en", "it", "id")
LANGUAGE_NAMES = {"en": "English", "it": "Italian", "id": "Indonesian"}
UNKNOWN = "unknown"
# The order trigger phrases are listed in, by the model's schema and in the tables' triggers_<language> columns:
# Indonesian, the local language, first, then the others in LANGUAGES' order. A language added to LANGUAGES gets its
# column and its field here.
TRIGGER_LANGUAGES = tuple(sorted(LANGUAGES, key=lambda language: language != "id"))
# The language of a text chosen in advance when nothing tells the user's.
DEFAULT_LANGUAGE = "en"

_FUNCTION_WORDS = {
    "it": {
        "il",
        "lo",
        "la",
        "gli",
        "le",
        "un",
        "una",
        "di",
        "che",
        "per",
        "con",
        "non",
        "sono",
        "mi",
        "ti",
        "ci",
        "come",
        "quanto",
        "quanti",
        "cosa",
        "perché",
        "anche",
        "ma",
        "ho",
        "hai",
        "è",
        "del",
        "della",
        "nel",
        "al",
        "alla",
        "grazie",
        "ciao",
        "buongiorno",
        "buonasera",
        "buonanotte",
        "arrivederci",
        "vorrei",
        "posso",
        "devo",
        "mio",
        "mia",
        "io",
        "questo",
        "costa",
        "serve",
        "bisogna",
        "sì",
        "molto",
        "tutto",
        "dove",
        "quando",
        "fare",
        "tra",
        "fra",
    },
    "en": {
        "the",
        "a",
        "an",
        "is",
        "are",
        "i",
        "you",
        "my",
        "me",
        "to",
        "of",
        "and",
        "in",
        "for",
        "on",
        "with",
        "what",
        "how",
        "much",
        "does",
        "do",
        "can",
        "need",
        "want",
        "it",
        "this",
        "that",
        "thanks",
        "thank",
        "hello",
        "hi",
        "goodbye",
        "cheers",
        "mate",
        "please",
        "would",
        "should",
        "about",
        "be",
        "have",
        "get",
        "cost",
        "there",
        "we",
    },
    "id": {
        "saya",
        "aku",
        "anda",
        "kamu",
        "apa",
        "bagaimana",
        "berapa",
        "yang",
        "dan",
        "di",
        "ke",
        "dari",
        "untuk",
        "dengan",
        "ini",
        "itu",
        "tidak",
        "bisa",
        "mau",
        "ingin",
        "harus",
        "sudah",
        "belum",
        "ada",
        "biaya",
        "terima",
        "kasih",
        "makasih",
        "dadah",
        "pamit",
        "selamat",
        "pagi",
        "siang",
        "malam",
        "halo",
        "tolong",
        "mohon",
        "perlu",
        "buat",
        "gimana",
        "kalau",
        "juga",
        "saja",
        "dong",
        "ya",
        "nya",
        "pak",
        "bu",
        "maaf",
    },
}
# How people write to a chat: short, informal, abbreviated. Words of one language only (not "di", "per", "come").
_CHAT_WORDS = {
    "it": {
        # Also English: alone it decides nothing, beside "è" it tips "chiuso a Nyepi?" to Italian.
        "a",
        "moglie",
        "marito",
        "figli",
        "bambini",
        "anni",
        "mesi",
        "giorni",
        "settimane",
        "costo",
        "prezzo",
        "cmq",
        "nn",
        "perche",
        "qual",
        "quale",
        "quali",
        "dei",
        "delle",
        "degli",
        "sul",
        "sulla",
        "ha",
        "abbiamo",
        "puoi",
        "ancora",
        "visto",
        "permesso",
        "rinnovo",
        "rinnovare",
        "serve",
        "servono",
        "tempi",
        "ciò",
        "però",
        "già",
    },
    "en": {
        "wife",
        "husband",
        "kids",
        "long",
        "many",
        "where",
        "when",
        "why",
        "which",
        "will",
        "year",
        "years",
        "month",
        "months",
        "week",
        "weeks",
        "day",
        "days",
        "price",
        "pls",
        "u",
        "ur",
        "im",
        "dont",
        "cant",
        "anyone",
        "know",
        "did",
        "was",
        "were",
        "been",
        "or",
        "if",
        "just",
        "still",
        "take",
        "takes",
        "renew",
    },
    "id": {
        "brp",
        "gmn",
        "yg",
        "gak",
        "nggak",
        "ga",
        "gk",
        "tdk",
        "aja",
        "sih",
        "kak",
        "kok",
        "udah",
        "sdh",
        "blm",
        "lama",
        "istri",
        "suami",
        "anak",
        "bikin",
        "gitu",
        "gini",
        "kapan",
        "dimana",
        "bayar",
        "harga",
        "tahun",
        "bulan",
        "hari",
        "lagi",
        "banget",
        "bgt",
        "dgn",
        "utk",
        "kpn",
        "sy",
        "mas",
        "mbak",
        "tapi",
        "tp",
        "kalo",
        "klo",
        "punya",
        "cara",
        "caranya",
        "syarat",
        "perpanjang",
        "dapat",
        "dapet",
        "proses",
        "urus",
        "ngurus",
    },
}
for _language, _words in _CHAT_WORDS.items():
    _FUNCTION_WORDS[_language] |= _words
_WORD = re.compile(r"[a-zàèéìòóù]+", re.IGNORECASE)


def detect_language(text: str, *, min_hits: int = 1) -> str:
    """The language whose function words appear most often; ties and no evidence give UNKNOWN."""
    words = [word.lower() for word in _WORD.findall(text)]
    scores = Counter({lang: sum(word in vocabulary for word in words) for lang, vocabulary in _FUNCTION_WORDS.items()})
    ranked = scores.most_common()
    best, best_score = ranked[0]
    if best_score < min_hits or (len(ranked) > 1 and ranked[1][1] == best_score):
        return UNKNOWN
    return best


def function_words(language: str) -> frozenset[str]:
    """The function and chat words that tell a language: they say how a message asks, not what it asks about."""
    return frozenset(_FUNCTION_WORDS[language])


def foreign_words(text: str, language: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Words of the text that belong only to another of the users' languages (one-letter and allowed words aside)."""
    own = _FUNCTION_WORDS[language]
    others = set().union(*(words for lang, words in _FUNCTION_WORDS.items() if lang != language)) - own - allowed
    return [word for word in (w.lower() for w in _WORD.findall(text)) if len(word) > 1 and word in others]


def language_counts(texts: list[str]) -> dict[str, int]:
    """How many of the texts are in each language, unknown ones left out."""
    counts = Counter(detect_language(text) for text in texts)
    counts.pop(UNKNOWN, None)
    return dict(sorted(counts.items()))


def supported(code: str | None) -> str | None:
    """One of LANGUAGES for a code such as "it" or "it-IT"; None for anything else."""
    base = (code or "")[:2].lower()
    return base if base in LANGUAGES else None


def reply_language(
    requested: str | None,
    message: str,
    remembered: str | None = None,
    conversation: str | None = None,
    closest: Callable[[str], str | None] | None = None,
) -> str | None:
    """The language of a reply: the client's explicit one, else the message's, else the conversation's so far, else
    the one we remember of the user, else the one the message's words are clearly closest to (`closest`: the
    server's is jiwa.catalogue.languages.closest_language).

    None when nothing tells (never English by default): the responder then mirrors the user, the cache leaves the
    message to it (a pre-written answer would be in a language nobody chose), and the fallback text is in
    DEFAULT_LANGUAGE.
    """
    if requested:
        return requested[:2].lower()
    return (
        supported(detect_language(message))
        or supported(conversation)
        or supported(remembered)
        or (closest(message) if closest else None)
    )


# Placing a message by the language its words are closest to, for what the function words cannot place: letter
# trigrams ("zio", "gli", "ng ", "th") tell Italian, Indonesian and English apart even in "capitale minimo pt pma?".
_NGRAM = 3
# Trigrams a message needs to be placed at all ("ok" has none worth a decision), and by how much (mean log-likelihood
# per trigram, natural log) the closest language must beat the next: below either, the message stays unplaced.
MIN_NGRAMS = 8
CLOSEST_MARGIN = 0.35
# A single word of another language, this clearly, makes the message mixed: nothing is guessed for it.
MIN_WORD_NGRAMS = 5
WORD_MARGIN = 1.0
_LETTERS = re.compile(r"[^\W\d_]+")
_PLACEHOLDER = re.compile(r"\{\w*\}")


def _trigrams(text: str) -> list[str]:
    grams = []
    for word in _LETTERS.findall(text.casefold()):
        padded = f" {word} "
        grams += [padded[i : i + _NGRAM] for i in range(len(padded) - _NGRAM + 1)]
    return grams


class LanguageProfiles:
    """Letter trigram frequencies per language, from texts known to be in it; a message is placed in the language
    whose profile makes its trigrams likeliest, when that is clear."""

    def __init__(self, texts: dict[str, list[str]]) -> None:
        counts = {
            lang: Counter(g for text in lang_texts for g in _trigrams(_PLACEHOLDER.sub(" ", text)))
            for lang, lang_texts in texts.items()
            if lang_texts
        }
        vocabulary = len(set().union(*counts.values())) + 1 if counts else 1
        self._log: dict[str, dict[str, float]] = {}
        self._unseen: dict[str, float] = {}
        for lang, grams in counts.items():
            total = sum(grams.values()) + vocabulary  # add-one smoothing over every trigram any language has
            self._log[lang] = {gram: math.log((n + 1) / total) for gram, n in grams.items()}
            self._unseen[lang] = math.log(1 / total)

    def scores(self, text: str) -> dict[str, float]:
        """Mean log-likelihood per trigram of the text in each language (no trigram: empty)."""
        return self._scores(_trigrams(text))

    def _scores(self, grams: list[str]) -> dict[str, float]:
        if not grams:
            return {}
        return {
            lang: sum(log.get(g, self._unseen[lang]) for g in grams) / len(grams) for lang, log in self._log.items()
        }

    def closest(self, text: str) -> str | None:
        """The language the text's words are closest to; None when it is not clear, or when some word of it is
        clearly of another language ("grazie thank you makasih", "differenza tra bpjs kesehatan e ...")."""
        best = self._clearly(text, MIN_NGRAMS, CLOSEST_MARGIN)
        if best is None:
            return None
        for word in _LETTERS.findall(text):
            other = self._clearly(word, MIN_WORD_NGRAMS, WORD_MARGIN)
            if other not in (None, best):
                return None
        return best

    def _clearly(self, text: str, min_ngrams: int, margin: float) -> str | None:
        grams = _trigrams(text)
        if len(grams) < min_ngrams:
            return None
        ranked = sorted(self._scores(grams).items(), key=lambda item: item[1], reverse=True)
        if not ranked or (len(ranked) > 1 and ranked[0][1] - ranked[1][1] < margin):
            return None
        return ranked[0][0]
