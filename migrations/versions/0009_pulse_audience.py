"""pulse audience: each person's side and the audience frozen when a pulse opens; side changes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 22:50:00.000000

"""

from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema (reserved; filled in by the change that needs it)."""


def downgrade() -> None:
    """Downgrade schema."""
