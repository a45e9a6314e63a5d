"""The common response cache: answers to the most common questions, written in advance, served without a model call."""

import time
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import numpy as np
import pyarrow as pa
from pydantic import Field

from assets.previews import markdown_table
from assets.publishing import publish
from assets.resources import LLAMA_RETRY_POLICY, EmbedderResource, KnowledgeResource, LlamaResource, StoresResource
from assets.response_cache.writing import (
    answer_guidance,
    keep_answer,
    keep_phrasing,
    write,
)
from assets.versions import asset_code_version
from jiwa.catalogue.intents import FACTS_PATH, CuratedFacts, IntentCatalogue, fact_problems
from jiwa.catalogue.matching import IntentMatcher
from jiwa.catalogue.typos import normalize
from jiwa.catalogue.welcome import GREETING_INTENT
from jiwa.domain.language import LANGUAGES
from jiwa.domain.status import CACHE_ANSWER, CACHE_PHRASING, RETURNING_STYLE
from jiwa.llm import GenerationStats
from jiwa.llm.progress import Progress
from jiwa.response_cache.rows import cache_rows
from jiwa.store.lance import tag_version, upsert
from jiwa.store.schema import RESPONSE_CACHE_TABLE, response_cache_schema

CACHE_CHECKS = ("facts_only_from_file", "intents_covered", "phrasings_match_their_intent")


class ResponseCacheConfig(dg.Config):
    paraphrases_per_language: int = Field(
        default=4, ge=0, le=6, description="Paraphrases LLAMA adds per intent and language."
    )
    variants_per_language: int = Field(
        default=2, ge=0, le=6, description="Answer variants LLAMA writes per intent and language."
    )
    intent_limit: int = Field(default=0, ge=0, description="Only the first N intents; 0 builds all.")
    min_similarity: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="How close a message must be to an intent's phrasings to be served; unset: JIWA_CACHE_MIN_SIMILARITY.",
    )


