"""A test plugin's first migration: the todos table, and a type (which races without a lock)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_todos"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``todos``."""
    op.create_table(
        "todos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    """Drop ``todos``."""
    op.drop_table("todos")
