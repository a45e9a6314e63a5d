"""Forgetting a user (what the server knows of them is serving.controllers.memory)."""

from __future__ import annotations

import lancedb
from litestar import Controller, delete

from jiwa.forgetting import ForgetIncomplete, forget_user
from jiwa.settings import Settings
from serving.auth import Tenant
from serving.conversations import ConversationStore
from serving.domain import echoed
from serving.errors import AUTHENTICATED, Unavailable, documented
from serving.ownership import Ownership
from serving.profiles import ProfileStore
from serving.schemas import Forgotten


class UserController(Controller):
    path = "/v1/users"
    tags = ["users"]

    @delete(
        "/{user_id:str}",
        operation_id="forgetUser",
        summary="Forget the user everywhere the server writes",
        status_code=200,
        responses=documented(404, 503, *AUTHENTICATED),
    )
    async def forget(
        self,
        user_id: str,
        tenant: Tenant,
        owner: Ownership,
        profiles: ProfileStore,
        conversations: ConversationStore,
        db: lancedb.DBConnection,
        settings: Settings,
    ) -> Forgotten:
        await owner.user(user_id)
        try:
            report = await forget_user(
                tenant.name,
                user_id,
                memory=profiles,
                db=db,
                log=conversations,
                learning=settings.learning,
            )
        except ForgetIncomplete as exc:
            raise Unavailable(
                f"user {echoed(user_id)} could not be forgotten right now ({exc}); repeat the DELETE."
            ) from exc
        return Forgotten(
            user_id=user_id, events_removed=report.events_removed, derived_rows_removed=report.derived_rows_removed
        )
