"""Intents an analyst accepts from the nightly proposals, from the launchpad: validated whole before anything is
stored, kept as decisions in LanceDB, and added to the team's catalogue files whenever the cache is built."""

from typing import Literal

import dagster as dg
from pydantic import Field, ValidationError

from assets.previews import markdown_table
from assets.resources import StoresResource
from assets.versions import asset_code_version
from jiwa.catalogue.accepted import (
    PROPOSAL_ID,
    AcceptedIntent,
    accepted_problems,
    accepted_version,
    copied_questions,
    facts_with_accepted,
    validation_message,
    with_accepted,
)
from jiwa.catalogue.intents import load_facts, load_intents
from jiwa.domain.status import ACCEPT, REJECT
from jiwa.store.decisions import accepted, latest_decisions, proposal_questions, record_decision


class FactConfig(dg.Config):
    value: str = Field(default="", description="The value, the same in every language (a number: '1,500').")
    value_by_language: dict[str, str] = Field(
        default_factory=dict, description="Or the value written per language: en, it and id."
    )
    unit: str = Field(default="", description="The unit, the same in every language ('USD').")
    unit_by_language: dict[str, str] = Field(default_factory=dict, description="Or the unit per language.")
    as_of: str = Field(description="When the value was checked, YYYY-MM-DD.")
    review_by: str = Field(
        description="When to check it again, YYYY-MM-DD, after as_of: past it, its answers go to Claude."
    )
    source: str = Field(description="Where the value comes from.")


class IntentDecisionConfig(dg.Config):
    proposal_id: str = Field(
        default="",
        description="The proposal decided on, from proposed_intents' preview (2026-12-04-1). Empty: republish what "
        "is accepted, deciding nothing.",
    )
    decision: Literal["accept", "reject"] = Field(
        default="accept", description="accept (again, to edit what was accepted) or reject; the latest holds."
    )
    intent: str = Field(default="", description="The new intent's name: lowercase letters, digits, underscores.")
    require: list[str] = Field(default_factory=list, description="Term groups a message must name, every one.")
    optional: list[str] = Field(default_factory=list, description="Term groups a message may also name.")
    new_terms: dict[str, list[str]] = Field(
        default_factory=dict, description="Terms to add, by group: an existing group is extended, a new one created."
    )
    max_words: int = Field(default=24, ge=1, description="Longer messages are left to the responder.")
    phrasings: dict[str, list[str]] = Field(
        default_factory=dict, description="Seed phrasings in your own words, per language: en, it and id."
    )
    reference: dict[str, str] = Field(
        default_factory=dict,
        description="The reference answer per language; numbers only through {fact_id} placeholders.",
    )
    near_misses: dict[str, list[str]] = Field(
        default_factory=dict, description="Questions with the same terms that ask something else, per language."
    )
    facts: dict[str, FactConfig] = Field(
        default_factory=dict, description="New facts, or new values of existing ones, by fact id."
    )


@dg.asset(
    group_name="cache",
    kinds={"lancedb"},
    code_version=asset_code_version(__name__),
    automation_condition=dg.AutomationCondition.code_version_changed(),
    description="The proposals an analyst accepted as intents (review_intent_proposal job), added to the team's "
    "files when intent_catalogue and curated_facts are built. Materialized without a proposal_id it republishes "
    "what is accepted.",
)
def accepted_intents(context: dg.AssetExecutionContext, config: IntentDecisionConfig, stores: StoresResource):
    db = stores.lance()
    if config.proposal_id:
        _decide(db, config, context.run_id)
    current = accepted(db)
    catalogue = fitted(with_accepted, load_intents(), current)
    facts = fitted(facts_with_accepted, load_facts(), current)
    decisions = latest_decisions(db)
    return dg.MaterializeResult(
        data_version=dg.DataVersion(accepted_version(current)),
        metadata={
            "decided_now": config.proposal_id or "nothing",
            "accepted": len(current),
            "rejected": sum(row["decision"] == REJECT for row in decisions),
            "intents": len(catalogue.intents),
            "facts": len(facts.facts),
            "preview": markdown_table(
                ["proposal", "decision", "intent", "phrasings", "facts", "decided at"],
                (
                    [
                        row["proposal"],
                        row["decision"],
                        row["intent"] or "",
                        *_counts(row),
                        row["decided_at"].isoformat(timespec="seconds"),
                    ]
                    for row in reversed(decisions)
                ),
                limit=20,
                empty="No proposal decided yet.",
            ),
        },
    )


