"""A grounded fake Claude for `python -m bench.week`: the reply the fake Messages API gives (GroundedClaude below
subclasses bench/support/fake_anthropic.py, which hands it the full request body), from what Jiwa sends only.

It reads the `<jiwa_data>` block of each request, as a faithful model would use it:
- it quotes a figure only if the fact is in `<curated_facts>` (every one sent, with its date), and otherwise says it
  has no checked figure;
- it names an insight's topic only if the insight is in `<cultural_insights>`;
- it replies in the language `<reply_language>` asks for (the user's own, by function words, when it is empty);
- it greets the user by the name in `<user_memory>` only if one is there, recalls the life situation only if one
  is there, and when asked for their name without one says it does not know.
Usage (tokens, the prompt cache) is the fake API's: counted with Jiwa's tokenizer, the cached prefix read and written.
"""

from __future__ import annotations

import json
import re

from bench.support.fake_anthropic import FakeAnthropic
from jiwa.domain.language import LANGUAGES, detect_language

TEXTS = {
    "en": {
        "hi": "Hi!",
        "hi_name": "Hi {name}, good to see you again!",
        "unknown_name": "I don't know your name yet, would you tell me?",
        "situation": "I remember your situation: {value}.",
        "facts": "Here is what the Jiwa team has checked for you:",
        "fact": "{value} (as of {date})",
        "no_fact": "I have no checked figure for that, so I would rather not guess; the immigration office or a "
        "licensed agent can tell you.",
        "insight": "A cultural note that may help, about {topic}.",
        "close": "Please confirm with immigration or a licensed agent before you pay, since rules change.",
        "short": "How can I help you with your move to Bali?",
    },
    "it": {
        "hi": "Ciao!",
        "hi_name": "Ciao {name}, che bello risentirti!",
        "unknown_name": "Non so ancora come ti chiami, me lo dici?",
        "situation": "Ricordo la tua situazione: {value}.",
        "facts": "Ecco cosa ha verificato per te il team di Jiwa:",
        "fact": "{value} (verificato il {date})",
        "no_fact": "Non ho una cifra verificata per questo e preferisco non indovinare; chiedi all'ufficio "
        "immigrazione o a un'agenzia autorizzata.",
        "insight": "Una nota culturale che può aiutarti, su {topic}.",
        "close": "Conferma con l'immigrazione o con un'agenzia prima di pagare, perché le regole cambiano.",
        "short": "Come posso aiutarti con il tuo trasferimento a Bali?",
    },
    "id": {
        "hi": "Halo!",
        "hi_name": "Halo {name}, senang bertemu lagi!",
        "unknown_name": "Saya belum tahu nama Anda, boleh saya tahu?",
        "situation": "Saya ingat situasi Anda: {value}.",
        "facts": "Ini yang sudah dicek tim Jiwa untuk Anda:",
        "fact": "{value} (dicek per {date})",
        "no_fact": "Saya belum punya angka yang sudah dicek untuk itu, jadi saya tidak mau menebak; tanyakan ke "
        "kantor imigrasi atau agen resmi.",
        "insight": "Catatan budaya yang mungkin membantu, tentang {topic}.",
        "close": "Pastikan lagi ke imigrasi atau agen resmi sebelum membayar, karena aturan bisa berubah.",
        "short": "Ada yang bisa saya bantu soal pindah ke Bali?",
    },
}
_NAME_QUESTION = re.compile(r"(?i)\b(my name|come mi chiamo|nama saya siapa|ricordi il mio nome)\b")
_FIGURE_QUESTION = re.compile(
    r"(?i)(how much|how long|cost|price|fee|fine|documents|papers|income|quanto|costa|documenti|reddito|multa|"
    r"berapa|biaya|dokumen|syarat|denda|penghasilan|capital|capitale|modal|what do i need|cosa serve)"
)


def section(data: str, tag: str) -> str:
    match = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", data, flags=re.DOTALL)
    return match.group(1).strip() if match else ""


def as_json(text: str):
    """A JSON section of the data block (user text in it had its angle brackets replaced), or None."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def grounded_reply(message: str, data: str) -> str:
    language = section(data, "reply_language")
    if language not in LANGUAGES:
        detected = detect_language(message)
        language = detected if detected in LANGUAGES else "en"
    words = TEXTS[language]
    facts = as_json(section(data, "curated_facts")) or []
    insights = as_json(section(data, "cultural_insights")) or []
    memory = as_json(section(data, "user_memory")) or {}
    name = (memory.get("name") or {}).get("value") if isinstance(memory, dict) else None
    situation = (memory.get("life_situation") or {}).get("value") if isinstance(memory, dict) else None

    parts = [words["hi_name"].format(name=name) if name else words["hi"]]
    if _NAME_QUESTION.search(message) and not name:
        parts.append(words["unknown_name"])
    if situation:
        parts.append(words["situation"].format(value=situation))
    if facts:
        quoted = "; ".join(words["fact"].format(value=fact["value"], date=fact["last_checked"]) for fact in facts)
        parts += [words["facts"], quoted + ".", words["close"]]
    elif _FIGURE_QUESTION.search(message) and len(message.split()) > 3:
        parts.append(words["no_fact"])
    if insights:
        parts.append(words["insight"].format(topic=", ".join(hit["topic"] for hit in insights[:2])))
    if len(parts) == 1:
        parts.append(words["short"])
    return " ".join(parts)


class GroundedClaude(FakeAnthropic):
    """The fake Messages API answering with grounded_reply; `replies` keeps (data block, reply)."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[tuple[str, str]] = []

    def reply_text(self, body: dict) -> str:
        message = body["messages"][-1]["content"]
        message = message if isinstance(message, str) else " ".join(part.get("text", "") for part in message)
        data = body["system"][-1]["text"] if isinstance(body["system"], list) else ""
        text = grounded_reply(message, data)
        self.replies.append((data, text))
        return text
