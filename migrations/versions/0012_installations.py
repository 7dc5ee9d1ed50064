"""Slack installations: uninstall and revoked tokens stop a workspace's posts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:50:00.000000

"""

from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema (reserved; filled in by the change that needs it)."""


def downgrade() -> None:
    """Downgrade schema."""
