"""Occurrences are indexed by status and lease end: a claim finds the claims whose lease
ran out without reading every claim in progress (thousands, in a fan-out)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 22:10:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """An index only: no row changes."""
    op.create_index(
        "ix_occurrences_status_lease_until", "occurrences", ["status", "lease_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_occurrences_status_lease_until", table_name="occurrences")
