"""Pattern 3: answers to the most common questions, written in advance, served without a model call."""

import time
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import numpy as np
import pyarrow as pa
from pydantic import Field

from assets.intent_catalogue import (
    FACTS_PATH,
    INTENTS_PATH,
    LANGUAGES,
    Facts,
    IntentCatalogue,
    fact_problems,
    fill_facts,
    load_facts,
    load_intents,
    placeholders,
)
from jiwa.intent_matching import IntentMatcher, normalize
from jiwa.language import UNKNOWN, detect_language
from jiwa.llm import configured_model_id
from jiwa.llm.outputs import without_placeholders
from jiwa.prompts import load_prompt
from jiwa.settings import get_settings
from jiwa.store.insights import search_insights
from jiwa.store.lance import publish, table_embedder, upsert
from jiwa.store.schema import (
    CACHE_ANSWER,
    CACHE_PHRASING,
    CACHE_SPEC,
    INSIGHTS_TABLE,
    RESPONSE_CACHE_TABLE,
    response_cache_schema,
)
from pipelines.resources import EmbedderResource, LlamaResource, StoresResource

_settings = get_settings()
PARAPHRASE_PROMPT = load_prompt("intent_paraphrases")
ANSWER_PROMPT = load_prompt("cached_answer")
LANGUAGE_NAMES = {"en": "English", "it": "Italian", "id": "Indonesian"}
STYLE_HINTS = {
    "short": "One or two sentences, friendly and direct.",
    "long": "Three or four sentences: the facts, what to watch out for, and one next step.",
}
CACHE_CHECKS = ("facts_only_from_file", "intents_covered", "phrasings_match_their_intent")
# A team file that changes (a new code version after a reload) is read again, and the cache rebuilt from it.
_REREAD_WHEN_EDITED = dg.AutomationCondition.code_version_changed()


@dg.asset(group_name="cache", kinds={"yaml"}, code_version=load_facts().sha256[:16], automation_condition=_REREAD_WHEN_EDITED,
          description=f"The team's curated facts ({FACTS_PATH.name}): value, unit, as-of date and source of each.")
def curated_facts() -> dg.Output[Facts]:
    facts = load_facts()
    rows = "\n".join(f"| {key} | {fact.render('en')} | {fact.as_of} | {fact.source} |" for key, fact in sorted(facts.facts.items()))
    return dg.Output(facts, metadata={
        "facts": len(facts.facts),
        "oldest_as_of": str(min(fact.as_of for fact in facts.facts.values())),
        "preview": dg.MetadataValue.md(f"| fact | value | as of | source |\n|---|---|---|---|\n{rows}"),
    })


@dg.asset(group_name="cache", kinds={"yaml"}, code_version=load_intents().sha256[:16], automation_condition=_REREAD_WHEN_EDITED,
          description=f"The team's common intents ({INTENTS_PATH.name}): term rules, seed phrasings, reference answers.")
def intent_catalogue() -> dg.Output[IntentCatalogue]:
    catalogue = load_intents()
    return dg.Output(catalogue, metadata={
        "intents": len(catalogue.intents),
        "term_groups": len(catalogue.terms),
        "seed_phrasings": sum(len(p) for i in catalogue.intents.values() for p in i.phrasings.values()),
    })


class ResponseCacheConfig(dg.Config):
    paraphrases_per_language: int = Field(default=4, ge=0, le=6, description="Paraphrases LLAMA adds per intent and language.")
    variants_per_language: int = Field(default=2, ge=0, le=6, description="Answer variants LLAMA writes per intent and language.")
    intent_limit: int = Field(default=0, ge=0, description="Only the first N intents; 0 builds all.")
    min_similarity: float = Field(default=_settings.cache_min_similarity, gt=0, le=1,
                                  description="How close a message must be to an intent's phrasings to be served.")


