"""The events hub's tables (Backstage's ``event_bus_events`` and ``event_bus_subscriptions``).

Revision ID: 0001_event_bus
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_event_bus"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the event and subscription tables."""
    op.create_table(
        "event_bus_events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=True),
        sa.Column(
            "notified_subscribers",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default="{}",
        ),
    )
    op.create_index("event_bus_events_topic_idx", "event_bus_events", ["topic"])
    op.create_table(
        "event_bus_subscriptions",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("read_until", sa.BigInteger(), nullable=False),
        sa.Column("topics", postgresql.ARRAY(sa.Text()), nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("event_bus_subscriptions")
    op.drop_table("event_bus_events")
