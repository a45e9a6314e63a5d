"""What the server knows of a user, and forgetting them."""

from litestar import Controller, delete, get

from serving.auth import Tenant
from serving.errors import AUTHENTICATED, Forbidden, NotFound, Unavailable, documented
from serving.responder import Grounding, data_block
from serving.schemas import Forgotten, MemoryView
from serving.services import Services


def _check_owner(services: Services, tenant: Tenant, user_id: str) -> None:
    owner = services.conversations.owner_of(user_id)
    if owner is None:
        raise NotFound(f"user '{user_id}' is unknown.")
    if owner != tenant.name:
        raise Forbidden(f"user '{user_id}' belongs to another API key.")


class UserController(Controller):
    path = "/v1/users"
    tags = ["users"]

    @get(
        "/{user_id:str}/memory",
        operation_id="getUserMemory",
        summary="The memory used to ground replies to this user",
        responses=documented(403, 404, *AUTHENTICATED),
    )
    async def memory(self, user_id: str, tenant: Tenant, services: Services) -> MemoryView:
        _check_owner(services, tenant, user_id)
        profile = services.profiles.profile(tenant.name, user_id)
        memory = await services.profiles.lookup(tenant.name, user_id)
        return MemoryView(
            user_id=user_id,
            known=profile is not None,
            profile=profile.model_dump(mode="json") if profile else None,
            grounding_text=data_block(services.responder.prompt, Grounding(profile=memory)),
        )

    @delete(
        "/{user_id:str}",
        operation_id="forgetUser",
        summary="Forget the user everywhere the server writes",
        status_code=200,
        responses=documented(403, 404, 503, *AUTHENTICATED),
    )
    async def forget(self, user_id: str, tenant: Tenant, services: Services) -> Forgotten:
        _check_owner(services, tenant, user_id)
        try:
            derived = await services.profiles.forget(user_id)
        except Exception as exc:  # nothing is half-done yet: the log still knows the user, so a retry works
            raise Unavailable(f"user '{user_id}' could not be forgotten right now (the profile store refused the delete); repeat the DELETE.") from exc
        removed = await services.conversations.forget(tenant.name, user_id)
        return Forgotten(user_id=user_id, events_removed=removed, derived_rows_removed=derived)