@dg.asset(
    group_name="cache",
    kinds={"llamacpp", "lancedb"},
    pool="llama",
    deps=["cultural_insights"],
    # The insights only set the tone; a new insights version alone is not a reason to rewrite every answer.
    automation_condition=dg.AutomationCondition.eager().ignore(dg.AssetSelection.assets("cultural_insights")),
    code_version=ANSWER_PROMPT.code_version(f"{PARAPHRASE_PROMPT.sha256[:12]}|{configured_model_id(_settings)}"),
    check_specs=[dg.AssetCheckSpec(name, asset="common_response_cache", blocking=True) for name in CACHE_CHECKS],
    description="Paraphrases and warm answer variants per intent and language, facts filled from curated_facts, "
    "with the matcher's term rules, published as one LanceDB commit for the server's cache lookup.",
)
def common_response_cache(
    context: dg.AssetExecutionContext,
    config: ResponseCacheConfig,
    curated_facts: Facts,
    intent_catalogue: IntentCatalogue,
    llama: LlamaResource,
    embedder: EmbedderResource,
    stores: StoresResource,
):
    started = time.perf_counter()
    intents = sorted(intent_catalogue.intents)[: config.intent_limit or None]
    spec = intent_catalogue.spec(config.min_similarity)
    rules_only = IntentMatcher(spec, [], np.zeros((0, embedder.embedder().dimension)))
    llm = llama.structured()
    guidance = _guidance(stores, embedder, intent_catalogue, intents)

    jobs = [(intent, lang) for intent in intents for lang in LANGUAGES]
    with ThreadPoolExecutor(max_workers=max(1, llama.concurrency)) as pool:
        written = list(pool.map(lambda job: _write(llm, intent_catalogue, curated_facts, guidance, config, *job), jobs))

    phrasings, answers, rejected = [], [], {"paraphrase_repeated": 0, "paraphrase_off_intent": 0, "paraphrase_wrong_language": 0, "answer_facts": 0, "answer_language": 0}
    for (intent, lang), (new_phrasings, new_answers) in zip(jobs, written):
        seeds = list(intent_catalogue.intents[intent].phrasings[lang])
        seen = {normalize(text) for text in seeds}
        phrasings += [(intent, lang, text, "team") for text in seeds]
        for text in new_phrasings:
            if normalize(text) in seen:
                rejected["paraphrase_repeated"] += 1
            elif _keep_phrasing(text, intent, lang, rules_only, rejected):
                seen.add(normalize(text))
                phrasings.append((intent, lang, text, llm.model_id))
        reference = intent_catalogue.intents[intent].reference[lang]
        answers.append((intent, lang, "reference", reference, "team"))
        for style, text in new_answers:
            if _keep_answer(text, reference, lang, curated_facts, rejected):
                answers.append((intent, lang, style, text, llm.model_id))

    model = embedder.embedder()
    vectors = model.embed([text for _, _, text, _ in phrasings])
    schema = response_cache_schema(model.model_name, model.dimension)
    rows = _rows(spec, phrasings, vectors, answers, curated_facts)
    checks = _checks(rows, intents, curated_facts, rules_only)
    stats = llm.stats
    metadata = {
        "intents": len(intents),
        "phrasings": len(phrasings),
        "answers": len(answers),
        "llama_phrasings_kept": sum(source != "team" for *_, source in phrasings),
        "llama_answers_kept": sum(source != "team" for *_, source in answers),
        "rejected": dg.MetadataValue.json({**rejected, **{f"schema_{k}": v for k, v in stats.rejections.items()}, "dropped_after_retries": stats.dropped}),
        "completion_tokens": stats.completion_tokens,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "facts_version": curated_facts.sha256[:16],
        "preview": dg.MetadataValue.md(_preview(rows)),
    }
    if not all(check.passed for check in checks):
        context.log.error("Not publishing the response cache: a blocking check failed")
        return dg.MaterializeResult(metadata={**metadata, "published": False}, check_results=checks)
    table = upsert(stores.lance(), RESPONSE_CACHE_TABLE, schema, pa.Table.from_pylist(rows, schema=schema), replace_scope="true")
    table.optimize()
    version = publish(table, f"cache-{context.run_id[:8]}")
    return dg.MaterializeResult(metadata={**metadata, "published": True, "table_version": version}, check_results=checks)


def _write(llm, catalogue: IntentCatalogue, facts: Facts, guidance: dict, config, intent: str, lang: str):
    spec = catalogue.intents[intent]
    seeds = spec.phrasings[lang]
    paraphrases = []
    if config.paraphrases_per_language:
        result = llm.generate(
            PARAPHRASE_PROMPT, language_name=LANGUAGE_NAMES[lang], description=spec.phrasings["en"][0],
            examples="\n".join(f"- {seed}" for seed in seeds), count=config.paraphrases_per_language,
            keywords=", ".join(catalogue.terms[group][0] for group in spec.require),
        )
        paraphrases = list(result.phrasings) if result else []
    answers = []
    reference = spec.reference[lang]
    for variant in range(config.variants_per_language):
        style = "short" if variant % 2 == 0 else "long"
        result = llm.generate(
            ANSWER_PROMPT, variant=variant, language_name=LANGUAGE_NAMES[lang], question=seeds[0],
            placeholders=", ".join(f"{{{p}}}" for p in sorted(placeholders(reference))) or "none",
            reference=reference, guidance=guidance.get(intent, "be warm and patient"), style=style, style_hint=STYLE_HINTS[style],
        )
        if result:
            answers.append((style, result.answer))
    return paraphrases, answers


