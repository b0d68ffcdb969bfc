"""A second migration: the ``done`` column."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_done"
down_revision = "0001_todos"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``todos.done``."""
    op.add_column("todos", sa.Column("done", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop ``todos.done``."""
    op.drop_column("todos", "done")