def fitted(merge, seed, current: list[AcceptedIntent]):
    """The team's file merged with what is accepted; one that no longer fits it (a seed intent took an accepted
    one's name) fails the run, saying what to do."""
    try:
        return merge(seed, current)
    except ValueError as error:
        raise dg.Failure(f"The accepted intents no longer fit the team's files: {validation_message(error)}") from None


def _decide(db, config: IntentDecisionConfig, run_id: str) -> None:
    """Store the decision only once it is whole and valid: a refused launch writes nothing."""
    proposal = config.proposal_id
    questions = proposal_questions(db, proposal)
    if not PROPOSAL_ID.fullmatch(proposal) or not (
        questions or any(r["proposal"] == proposal for r in latest_decisions(db))
    ):
        raise dg.Failure(
            f"No proposal has the id '{proposal}'. Copy an id from proposed_intents' preview; a proposal whose "
            "every question was forgotten before any decision can no longer be decided."
        )
    if config.decision == REJECT:
        if config.intent or config.phrasings or config.reference or config.facts or config.new_terms:
            raise dg.Failure("A rejection takes only proposal_id and decision: remove the intent's content.")
        record_decision(db, proposal, REJECT, None, run_id)
        return
    item = _accepted_intent(config)
    copies = copied_questions(item, questions)
    if copies:
        raise dg.Failure(
            f"{', '.join(copies)} repeat(s) a question users asked in proposal {proposal}: the catalogue holds the "
            "team's words, never a user's. Write them in your own words."
        )
    others = accepted(db, leaving_out=proposal)
    try:
        catalogue = with_accepted(load_intents(), [*others, item])
        facts = facts_with_accepted(load_facts(), [*others, item])
    except ValueError as error:
        raise dg.Failure(f"Intent '{item.name}' refused: {validation_message(error)}") from None
    problems = accepted_problems(catalogue, facts, item)
    if problems:
        raise dg.Failure(f"Intent '{item.name}' refused: {'; '.join(problems)}")
    record_decision(db, proposal, ACCEPT, item, run_id)


def _accepted_intent(config: IntentDecisionConfig) -> AcceptedIntent:
    valueless = sorted(fact_id for fact_id, fact in config.facts.items() if not (fact.value or fact.value_by_language))
    if valueless:
        raise dg.Failure(f"Intent '{config.intent}' refused: facts {valueless} have no value or value_by_language.")
    try:
        return AcceptedIntent(
            proposal=config.proposal_id,
            name=config.intent,
            intent={
                "require": config.require,
                "optional": config.optional,
                "max_words": config.max_words,
                "phrasings": config.phrasings,
                "reference": config.reference,
                "near_misses": config.near_misses,
            },
            new_terms=config.new_terms,
            facts={
                fact_id: {
                    "value": fact.value_by_language or fact.value,
                    "unit": fact.unit_by_language or fact.unit,
                    "as_of": fact.as_of,
                    "review_by": fact.review_by,
                    "source": fact.source,
                }
                for fact_id, fact in config.facts.items()
            },
        )
    except ValidationError as error:
        raise dg.Failure(f"Intent '{config.intent}' refused: {validation_message(error)}") from None


def _counts(row: dict) -> tuple[int | str, int | str]:
    if row["content"] is None:
        return "", ""
    item = AcceptedIntent.model_validate_json(row["content"])
    return sum(map(len, item.intent.phrasings.values())), len(item.facts)
