"""The scheduler's task table (Backstage's ``backstage_backend_tasks__tasks``).

Times are seconds since the epoch, read from the database clock.

Revision ID: 0001_tasks
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_tasks"
down_revision = None
branch_labels = None
depends_on = None


def _epoch() -> sa.Double[float]:
    """Seconds since the epoch."""
    return sa.Double[float](asdecimal=False)


def upgrade() -> None:
    """Create the task table."""
    op.create_table(
        "backstage_backend_tasks__tasks",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("next_run_start_at", _epoch(), nullable=True),
        sa.Column("current_run_ticket", sa.Text(), nullable=True),
        sa.Column("current_run_started_at", _epoch(), nullable=True),
        sa.Column("current_run_expires_at", _epoch(), nullable=True),
        sa.Column("last_run_error_json", sa.Text(), nullable=True),
        sa.Column("last_run_ended_at", _epoch(), nullable=True),
    )


def downgrade() -> None:
    """Drop the task table."""
    op.drop_table("backstage_backend_tasks__tasks")
