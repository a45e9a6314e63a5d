"""Nightly learning: every night LLAMA reads yesterday's conversations (one daily partition per Bali day) and writes one
lesson per conversation. A lesson is kept only if it passes the screen for planted content and users' own words,
the truth gate against the team's curated base, and is not already known; kept lessons are user data (they came
from one person's conversation) and wait in nightly_findings until enough people support them (learned_insights)."""

import time
from collections import Counter

import dagster as dg
from pydantic import Field

from assets.checks import none_of, rows_match_schema
from assets.knowledge.insights import VERIFY_PROMPT
from assets.nightly.days import day_conversations, nightly_partitions
from assets.previews import markdown_table
from assets.publishing import publish
from assets.resources import (
    LLAMA_RETRY_POLICY,
    AnalysisResource,
    EmbedderResource,
    KnowledgeResource,
    LlamaResource,
    StoresResource,
)
from assets.versions import asset_code_version
from jiwa.catalogue.curated import load_curated
from jiwa.catalogue.topics import load_catalogue
from jiwa.domain.insights import NightlyFinding
from jiwa.domain.rows.insights import LessonColumns
from jiwa.domain.rows.learning import FindingRow
from jiwa.forgetting import commit_user_rows
from jiwa.knowledge import screen
from jiwa.knowledge.insight_rows import closest_existing, insight_fields, search_text
from jiwa.knowledge.truth_gate import GateReference, LlamaVerifier, vet
from jiwa.llm.progress import Progress
from jiwa.prompts import as_data, load_prompt
from jiwa.store.insights import published_vectors
from jiwa.store.lance import sql_literal
from jiwa.store.schema import FINDINGS_TABLE, findings_schema, insights_schema

FINDING_PROMPT = load_prompt("nightly_finding")
NIGHTLY_CHECKS = ("findings_schema_valid", "findings_provenance_complete")


class NightlyConfig(dg.Config):
    max_conversations: int = Field(
        default=300, ge=1, description="Most conversations LLAMA reads in one night; rated ones first."
    )
    dedup_threshold: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Cosine similarity to the knowledge base at which a finding is a duplicate; unset: JIWA_INSIGHTS_DEDUP_THRESHOLD.",
    )


