"""The team's curated facts and common intents as assets, with the intents analysts accepted added to them;
re-read when their files or the accepted set change."""

import dagster as dg

from assets.previews import markdown_table
from assets.resources import StoresResource
from assets.response_cache.accepted import accepted_intents, fitted
from assets.versions import asset_code_version
from jiwa.catalogue.accepted import facts_with_accepted, with_accepted
from jiwa.catalogue.intents import FACTS_PATH, INTENTS_PATH, CuratedFacts, IntentCatalogue, load_facts, load_intents
from jiwa.catalogue.welcome import WELCOME_BACK_PATH
from jiwa.store.decisions import accepted

# A team file that changes (a new code version after a reload) is read again, and the cache rebuilt from it; so is
# a new accepted set (eager waits until accepted_intents exists, so a deployment without decisions is unchanged).
_REREAD_WHEN_CHANGED = dg.AutomationCondition.code_version_changed() | dg.AutomationCondition.eager()


@dg.asset(
    group_name="cache",
    kinds={"yaml", "lancedb"},
    deps=[accepted_intents],
    code_version=asset_code_version(__name__, files=[FACTS_PATH], files_only=True),
    automation_condition=_REREAD_WHEN_CHANGED,
    description=f"The team's curated facts ({FACTS_PATH.name}), and those given with accepted intents: value, unit, "
    "as-of date and source of each.",
)
def curated_facts(stores: StoresResource) -> dg.Output[CuratedFacts]:
    current = accepted(stores.lance())
    facts = fitted(facts_with_accepted, load_facts(), current)
    return dg.Output(
        facts,
        metadata={
            "facts": len(facts.facts),
            "facts_from_accepted_intents": len({key for item in current for key in item.facts}),
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
    kinds={"yaml", "lancedb"},
    deps=[accepted_intents],
    code_version=asset_code_version(__name__, files=[INTENTS_PATH, WELCOME_BACK_PATH]),
    automation_condition=_REREAD_WHEN_CHANGED,
    description=f"The team's common intents ({INTENTS_PATH.name}), the seed, and those analysts accepted from "
    "proposals: term rules, seed phrasings, reference answers; and the greetings for someone who comes back "
    f"({WELCOME_BACK_PATH.name}).",
)
def intent_catalogue(stores: StoresResource) -> dg.Output[IntentCatalogue]:
    current = accepted(stores.lance())
    catalogue = fitted(with_accepted, load_intents(), current)
    return dg.Output(
        catalogue,
        metadata={
            "intents": len(catalogue.intents),
            "accepted_intents": len(current),
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
    description="Re-reads curated_facts and intent_catalogue when their files or the accepted intents change, then "
    "rebuilds common_response_cache.",
)
