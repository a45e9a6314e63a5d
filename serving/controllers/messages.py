"""Feedback on an assistant reply, stored beside the turn for the nightly job."""

from litestar import Controller, post

from serving.errors import AUTHENTICATED, Forbidden, JiwaError, documented, echoed
from serving.ownership import Ownership
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
    async def feedback(self, message_id: str, data: Feedback, owner: Ownership, services: Services) -> FeedbackAck:
        turn = await owner.message(message_id)
        if turn.role != "assistant":
            raise JiwaError(
                "feedback applies to assistant replies; this message is the user's own.", field="message_id"
            )
        if turn.user_id != data.user_id:
            raise Forbidden(
                f"message {echoed(message_id)} is a reply to another user; only the user who received it can rate it.",
                field="user_id",
            )
        await services.conversations.add_feedback(turn, data.rating, data.comment)
        return FeedbackAck(message_id=message_id, rating=data.rating)
