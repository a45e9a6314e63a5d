"""The conversation store's tables, the same for SQLite and PostgreSQL. Importing this module opens nothing.

The tenant leads every key and index: a user is (tenant, user_id), and the same id under two tenants is two people.
Times are microseconds since the epoch, UTC, so both engines and Arrow read them alike.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("conversation_id", sa.String(64)),
    sa.Column("message_id", sa.String(64)),
    sa.Column("role", sa.String(16)),
    sa.Column("content", sa.Text),
    sa.Column("language", sa.String(8)),
    sa.Column("source", sa.String(32)),
    sa.Column("cache_intent", sa.String(100)),
    sa.Column("cache_answer", sa.String(200)),
    sa.Column("insight_ids", sa.Text),  # a JSON list
    sa.Column("model", sa.String(100)),
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("rating", sa.String(8)),
    sa.Column("comment", sa.Text),
    sa.PrimaryKeyConstraint("tenant", "event_id", name="events_pk"),
    # A conversation's events in order; a message by id; a user's events (forgetting); the pipeline's time windows.
    sa.Index("events_by_conversation", "tenant", "conversation_id", "created_us"),
    sa.Index("events_by_message", "tenant", "message_id"),
    sa.Index("events_by_user", "tenant", "user_id", "created_us"),
    sa.Index("events_by_time", "created_us"),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("started_us", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant", "conversation_id", name="conversations_pk"),
    sa.Index("conversations_by_user", "tenant", "user_id"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("first_seen_us", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant", "user_id", name="users_pk"),
)

# When a user was forgotten: the pipeline sweeps what runs under way wrote about them, and every server process
# stops serving their profile. Only the bare id stays.
forgets = sa.Table(
    "forgets",
    metadata,
    sa.Column("tenant", sa.String(200), nullable=False),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("forgotten_us", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant", "user_id", name="forgets_pk"),
    sa.Index("forgets_by_time", "forgotten_us"),
)
