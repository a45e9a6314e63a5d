"""LLAMA's part of the response cache: paraphrases and answer variants, and the rules that vet them before use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiwa.catalogue.intents import CuratedFacts, IntentCatalogue, fact_problems, placeholders
from jiwa.catalogue.matching import IntentMatcher
from jiwa.domain.answers import CachedAnswer, IntentParaphrases, without_placeholders
from jiwa.domain.language import LANGUAGE_NAMES, UNKNOWN, detect_language
from jiwa.embedding import Embedder
from jiwa.llm import StructuredLLM
from jiwa.prompts import load_prompt
from jiwa.store.insights import search_insights
from jiwa.store.lance import table_embedder
from jiwa.store.schema import INSIGHTS_TABLE

if TYPE_CHECKING:
    from assets.response_cache.cache import ResponseCacheConfig

PARAPHRASE_PROMPT = load_prompt("intent_paraphrases")
ANSWER_PROMPT = load_prompt("cached_answer")
STYLE_HINTS = {
    "short": "One or two sentences, friendly and direct.",
    "long": "Three or four sentences: the facts, what to watch out for, and one next step.",
}


def write(
    llm: StructuredLLM | None,
    catalogue: IntentCatalogue,
    guidance: dict[str, str],
    config: ResponseCacheConfig,
    intent: str,
    lang: str,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Paraphrases of the intent's seeds, and answer variants of the team's reference, in one language; none without
    LLAMA (the team-only build)."""
    if llm is None:
        return [], []
    spec = catalogue.intents[intent]
    seeds = spec.phrasings[lang]
    paraphrases: list[str] = []
    if config.paraphrases_per_language:
        paraphrased = llm.generate(
            PARAPHRASE_PROMPT,
            IntentParaphrases,
            language_name=LANGUAGE_NAMES[lang],
            description=spec.phrasings["en"][0],
            examples="\n".join(f"- {seed}" for seed in seeds),
            count=config.paraphrases_per_language,
            keywords=", ".join(catalogue.terms[group][0] for group in spec.require),
        )
        paraphrases = list(paraphrased.phrasings) if paraphrased else []
    answers = []
    reference = spec.reference[lang]
    for variant in range(config.variants_per_language):
        style = "short" if variant % 2 == 0 else "long"
        answer = llm.generate(
            ANSWER_PROMPT,
            CachedAnswer,
            variant=variant,
            language_name=LANGUAGE_NAMES[lang],
            question=seeds[0],
            placeholders=", ".join(f"{{{p}}}" for p in sorted(placeholders(reference))) or "none",
            reference=reference,
            guidance=guidance.get(intent, "be warm and patient"),
            style=style,
            style_hint=STYLE_HINTS[style],
        )
        if answer:
            answers.append((style, answer.answer))
    return paraphrases, answers


def keep_phrasing(text: str, intent: str, lang: str, matcher: IntentMatcher, rejected: dict) -> bool:
    # A phrasing is one question: one that asks several would let a message's second question ride on its vector.
    if matcher.candidate(text)[0] != intent or len(matcher.questions(text)) > 1:
        rejected["paraphrase_off_intent"] += 1
        return False
    if detect_language(text) not in (lang, UNKNOWN):
        rejected["paraphrase_wrong_language"] += 1
        return False
    return True


def keep_answer(text: str, reference: str, lang: str, facts: CuratedFacts, rejected: dict) -> bool:
    # Every fact the team's answer gives must be in the variant too, and nothing else may be stated.
    if fact_problems(text, facts) or not placeholders(reference) <= placeholders(text):
        rejected["answer_facts"] += 1
        return False
    if detect_language(without_placeholders(text)) not in (lang, UNKNOWN):
        rejected["answer_language"] += 1
        return False
    return True


def answer_guidance(db, embedder: Embedder, catalogue: IntentCatalogue, intents: list[str]) -> dict[str, str]:
    """The most relevant cultural insights' guidance per intent, to set the answers' tone."""
    if INSIGHTS_TABLE not in db.table_names():
        return {}
    table = db.open_table(INSIGHTS_TABLE)
    if table_embedder(table.schema) != (embedder.model_name, embedder.dimension):
        return {}
    guidance = {}
    for intent in intents:
        question = catalogue.intents[intent].phrasings["en"][0]
        hits = search_insights(table, embedder.embed_one(question), question, k=2)
        guidance[intent] = " ".join(hit.guidance for hit in hits)[:400]
    return guidance