@dg.asset(
    partitions_def=nightly_partitions,
    group_name="nightly",
    kinds={"llamacpp", "lancedb"},
    pool="llama",
    retry_policy=LLAMA_RETRY_POLICY,
    # The knowledge base as it stands decides what is already known; the curated base is the truth gate's reference.
    deps=[
        "conversation_log",
        "curated_insights",
        dg.AssetDep("cultural_insights", partition_mapping=dg.AllPartitionMapping()),
    ],
    code_version=asset_code_version(__name__, model=True, embedder=True),
    check_specs=[dg.AssetCheckSpec(name, asset="nightly_findings", blocking=True) for name in NIGHTLY_CHECKS],
    description="One lesson per conversation of one Bali day, from the conversation and its feedback: cultural "
    "patterns, unmet needs, phrasings that worked or not. Screened, truth-gated against the curated base and "
    "deduplicated against the knowledge base; kept lessons are user data, forgotten with their user.",
)
def nightly_findings(
    context: dg.AssetExecutionContext,
    config: NightlyConfig,
    llama: LlamaResource,
    embedder: EmbedderResource,
    stores: StoresResource,
    analysis: AnalysisResource,
    knowledge: KnowledgeResource,
):
    started = time.perf_counter()
    day = context.partition_key
    policy = analysis.settings()
    knobs = knowledge.settings()
    reader = stores.event_reader()
    transcripts, notes = day_conversations(reader, day, policy.conversation_max_days)
    rated = {t.conversation_id for t in transcripts if any(turn.message_id in notes for turn in t.turns)}
    chosen = sorted(
        (t for t in transcripts if t.user_turns), key=lambda t: (t.conversation_id not in rated, t.conversation_id)
    )[: config.max_conversations]

    llm = llama.structured(context.log)
    progress = Progress(context.log, llm, total=len(chosen), label="findings")
    written = []
    for index, transcript in enumerate(chosen):
        own_notes = {turn.message_id: notes[turn.message_id] for turn in transcript.turns if turn.message_id in notes}
        finding = llm.generate(
            FINDING_PROMPT,
            NightlyFinding,
            variant=index,
            transcript=transcript.render(policy.analysis_transcript_chars, own_notes),
            feedback=as_data("; ".join(own_notes.values())) or "none",
        )
        if finding is not None:
            # What the user wrote in this conversation: their turns and their feedback comments.
            written.append((transcript, finding, [*transcript.user_turns.values(), *own_notes.values()]))
        progress.step()
    generated_s = time.perf_counter() - started
    generation_rates = llm.stats.rate_metadata()

    catalogue = load_catalogue()
    curated = load_curated(catalogue)
    filtered = Counter({"schema_invalid": llm.stats.dropped})
    screened = screen.screen(
        [finding for _, finding, _ in written],
        [texts for _, _, texts in written],
        screen.team_vocabulary(catalogue, curated),
    )
    filtered.update(screened.dropped)
    survivors = [written[i][:2] for i in screened.kept]

    model = embedder.embedder()
    reference = GateReference.build(catalogue, curated, model)
    placed = [
        (transcript, reference.closest_topic(vector), finding)
        for (transcript, finding), vector in zip(
            survivors, model.embed([f"{f.insight} {f.guidance}" for _, f in survivors]), strict=True
        )
    ]
    verifier = LlamaVerifier(llm, VERIFY_PROMPT) if knobs.insights_verify_with_model else None
    vetted = []
    for transcript, topic, finding in placed:
        # One at a time, so each vetted lesson (its off-language triggers removed) stays with its conversation.
        gate = vet(
            [(topic, finding)],
            reference,
            model,
            min_agreement=knobs.insights_min_agreement,
            max_gap=knobs.insights_max_agreement_gap,
            verifier=verifier,
        )
        filtered.update(gate.dropped)
        vetted += [(transcript, *passed) for passed in gate.passed]

    schema = findings_schema(model.model_name, model.dimension)
    vectors = model.embed([search_text(topic, finding) for _, topic, finding in vetted])
    known = published_vectors(stores.lance(), insights_schema(model.model_name, model.dimension), "true")
    # Only against the knowledge base: the same lesson from several conversations is support, not a duplicate.
    novel = closest_existing(vectors, known) < (config.dedup_threshold or knobs.insights_dedup_threshold)
    filtered["known_already"] += int((~novel).sum())
    kept = [
        _finding_row(*lesson, vector.tolist(), day, llm.model_id, context.run_id)
        for lesson, vector, ok in zip(vetted, vectors, novel, strict=True)
        if ok
    ]

    checks = _checks(kept, schema, day)
    metadata = {
        "day": day,
        "conversations": len(transcripts),
        "read": len(chosen),
        "rated_conversations": len(rated),
        "findings": len(written),
        "kept": len(kept),
        "filtered": dg.MetadataValue.json(dict(sorted(filtered.items()))),
        "llama_s": round(generated_s, 1),
        "llama_completion_tokens": llm.stats.completion_tokens,
        # The findings' generation only: the truth gate's second reading (also LLAMA) comes after llama_s.
        **generation_rates,
        "elapsed_s": round(time.perf_counter() - started, 1),
        # Counts only: a finding came from one person's conversation.
        "preview": markdown_table(
            ["kind", "topic", "lessons kept"],
            ([kind, topic, n] for (kind, topic), n in Counter((r["kind"], r["topic"]) for r in kept).most_common()),
            empty="No lesson of this day passed the screen and the truth gate.",
        ),
    }
    # Replaces exactly this day's findings, so a rerun or a backfill of the day never duplicates them.
    return publish(
        context,
        f"the findings of {day}",
        metadata,
        checks,
        lambda: commit_user_rows(
            stores.lance(),
            reader,
            FINDINGS_TABLE,
            schema,
            kept,
            f"findings-{day}",
            replace_scope=f"day = {sql_literal(day)}",
        ),
    ).result()


def _finding_row(transcript, topic, finding, vector: list[float], day: str, model_id: str, run_id: str) -> dict:
    return FindingRow(
        id=transcript.conversation_id,
        tenant=transcript.tenant,
        user_id=transcript.user_id,
        day=day,
        ended_at=max(turn.created_at for turn in transcript.turns),
        lesson=LessonColumns(kind=finding.kind, content=insight_fields(topic, finding), vector=vector),
        model=model_id,
        prompt_version=FINDING_PROMPT.version,
        run_id=run_id,
    ).to_columns()


def _checks(rows: list[dict], schema, day: str) -> list[dg.AssetCheckResult]:
    return [
        rows_match_schema("findings_schema_valid", rows, schema),
        none_of(
            "findings_provenance_complete",
            [r["id"] for r in rows if r["day"] != day or not r["tenant"] or not r["user_id"]],
            "every finding names its tenant, user, day and conversation",
            "{count} findings without full provenance: {sample}",
        ),
    ]
