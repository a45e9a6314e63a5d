"""Feedback on an assistant reply, stored beside the turn for the nightly job."""

from litestar import Controller, post

from serving.auth import Tenant
from serving.errors import AUTHENTICATED, Forbidden, JiwaError, NotFound, documented
from serving.schemas import Feedback, FeedbackAck
from serving.services import Services


class MessageController(Controller):
    path = "/v1/messages"
    tags = ["messages"]

    @post(
        "/{message_id:str}/feedback",
        operation_id="rateMessage",
        summary="Rate an assistant reply",
        status_code=201,
        responses=documented(400, 403, 404, *AUTHENTICATED),
    )
    async def feedback(self, message_id: str, data: Feedback, tenant: Tenant, services: Services) -> FeedbackAck:
        turn = await services.conversations.find_message(message_id)
        if turn is None:
            raise NotFound(f"message '{message_id}' does not exist.")
        if turn.tenant != tenant.name:
            raise Forbidden(f"message '{message_id}' belongs to another API key.")
        if turn.role != "assistant":
            raise JiwaError("feedback applies to assistant replies; this message is the user's own.", field="message_id")
        await services.conversations.add_feedback(turn, data.rating, data.comment)
        return FeedbackAck(message_id=message_id, rating=data.rating)
