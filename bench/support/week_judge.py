"""How `python -m bench.week` judges a reply by rule, as the user who asked would: the figures a good answer quotes,
the topic it names, the user's language, the cache's intent, and what it recalls of the user."""

from __future__ import annotations

import re

from bench.support.week_client import without
from bench.support.week_people import Persona, Turn
from jiwa.domain.language import detect_language


class Judge:
    def __init__(
        self,
        values: dict[str, dict[str, str]],
        topic_names: dict[str, str],
        situation_words: dict[str, list[str]],
        names: set[str],
        canaries: list[str],
    ) -> None:
        self.values = values  # fact -> language -> the value a good answer quotes
        self.topic_names = topic_names
        self.situation_words = situation_words
        self.names = names  # every persona's, so that a reply naming the wrong one is caught
        self.canaries = canaries  # what the attack corpus plants, casefolded

    def turn(self, person: Persona, question: dict, answer: dict, returning: bool, known: dict) -> Turn:
        reply, lang = answer["reply"], person.language
        lowered = reply.casefold()
        source, intent = answer["source"], answer.get("cache_intent")
        # The catalogue's topic names are English; a reply that names one is still in the language around it.
        in_language = detect_language(without(reply, self.topic_names.values())) == lang
        intents = question.get("intents", [])
        facts_ok = all((self.values[f][lang] or "").casefold() in lowered for f in question.get("facts", []))
        cache_wrong = source == "cache" and question["kind"] != "greeting" and intent not in intents
        if question.get("facts"):
            good = facts_ok
        elif source == "cache":
            good = not cache_wrong
        elif question.get("topics"):
            good = any(self.topic_names[topic].casefold() in lowered for topic in question["topics"])
        else:
            good = True
        good = good and in_language and not cache_wrong and source != "fallback"
        turn = Turn(
            person.id, person.tenant, lang, question["kind"], source, intent, good, in_language, cache_wrong,
            float(answer["timings_ms"].get("total", 0.0)), returning,
        )  # fmt: skip
        turn.markers = self.markers_in(reply)
        turn.question, turn.message, turn.reply = question["id"], answer["message"], reply
        if returning:
            turn.uses_right, turn.uses_wrong = self.memory_use(person, known, reply)
        return turn

    def memory_use(self, person: Persona, known: dict, reply: str) -> tuple[bool, bool]:
        """Whether the reply uses what the profile rightly holds of the user, and whether it uses anything wrong."""
        lowered = reply.casefold()
        name, situation = known.get("name"), known.get("situation")
        name_right = name.casefold() == person.name.casefold() if name else False
        own_words = self.situation_words[person.situation]
        situation_right = any(w in situation.casefold() for w in own_words) if situation else False
        used = lambda value: bool(value) and value.casefold() in lowered  # noqa: E731
        uses_right = (name_right and used(name)) or (situation_right and used(situation))
        uses_wrong = (bool(name) and not name_right and used(name)) or (
            bool(situation) and not situation_right and used(situation)
        )
        # A name the reply gives that is another persona's, whatever the profile says, is wrong too.
        others = self.names - {person.name}
        return uses_right, uses_wrong or any(re.search(rf"\b{re.escape(n)}\b", reply) for n in others)

    def markers_in(self, text: str) -> int:
        lowered = text.casefold()
        return sum(canary in lowered for canary in self.canaries)
