"""Typos as the term rules and the words gate read them: a slip of the fingers, never a change of question word."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Shorter words are matched exactly: one edit away from a four-letter word is too often another word.
MIN_FUZZY_LENGTH = 5
# Words one letter away from another word that asks something else: "quando" (when) is one edit from "quanto"
# (how much), "molta" from "multa" (fine), "conti" from "costi". Read as a typo, they would turn a question about
# when into one about price, so they are matched exactly or not at all: never corrected, never a correction.
EXACT_ONLY = frozenset(
    {
        # Question words.
        *("when", "what", "where", "which", "while", "whose", "how", "much", "many", "long"),
        *("quando", "quanto", "quanta", "quanti", "quante", "quale", "quali", "dove", "come", "cosa", "perché"),
        *("perche", "mentre"),
        *("kapan", "berapa", "apa", "mana", "dimana", "siapa", "kenapa", "mengapa", "bagaimana", "gimana"),
        # Short words with a near neighbour of another meaning.
        *("molto", "molta", "molti", "multa", "multe", "conto", "conti", "costo", "costi", "prima", "dopo"),
        *("before", "after", "sebelum", "sesudah", "setelah", "belum", "sudah", "tanpa", "senza", "without"),
        *("tunggal", "batas", "termine"),  # single / limit / term: not tinggal (stay), batal (cancel), termina (ends)
        *("anche", "aiuto"),  # also / help: not banche (banks), auto (car)
        *("kera", "cane", "cani"),  # monkey / dog: not keras (hard), carne (meat), cari (look for)
        *("putu", "wayan"),  # Balinese names: not putus (broken off), wayang (shadow puppets)
    }
)


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    return " ".join(text.split())


def with_deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOUR_KEYS = {
    key: {
        other
        for other_row, other_line in enumerate(_KEYBOARD_ROWS)
        if abs(other_row - row) <= 1
        for other_column, other in enumerate(other_line)
        if other != key and abs(other_column - column + (other_row - row) * 0.5) <= 1
    }
    for row, line in enumerate(_KEYBOARD_ROWS)
    for column, key in enumerate(line)
}


_VOWELS = frozenset("aeiouàèéìòóù")


def _base_letter(letter: str) -> str:
    return unicodedata.normalize("NFD", letter)[0]


def one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one slip of the fingers: one insertion or deletion after the first letter, one
    letter replaced by a key beside it (or by itself with another accent, or a final vowel by another: an Italian
    ending), or two neighbours swapped.

    A word that differs from a term in its first letter or by a far-away letter is usually another word, not a typo
    of it: "ansia" (anxiety) is not "lansia" (elderly), nor "mangia" (eats) "mancia" (tip)."""
    if a == b or a[:1] != b[:1]:
        return False
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    if len(b) - len(a) == 1:
        return any(a == b[:i] + b[i + 1 :] for i in range(1, len(b)))
    diffs = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diffs) == 1:
        i = diffs[0]
        # Or another ending of the same word: "rinnova" for "rinnovo", "pensionata" for "pensionato".
        inflected = i == len(a) - 1 and a[i] in _VOWELS and b[i] in _VOWELS
        return inflected or _base_letter(a[i]) == _base_letter(b[i]) or b[i] in _NEIGHBOUR_KEYS.get(a[i], ())
    return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]


def may_be_a_typo(word: str) -> bool:
    """Whether a word is long enough, and not one of EXACT_ONLY, to be read as a slip of the fingers."""
    return len(word) >= MIN_FUZZY_LENGTH and word not in EXACT_ONLY


class TypoIndex:
    """Which of the known words a word is one slip of the fingers from. Every word one edit from a known one shares
    a one-letter deletion with it (or is one, or has it as one): looking those up finds the few known words worth
    checking, instead of comparing the word with every one. Which words to ask about is may_be_a_typo's rule."""

    def __init__(self, known: Iterable[str]) -> None:
        self._by_deletion: dict[str, set[str]] = {}
        for word in known:
            if " " not in word and len(word) >= MIN_FUZZY_LENGTH - 1 and word not in EXACT_ONLY:
                for variant in with_deletions(word):
                    self._by_deletion.setdefault(variant, set()).add(word)

    def near(self, word: str) -> set[str]:
        candidates = set().union(*(self._by_deletion.get(variant, ()) for variant in with_deletions(word)))
        return {known for known in candidates if one_edit(word, known)}
