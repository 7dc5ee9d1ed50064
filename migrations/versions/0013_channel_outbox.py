"""channel posts: wins, challenges and quick polls delivered through the delivery table

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:50:00.000000

"""

from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema (reserved; filled in by the change that needs it)."""


def downgrade() -> None:
    """Downgrade schema."""
