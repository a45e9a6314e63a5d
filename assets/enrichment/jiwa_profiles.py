"""Memory: each user's JIWA profile, folded from their analyses and corrections, checked, and published in one
commit."""

import random
from datetime import timedelta

import dagster as dg
from pydantic import Field, ValidationError

from assets.enrichment.analyses import conversation_analyses
from assets.previews import markdown_table
from assets.publishing import hold, publish
from assets.resources import StoresResource
from assets.versions import asset_code_version
from jiwa.domain.analysis import AnalysedConversation
from jiwa.domain.profile import Correction, Profile
from jiwa.domain.rows.memory import ProfileRow
from jiwa.enrichment.corrections import corrections_by_user
from jiwa.enrichment.profile_merge import build_profile, sources_fingerprint
from jiwa.forgetting import commit_user_rows
from jiwa.store.analyses import analyses_of, profile_id, stored_profiles, users_with_analyses
from jiwa.store.lance import delete_where
from jiwa.store.schema import ANALYSES_TABLE, PROFILES_TABLE, profiles_schema

PROFILE_CHECKS = ("profiles_bounded", "profiles_deterministic")
MAX_PROFILE_BYTES = 16_000
# The profile step re-reads analyses this far behind its watermark, for analysis runs that committed late.
_WATERMARK_SAFETY = timedelta(hours=1)


class ProfilesConfig(dg.Config):
    rebuild_all: bool = Field(
        default=False, description="Rebuild every user's profile, not only those with new analyses."
    )


@dg.asset(
    group_name="enrichment",
    kinds={"lancedb"},
    deps=[conversation_analyses],
    code_version=asset_code_version(__name__),
    check_specs=[dg.AssetCheckSpec(name, asset="jiwa_profiles", blocking=True) for name in PROFILE_CHECKS],
    description="Each user's JIWA memory: stated facts and jiwa_context (personality, emotional state and trust with "
    "their history, preferences, life phase, dreams, anxieties, cultural bridge), folded from their analyses.",
)
def jiwa_profiles(context: dg.AssetExecutionContext, config: ProfilesConfig, stores: StoresResource):
    db = stores.lance()
    if ANALYSES_TABLE not in db.table_names():
        # Before any conversation is analysed: held at once, with no user considered and no preview.
        return hold({"users_updated": 0}, _checks([], {}), "no conversation analysed yet").result()
    stored = stored_profiles(db)
    if config.rebuild_all or not stored:
        users = users_with_analyses(db)
    else:
        watermark = max(row["updated_at"] for row in stored.values()) - _WATERMARK_SAFETY
        users = users_with_analyses(db, since=watermark, run_id=context.run_id)
        # A correction alone changes a profile too (the server applied it at once; this makes it last).
        corrected = corrections_by_user(e for e in stores.event_reader().corrections() if e.created_at > watermark)
        users = sorted(set(users) | set(corrected))
    return rebuild_profiles(context, stores, users)


def rebuild_profiles(
    context: dg.AssetExecutionContext, stores: StoresResource, users: list[tuple[str, str]]
) -> dg.MaterializeResult:
    """Fold these users' analyses into their profiles, check the batch, and publish it in one commit."""
    db = stores.lance()
    stored = stored_profiles(db)
    analyses = analyses_of(db, users)
    corrections = corrections_by_user(stores.event_reader().corrections()) if analyses else {}
    records, built, unchanged = [], {}, 0
    for (tenant, user_id), items in sorted(analyses.items()):
        corrected = corrections.get((tenant, user_id), [])
        fingerprint = sources_fingerprint(items, corrected)
        row_id = profile_id(tenant, user_id)
        if stored.get(row_id, {}).get("sources_fingerprint") == fingerprint:
            unchanged += 1
            continue
        profile = build_profile(user_id, tenant, items, corrected)
        if profile.first_seen is None:
            raise ValueError(f"profile {row_id} was folded from no conversation")
        built[row_id] = (items, corrected)
        records.append(
            ProfileRow(
                id=row_id,
                tenant=profile.tenant,
                user_id=user_id,
                # A correction counts as new evidence, so servers re-read the row it changed.
                updated_at=max([item.analysed_at for item in items] + [c.at for c in corrected]),
                first_seen=profile.first_seen,
                conversations=profile.conversations,
                sources_fingerprint=fingerprint,
                profile=profile.model_dump_json(),
                run_id=context.run_id,
            ).to_columns()
        )

    checks = _checks(records, built)
    metadata = {
        "users_considered": len(users),
        "users_updated": len(records),
        "unchanged_skipped": unchanged,
        # Aggregates only: Dagster's storage outlives any forget, so no profile id (a hash of the user's id, which
        # anyone who knows the id could recompute) and nothing a profile says goes into its metadata.
        "preview": markdown_table(
            ["conversations per profile", "profiles", "profile bytes (largest)"],
            (
                [
                    count,
                    sum(1 for r in records if r["conversations"] == count),
                    max(len(r["profile"].encode()) for r in records if r["conversations"] == count),
                ]  # fmt: skip
                for count in sorted({r["conversations"] for r in records})
            ),
            limit=10,
        ),
    }

    def commit() -> dict:
        # Versions before (tenant, user_id) keyed a profile by the bare user id; those rows go once rebuilt.
        legacy = delete_where(db, PROFILES_TABLE, "id = user_id")
        committed = commit_user_rows(
            db, stores.event_reader(), PROFILES_TABLE, profiles_schema(), records, f"profiles-{context.run_id[:8]}"
        )
        return {"legacy_rows_removed": legacy, **committed}

    return publish(context, "profiles", metadata, checks, commit, nothing_new=not records).result()


def _checks(
    records: list[dict], built: dict[str, tuple[list[AnalysedConversation], list[Correction]]]
) -> list[dg.AssetCheckResult]:
    oversized, invalid = [], []
    for record in records:
        if len(record["profile"].encode()) > MAX_PROFILE_BYTES:
            oversized.append(record["id"])
        try:
            Profile.model_validate_json(record["profile"])
        except ValidationError:
            invalid.append(record["id"])
    # The merge promises order does not matter: rebuild each profile from shuffled analyses and corrections.
    shuffler = random.Random(0)
    unstable = []
    for record in records:
        analysed, corrections = built[record["id"]]
        items, corrected = list(analysed), list(corrections)
        shuffler.shuffle(items)
        shuffler.shuffle(corrected)
        rebuilt = build_profile(record["user_id"], record["tenant"], items + items[:1], corrected + corrected[:1])
        if rebuilt.model_dump_json() != record["profile"]:
            unstable.append(record["id"])
    return [
        dg.AssetCheckResult(
            check_name="profiles_bounded",
            passed=not oversized and not invalid,
            description=f"{len(oversized)} over {MAX_PROFILE_BYTES} bytes, {len(invalid)} failing the Profile model",
        ),
        dg.AssetCheckResult(
            check_name="profiles_deterministic",
            passed=not unstable,
            description="shuffled and repeated analyses give the same profiles"
            if not unstable
            else f"unstable: {unstable[:5]}",
        ),
    ]
