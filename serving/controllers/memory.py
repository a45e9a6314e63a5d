"""A user's memory: what grounds replies to them and its evidence, and their corrections of it."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, delete, get, put

from jiwa.domain.profile import Profile, normalized
from jiwa.enrichment.corrections import FIELD_KINDS, correction_of
from jiwa.prompts import Prompt
from serving.auth import Tenant
from serving.conversations import ConversationStore
from serving.domain import echoed
from serving.errors import AUTHENTICATED, JiwaError, NotFound, documented
from serving.grounding import Grounding, data_block
from serving.memory import BLOCK_KEYS, TRANSIENT, Fading, ago, recalled
from serving.ownership import Ownership
from serving.profiles import ProfileStore
from serving.schemas import MemoryCorrection, MemoryView, RememberedValue, is_blank

_FIELD_DOC = "A remembered field of the profile: " + ", ".join(FIELD_KINDS) + "."


class MemoryController(Controller):
    path = "/v1/users/{user_id:str}/memory"
    tags = ["users"]

    @get(
        operation_id="getUserMemory",
        summary="The memory used to ground replies to this user, each value with its evidence",
        responses=documented(404, *AUTHENTICATED),
    )
    async def memory(
        self, user_id: str, tenant: Tenant, owner: Ownership, profiles: ProfileStore, responder_prompt: Prompt
    ) -> MemoryView:
        await owner.user(user_id)
        return await _view(profiles, responder_prompt, tenant.name, user_id)

    @put(
        "/{field:str}",
        operation_id="correctUserMemory",
        summary="Correct one remembered field; on a list field the value is added",
        description="The correction is served at once and outranks later inferences of the field until the user "
        "states otherwise (a later stated fact of a different value). " + _FIELD_DOC,
        responses=documented(400, 404, *AUTHENTICATED),
    )
    async def correct(
        self,
        user_id: str,
        field: str,
        data: MemoryCorrection,
        tenant: Tenant,
        owner: Ownership,
        profiles: ProfileStore,
        conversations: ConversationStore,
        responder_prompt: Prompt,
    ) -> MemoryView:
        await owner.user(user_id)
        _known_field(field)
        if is_blank(data.value):
            raise JiwaError("value is empty; send the value to remember, or DELETE the field.", field="value")
        await _store(conversations, profiles, tenant.name, user_id, field, "set", data.value.strip())
        return await _view(profiles, responder_prompt, tenant.name, user_id)

    @delete(
        "/{field:str}",
        operation_id="removeUserMemory",
        summary="Remove one remembered field, or one value of a list field",
        description='The value to remove goes in the body, `{"value": ...}`, never in the URL, so no access log '
        "holds it; without a body the whole field goes. Later conversations do not bring the removed value back "
        "unless the user states it again. " + _FIELD_DOC,
        status_code=200,
        responses=documented(400, 404, *AUTHENTICATED),
    )
    async def remove(
        self,
        user_id: str,
        field: str,
        tenant: Tenant,
        owner: Ownership,
        profiles: ProfileStore,
        conversations: ConversationStore,
        responder_prompt: Prompt,
        data: MemoryCorrection | None = None,
    ) -> MemoryView:
        await owner.user(user_id)
        section, is_list = _known_field(field)
        value = data.value if data else None
        profile = profiles.profile(tenant.name, user_id)
        held = getattr(getattr(profile, section), field) if profile else None
        # Someone not yet remembered holds no value of any field, a list field's included.
        items = () if held is None else held if is_list else (held,)
        matching = [item.value for item in items if value is None or normalized(item.value) == normalized(value)]
        if not matching:
            what = f"value {echoed(value)} of {field}" if value is not None else field
            raise NotFound(f"{what} is not remembered; GET the memory to see what is.", field="value")
        # A one-valued field records the value it removes, so inferences of another value may come later; a list
        # without a value goes whole.
        target = matching[0] if value is not None or not is_list else None
        await _store(conversations, profiles, tenant.name, user_id, field, "remove", target)
        return await _view(profiles, responder_prompt, tenant.name, user_id)


def _known_field(field: str) -> tuple[str, bool]:
    if field not in FIELD_KINDS:
        raise JiwaError(
            f"field {echoed(field)} is not remembered; use one of: {', '.join(FIELD_KINDS)}.", field="field"
        )
    return FIELD_KINDS[field]


async def _store(
    conversations: ConversationStore,
    profiles: ProfileStore,
    tenant: str,
    user_id: str,
    field: str,
    action: str,
    value: str | None,
) -> None:
    """Durable first, then served: a correction the store did not take is never served."""
    event = await conversations.add_correction(tenant, user_id, field, action, value)
    profiles.correct(tenant, user_id, correction_of(event))


async def _view(profiles: ProfileStore, prompt: Prompt, tenant: str, user_id: str) -> MemoryView:
    """The user's memory, and the grounding the responder's prompt makes of it."""
    profile = profiles.profile(tenant, user_id)
    memory = await profiles.lookup(tenant, user_id)
    return MemoryView(
        user_id=user_id,
        known=profile is not None,
        profile=profile.model_dump(mode="json") if profile else None,
        grounding_text=data_block(prompt, Grounding(profile=memory)),
        fields=_evidence(profile, set(memory.block) if memory else set(), profiles.fading) if profile else [],
    )


def _evidence(profile: Profile, grounding: set[str], fading: Fading) -> list[RememberedValue]:
    now = datetime.now(UTC)
    return [
        RememberedValue(
            field=r.field,
            value=r.item.value,
            confidence=r.item.confidence,
            current_confidence=round(r.confidence, 4),
            age_days=round(r.age_days, 2),
            seen=ago(r.item.updated_at, now),
            transient=r.field in TRANSIENT,
            in_grounding=r.in_use and BLOCK_KEYS.get(r.field, r.field) in grounding,
            corrected_by_user=r.item.corrected_at is not None,
            sources=list(r.item.sources),
            turns={source: list(turns) for source, turns in r.item.turns.items()},
        )
        for r in recalled(profile, now, fading)
    ]
