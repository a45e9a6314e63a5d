"""The team's curated facts and common intents as assets, re-read when their files change."""

import dagster as dg

from assets.previews import markdown_table
from jiwa.catalogue.intents import FACTS_PATH, INTENTS_PATH, CuratedFacts, IntentCatalogue, load_facts, load_intents
from jiwa.catalogue.welcome import WELCOME_BACK_PATH
from jiwa.versions import code_version

# A team file that changes (a new code version after a reload) is read again, and the cache rebuilt from it.
_REREAD_WHEN_EDITED = dg.AutomationCondition.code_version_changed()


@dg.asset(
    group_name="cache",
    kinds={"yaml"},
    code_version=code_version(FACTS_PATH),
    automation_condition=_REREAD_WHEN_EDITED,
    description=f"The team's curated facts ({FACTS_PATH.name}): value, unit, as-of date and source of each.",
)
def curated_facts() -> dg.Output[CuratedFacts]:
    facts = load_facts()
    return dg.Output(
        facts,
        metadata={
            "facts": len(facts.facts),
            "oldest_as_of": str(min(fact.as_of for fact in facts.facts.values())),
            "next_review_by": str(min(fact.review_by for fact in facts.facts.values())),
            "preview": markdown_table(
                ["fact", "value", "as of", "review by", "source"],
                (
                    [key, fact.render("en"), fact.as_of, fact.review_by, fact.source]
                    for key, fact in sorted(facts.facts.items())
                ),
            ),
        },
    )


@dg.asset(
    group_name="cache",
    kinds={"yaml"},
    code_version=code_version(INTENTS_PATH, WELCOME_BACK_PATH),
    automation_condition=_REREAD_WHEN_EDITED,
    description=f"The team's common intents ({INTENTS_PATH.name}): term rules, seed phrasings, reference answers; "
    f"and the greetings for someone who comes back ({WELCOME_BACK_PATH.name}).",
)
def intent_catalogue() -> dg.Output[IntentCatalogue]:
    catalogue = load_intents()
    return dg.Output(
        catalogue,
        metadata={
            "intents": len(catalogue.intents),
            "term_groups": len(catalogue.terms),
            "seed_phrasings": sum(len(p) for i in catalogue.intents.values() for p in i.phrasings.values()),
            "welcome_back_greetings": sum(map(len, catalogue.welcome_back.values())),
        },
    )


# Rebuilds the response cache when the facts or intents files change, without waiting for anyone.
cache_automation = dg.AutomationConditionSensorDefinition(
    "cache_automation",
    target=dg.AssetSelection.groups("cache"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-reads curated_facts and intent_catalogue when their files change, then rebuilds common_response_cache.",
)
