"""The conversation store: events, conversations, users and forgets, keyed by tenant.

Written out in full, as migrations are: the schema module describes the latest state, this file the first one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

_TENANT = 200
_ID = 64


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("tenant", sa.String(_TENANT), nullable=False),
        sa.Column("event_id", sa.String(_ID), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.String(_TENANT), nullable=False),
        sa.Column("conversation_id", sa.String(_ID)),
        sa.Column("message_id", sa.String(_ID)),
        sa.Column("role", sa.String(16)),
        sa.Column("content", sa.Text),
        sa.Column("language", sa.String(8)),
        sa.Column("source", sa.String(32)),
        sa.Column("cache_intent", sa.String(100)),
        sa.Column("cache_answer", sa.String(200)),
        sa.Column("insight_ids", sa.Text),
        sa.Column("model", sa.String(100)),
        sa.Column("input_tokens", sa.Integer),
        sa.Column("output_tokens", sa.Integer),
        sa.Column("rating", sa.String(8)),
        sa.Column("comment", sa.Text),
        sa.PrimaryKeyConstraint("tenant", "event_id", name="events_pk"),
    )
    op.create_index("events_by_conversation", "events", ["tenant", "conversation_id", "created_us"])
    op.create_index("events_by_message", "events", ["tenant", "message_id"])
    op.create_index("events_by_user", "events", ["tenant", "user_id", "created_us"])
    op.create_index("events_by_time", "events", ["created_us"])
    op.create_table(
        "conversations",
        sa.Column("tenant", sa.String(_TENANT), nullable=False),
        sa.Column("conversation_id", sa.String(_ID), nullable=False),
        sa.Column("user_id", sa.String(_TENANT), nullable=False),
        sa.Column("started_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "conversation_id", name="conversations_pk"),
    )
    op.create_index("conversations_by_user", "conversations", ["tenant", "user_id"])
    op.create_table(
        "users",
        sa.Column("tenant", sa.String(_TENANT), nullable=False),
        sa.Column("user_id", sa.String(_TENANT), nullable=False),
        sa.Column("first_seen_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "user_id", name="users_pk"),
    )
    op.create_table(
        "forgets",
        sa.Column("tenant", sa.String(_TENANT), nullable=False),
        sa.Column("user_id", sa.String(_TENANT), nullable=False),
        sa.Column("forgotten_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "user_id", name="forgets_pk"),
    )
    op.create_index("forgets_by_time", "forgets", ["forgotten_us"])


def downgrade() -> None:
    for table in ("forgets", "users", "conversations", "events"):
        op.drop_table(table)
