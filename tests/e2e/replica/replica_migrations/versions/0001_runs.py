"""The replica test plugin's table of task runs."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_runs"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``runs``: which replica ran which task, by the database clock."""
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("replica", sa.Text(), nullable=False),
        sa.Column("at", sa.Double[float](asdecimal=False), nullable=False),
    )


def downgrade() -> None:
    """Drop ``runs``."""
    op.drop_table("runs")
