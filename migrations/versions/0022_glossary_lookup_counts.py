"""A glossary lookup row counts how many alike lookups it stands for (lookups, default 1):
a server writes each second's identical lookups as one row

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 22:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A new column whose default, 1, is what every existing row stood for."""
    with op.batch_alter_table("glossary_lookups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lookups", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    """Each row becomes one lookup again: counts above 1 are lost (only figures)."""
    with op.batch_alter_table("glossary_lookups", schema=None) as batch_op:
        batch_op.drop_column("lookups")
