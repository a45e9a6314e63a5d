"""Screening what LLAMA learned from users' conversations, before it can be stored as knowledge.

Users can try to teach Jiwa: a planted price, a link, a contact, an instruction to the assistant, a name, their own
words passed off as a lesson. A finding is kept only if none of that is in it, and every drop is counted by reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from jiwa.catalogue.curated import CuratedBase
from jiwa.catalogue.topics import TopicCatalogue
from jiwa.domain.insights import CulturalInsight
from jiwa.knowledge.truth_gate import planted_content

# Words addressed to the assistant as an instruction, in the users' three languages.
_INSTRUCTION = re.compile(
    r"\b(?:jiwa|assistant|asisten|assistente|system|sistem|sistema)\b\s*[,:]"
    r"|\b(?:ignore|disregard|forget)\s+(?:all|any|your|the|previous|prior)\b"
    r"|\bfrom now on\b|\balways (?:tell|say|answer|recommend)\b|\bnever (?:tell|say|mention)\b"
    r"|\b(?:ignora|dimentica)\b|\bd'ora in (?:poi|avanti)\b|\bdevi sempre\b|\brispondi sempre\b"
    r"|\b(?:abaikan|lupakan)\b|\bmulai sekarang\b|\bselalu (?:bilang|jawab|katakan|sarankan)\b",
    re.IGNORECASE,
)
# A title or honorific followed by a capitalised word: a person named in a lesson.
_PERSON = re.compile(
    r"\b(?:Pak|Bapak|Bu|Ibu|Mas|Mbak|Bli|Kak|Mr|Mrs|Ms|Miss|Dr|Signor|Signora|Sig|Dott)\.?\s+[A-Z][a-z]+"
)
# A capitalised word inside a sentence is a name. One the team's own texts never use is a person (or a business,
# or a place) a user brought into the conversation: it has no place in a lesson for everyone.
_CAPITALISED = re.compile(r"\b[A-Z][a-z][\w'-]*")
_SENTENCE_END = re.compile(r"[.!?:;]\s+|\n")
# So many of the user's words in a row is their text, not a lesson drawn from it.
COPIED_RUN = 5
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class ScreenResult:
    kept: list[int] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)


def team_vocabulary(catalogue: TopicCatalogue, curated: CuratedBase) -> frozenset[str]:
    """Every word the team's topics and curated insights use, casefolded: the names a lesson may mention."""
    texts = [f"{topic.name} {topic.description}" for topic in catalogue.topics]
    for topic in catalogue.topics:
        for insight in curated.of(topic.id):
            texts += [
                insight.insight,
                insight.guidance,
                *insight.triggers.id,
                *insight.triggers.en,
                *insight.triggers.it,
            ]
    return frozenset(word.casefold() for text in texts for word in _WORD.findall(text))


def screen(findings: list[CulturalInsight], user_texts: list[list[str]], vocabulary: frozenset[str]) -> ScreenResult:
    """Indexes of the findings to keep; user_texts[i] is what the users wrote in finding i's conversation."""
    result = ScreenResult()
    for index, (finding, texts) in enumerate(zip(findings, user_texts, strict=True)):
        reason = screen_reason(finding, texts, vocabulary)
        if reason:
            result.dropped[reason] += 1
        else:
            result.kept.append(index)
    return result


def screen_reason(finding: CulturalInsight, user_texts: list[str], vocabulary: frozenset[str]) -> str | None:
    texts = [finding.insight, finding.guidance, *finding.triggers.id, *finding.triggers.en, *finding.triggers.it]
    reason = lesson_reason(texts, vocabulary)
    if reason:
        return reason
    if _copies_a_run(f"{finding.insight} {finding.guidance}", user_texts):
        return "copied_user_words"
    return None


def lesson_reason(texts: list[str], vocabulary: frozenset[str]) -> str | None:
    """Why a lesson's texts may not be served (planted content, an instruction, a person's name), or None."""
    joined = "\n".join(texts)
    reason = planted_content(joined)
    if reason:
        return reason
    if _INSTRUCTION.search(joined):
        return "instruction"
    if _PERSON.search(joined):
        return "person_name"
    if _unknown_names(joined, vocabulary):
        return "unknown_name"
    return None


def _unknown_names(text: str, vocabulary: frozenset[str]) -> list[str]:
    names = []
    for sentence in _SENTENCE_END.split(text):
        first = sentence.strip().lstrip("\"'(")
        names += [m.group() for m in _CAPITALISED.finditer(sentence) if not first.startswith(m.group())]
    return [name for name in names if name.casefold() not in vocabulary]


def _copies_a_run(text: str, user_texts: list[str]) -> bool:
    words = [w.casefold() for w in _WORD.findall(text)]
    runs = {tuple(words[i : i + COPIED_RUN]) for i in range(len(words) - COPIED_RUN + 1)}
    for user_text in user_texts:
        theirs = [w.casefold() for w in _WORD.findall(user_text)]
        if any(tuple(theirs[i : i + COPIED_RUN]) in runs for i in range(len(theirs) - COPIED_RUN + 1)):
            return True
    return False
