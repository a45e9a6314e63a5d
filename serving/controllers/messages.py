"""Feedback on an assistant reply, stored beside the turn for the nightly job."""

from __future__ import annotations

from litestar import Controller, post

from serving.conversations import ConversationStore
from serving.domain import echoed
from serving.errors import AUTHENTICATED, Forbidden, JiwaError, documented
from serving.ownership import Ownership
from serving.schemas import Feedback, FeedbackAck


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
    async def feedback(
        self, message_id: str, data: Feedback, owner: Ownership, conversations: ConversationStore
    ) -> FeedbackAck:
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
        await conversations.add_feedback(turn, data.rating, data.comment)
        return FeedbackAck(message_id=message_id, rating=data.rating)