def _keep_phrasing(text: str, intent: str, lang: str, matcher: IntentMatcher, rejected: dict) -> bool:
    if matcher.candidate(text)[0] != intent:
        rejected["paraphrase_off_intent"] += 1
        return False
    if detect_language(text) not in (lang, UNKNOWN):
        rejected["paraphrase_wrong_language"] += 1
        return False
    return True


def _keep_answer(text: str, reference: str, lang: str, facts: Facts, rejected: dict) -> bool:
    # Every fact the team's answer gives must be in the variant too, and nothing else may be stated.
    if fact_problems(text, facts) or not placeholders(reference) <= placeholders(text):
        rejected["answer_facts"] += 1
        return False
    if detect_language(without_placeholders(text)) not in (lang, UNKNOWN):
        rejected["answer_language"] += 1
        return False
    return True


def _guidance(stores: StoresResource, embedder: EmbedderResource, catalogue: IntentCatalogue, intents: list[str]) -> dict[str, str]:
    """The most relevant cultural insights' guidance per intent, to set the answers' tone."""
    db = stores.lance()
    if INSIGHTS_TABLE not in db.table_names():
        return {}
    table = db.open_table(INSIGHTS_TABLE)
    if table_embedder(table.schema) != (embedder.embedder().model_name, embedder.embedder().dimension):
        return {}
    guidance = {}
    for intent in intents:
        question = catalogue.intents[intent].phrasings["en"][0]
        hits = search_insights(table, embedder.embedder().embed_one(question), question, k=2)
        guidance[intent] = " ".join(hit.guidance for hit in hits)[:400]
    return guidance


def _rows(spec, phrasings, vectors, answers, facts: Facts) -> list[dict]:
    version = facts.sha256[:16]
    # LanceDB refuses null vectors; rows that are not phrasings carry zeros and are never searched.
    zeros = [0.0] * vectors.shape[1]
    rows = [{"id": "spec", "kind": CACHE_SPEC, "intent": None, "language": None, "style": None, "template": None,
             "text": spec.to_json(), "source": "team", "facts_version": version, "vector": zeros}]
    for index, ((intent, lang, text, source), vector) in enumerate(zip(phrasings, vectors)):
        rows.append({"id": f"phrasing:{intent}:{lang}:{index}", "kind": CACHE_PHRASING, "intent": intent, "language": lang,
                     "style": None, "template": None, "text": text, "source": source, "facts_version": version,
                     "vector": vector.tolist()})
    for index, (intent, lang, style, template, source) in enumerate(answers):
        rows.append({"id": f"answer:{intent}:{lang}:{index}", "kind": CACHE_ANSWER, "intent": intent, "language": lang,
                     "style": style, "template": template, "text": fill_facts(template, facts, lang), "source": source,
                     "facts_version": version, "vector": zeros})
    return rows


def _checks(rows: list[dict], intents: list[str], facts: Facts, matcher: IntentMatcher) -> list[dg.AssetCheckResult]:
    answers = [row for row in rows if row["kind"] == CACHE_ANSWER]
    invented = [f"{row['id']}: {'; '.join(fact_problems(row['template'], facts))}" for row in answers if fact_problems(row["template"], facts)]
    covered = {(row["intent"], row["language"]) for row in answers}
    uncovered = [f"{intent}/{lang}" for intent in intents for lang in LANGUAGES if (intent, lang) not in covered]
    strays = [row["id"] for row in rows if row["kind"] == CACHE_PHRASING and matcher.candidate(row["text"])[0] != row["intent"]]
    return [
        dg.AssetCheckResult(
            check_name="facts_only_from_file", passed=not invented,
            description="every number comes from a {fact} placeholder" if not invented else f"{len(invented)} answer(s) state facts not in {FACTS_PATH.name}",
            metadata={"offending": dg.MetadataValue.json(invented[:20])},
        ),
        dg.AssetCheckResult(
            check_name="intents_covered", passed=not uncovered,
            description="an answer for every intent in every language" if not uncovered else f"no answer for {uncovered}",
        ),
        dg.AssetCheckResult(
            check_name="phrasings_match_their_intent", passed=not strays,
            description="every phrasing passes its own intent's term rules" if not strays else f"stray phrasings: {strays[:10]}",
        ),
    ]


def _preview(rows: list[dict], limit: int = 6) -> str:
    lines = ["| intent | language | style | answer |", "|---|---|---|---|"]
    for row in [r for r in rows if r["kind"] == CACHE_ANSWER][:limit]:
        lines.append(f"| {row['intent']} | {row['language']} | {row['style']} | {row['text'][:120].replace('|', '/')} |")
    return "\n".join(lines)