@dg.asset(
    group_name="cache",
    kinds={"llamacpp", "lancedb"},
    pool="llama",
    retry_policy=LLAMA_RETRY_POLICY,
    deps=["cultural_insights"],
    # The insights only set the tone; a new insights version alone is not a reason to rewrite every answer.
    automation_condition=dg.AutomationCondition.eager().ignore(dg.AssetSelection.assets("cultural_insights")),
    code_version=asset_code_version(__name__, model=True, embedder=True),
    check_specs=[dg.AssetCheckSpec(name, asset="common_response_cache", blocking=True) for name in CACHE_CHECKS],
    description="Paraphrases and warm answer variants per intent and language, facts filled from curated_facts, "
    "with the matcher's term rules, published as one LanceDB commit for the server's cache lookup.",
)
def common_response_cache(
    context: dg.AssetExecutionContext,
    config: ResponseCacheConfig,
    curated_facts: CuratedFacts,
    intent_catalogue: IntentCatalogue,
    llama: LlamaResource,
    embedder: EmbedderResource,
    stores: StoresResource,
    knowledge: KnowledgeResource,
):
    started = time.perf_counter()
    intents = sorted(intent_catalogue.intents)[: config.intent_limit or None]
    spec = intent_catalogue.spec(config.min_similarity or knowledge.settings().cache_min_similarity, curated_facts)
    rules_only = IntentMatcher(spec, [], np.zeros((0, embedder.embedder().dimension)))
    asked = bool(config.paraphrases_per_language or config.variants_per_language)
    # The team-only build (make run's first half) needs no model: it stands even where LLAMA cannot run.
    llm = llama.structured(context.log) if asked else None
    # What LLAMA wrote is marked with its model; without LLAMA nothing is written but the team's own texts.
    writer = llm.model_id if llm is not None else "team"
    guidance = answer_guidance(stores.lance(), embedder.embedder(), intent_catalogue, intents)

    jobs = [(intent, lang) for intent in intents for lang in LANGUAGES]
    progress = Progress(context.log, llm, total=len(jobs), label="intent languages written")

    def write_one(job):
        result = write(llm, intent_catalogue, guidance, config, *job)
        progress.step()
        return result

    with ThreadPoolExecutor(max_workers=max(1, llama.settings().concurrency)) as pool:
        written = list(pool.map(write_one, jobs))

    phrasings, answers, rejected = (
        [],
        [],
        {
            "paraphrase_repeated": 0,
            "paraphrase_off_intent": 0,
            "paraphrase_wrong_language": 0,
            "answer_facts": 0,
            "answer_language": 0,
        },
    )
    for (intent, lang), (new_phrasings, new_answers) in zip(jobs, written, strict=True):
        seeds = list(intent_catalogue.intents[intent].phrasings[lang])
        seen = {normalize(text) for text in seeds}
        phrasings += [(intent, lang, text, "team") for text in seeds]
        for text in new_phrasings:
            if normalize(text) in seen:
                rejected["paraphrase_repeated"] += 1
            elif keep_phrasing(text, intent, lang, rules_only, rejected):
                seen.add(normalize(text))
                phrasings.append((intent, lang, text, writer))
        reference = intent_catalogue.intents[intent].reference[lang]
        answers.append((intent, lang, "reference", reference, "team"))
        if intent == GREETING_INTENT:
            answers += [
                (intent, lang, RETURNING_STYLE, text, "team") for text in intent_catalogue.welcome_back.get(lang, ())
            ]
        for style, text in new_answers:
            if keep_answer(text, reference, lang, curated_facts, rejected):
                answers.append((intent, lang, style, text, writer))

    model = embedder.embedder()
    vectors = model.embed([text for _, _, text, _ in phrasings])
    schema = response_cache_schema(model.model_name, model.dimension)
    near_misses = [
        (intent, lang, text)
        for intent in intents
        for lang, texts in sorted(intent_catalogue.intents[intent].near_misses.items())
        for text in texts
    ]
    near_miss_vectors = model.embed([text for *_, text in near_misses]) if near_misses else None
    rows = cache_rows(spec, phrasings, vectors, answers, curated_facts, near_misses, near_miss_vectors)
    checks = _checks(rows, intents, curated_facts, rules_only)
    stats = llm.stats if llm else GenerationStats()
    metadata = {
        "intents": len(intents),
        "phrasings": len(phrasings),
        "answers": len(answers),
        "llama_phrasings_kept": sum(source != "team" for *_, source in phrasings),
        "llama_answers_kept": sum(source != "team" for *_, source in answers),
        # False for the quick build of make run, from the team's texts alone; LLAMA's version follows as a run.
        "llama_asked": asked,
        "rejected": dg.MetadataValue.json(
            {
                **rejected,
                **{f"schema_{k}": v for k, v in stats.rejections.items()},
                "dropped_after_retries": stats.dropped,
            }
        ),
        "completion_tokens": stats.completion_tokens,
        **stats.rate_metadata(),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "facts_version": curated_facts.sha256[:16],
        "preview": markdown_table(
            ["intent", "language", "style", "answer"],
            ([r["intent"], r["language"], r["style"], r["text"]] for r in rows if r["kind"] == CACHE_ANSWER),
            limit=6,
            cell_chars=120,
        ),
    }

    def commit() -> dict:
        table = upsert(
            stores.lance(),
            RESPONSE_CACHE_TABLE,
            schema,
            pa.Table.from_pylist(rows, schema=schema),
            replace_scope="true",
            rebuild_on_new_embedder=True,
        )
        table.optimize()
        return {"table_version": tag_version(table, f"cache-{context.run_id[:8]}")}

    return publish(context, "the response cache", metadata, checks, commit).result()


def _checks(
    rows: list[dict], intents: list[str], facts: CuratedFacts, matcher: IntentMatcher
) -> list[dg.AssetCheckResult]:
    answers = [row for row in rows if row["kind"] == CACHE_ANSWER]
    invented = [
        f"{row['id']}: {'; '.join(fact_problems(row['template'], facts))}"
        for row in answers
        if fact_problems(row["template"], facts)
    ]
    covered = {(row["intent"], row["language"]) for row in answers}
    uncovered = [f"{intent}/{lang}" for intent in intents for lang in LANGUAGES if (intent, lang) not in covered]
    strays = [
        row["id"]
        for row in rows
        if row["kind"] == CACHE_PHRASING and matcher.candidate(row["text"])[0] != row["intent"]
    ]
    return [
        dg.AssetCheckResult(
            check_name="facts_only_from_file",
            passed=not invented,
            description="every number comes from a {fact} placeholder"
            if not invented
            else f"{len(invented)} answer(s) state facts not in {FACTS_PATH.name}",
            metadata={"offending": dg.MetadataValue.json(invented[:20])},
        ),
        dg.AssetCheckResult(
            check_name="intents_covered",
            passed=not uncovered,
            description="an answer for every intent in every language"
            if not uncovered
            else f"no answer for {uncovered}",
        ),
        dg.AssetCheckResult(
            check_name="phrasings_match_their_intent",
            passed=not strays,
            description="every phrasing passes its own intent's term rules"
            if not strays
            else f"stray phrasings: {strays[:10]}",
        ),
    ]
