"""The public keys of a plugin's signing keys (Backstage's ``backstage_backend_public_keys__keys``).

Revision ID: 0001_keys
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_keys"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the key table (``expires_at`` in seconds since the epoch)."""
    op.create_table(
        "backstage_backend_public_keys__keys",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Double[float](asdecimal=False), nullable=False),
    )


def downgrade() -> None:
    """Drop the key table."""
    op.drop_table("backstage_backend_public_keys__keys")
