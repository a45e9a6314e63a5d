"""Screening what LLAMA learned from users' conversations, before it can be stored as knowledge.

Users can try to teach Jiwa: a planted price, a link, a contact, an instruction to the assistant, a name, their own
words passed off as a lesson. A finding is kept only if none of that is in it, and every drop is counted by reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from jiwa.knowledge.truth_gate import planted_content
from jiwa.llm.outputs import CulturalInsight

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
# So many of the user's words in a row is their text, not a lesson drawn from it.
COPIED_RUN = 5
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class ScreenResult:
    kept: list[int] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)


def screen(findings: list[CulturalInsight], user_texts: list[list[str]]) -> ScreenResult:
    """Indexes of the findings to keep; user_texts[i] is what the users wrote in finding i's conversation."""
    result = ScreenResult()
    for index, (finding, texts) in enumerate(zip(findings, user_texts, strict=True)):
        reason = screen_reason(finding, texts)
        if reason:
            result.dropped[reason] += 1
        else:
            result.kept.append(index)
    return result


def screen_reason(finding: CulturalInsight, user_texts: list[str]) -> str | None:
    texts = [finding.insight, finding.guidance, *finding.triggers.id, *finding.triggers.en, *finding.triggers.it]
    reason = lesson_reason(texts)
    if reason:
        return reason
    if _copies_a_run(f"{finding.insight} {finding.guidance}", user_texts):
        return "copied_user_words"
    return None


def lesson_reason(texts: list[str]) -> str | None:
    """Why a lesson's texts may not be served (planted content, an instruction, a person's name), or None."""
    joined = "\n".join(texts)
    reason = planted_content(joined)
    if reason:
        return reason
    if _INSTRUCTION.search(joined):
        return "instruction"
    if _PERSON.search(joined):
        return "person_name"
    return None


def _copies_a_run(text: str, user_texts: list[str]) -> bool:
    words = [w.casefold() for w in _WORD.findall(text)]
    runs = {tuple(words[i : i + COPIED_RUN]) for i in range(len(words) - COPIED_RUN + 1)}
    for user_text in user_texts:
        theirs = [w.casefold() for w in _WORD.findall(user_text)]
        if any(tuple(theirs[i : i + COPIED_RUN]) in runs for i in range(len(theirs) - COPIED_RUN + 1)):
            return True
    return False
