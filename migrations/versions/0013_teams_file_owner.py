"""Teams files made for one person carry whom they were made for, so forget-me finds them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the owner; files stored before have none and expire as they did (a day for
    downloads), since nothing tells whose they were."""
    with op.batch_alter_table("teams_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_ref", sa.String(length=128), nullable=True))


def downgrade() -> None:
    """Drop the owner; the files themselves stay until they expire."""
    with op.batch_alter_table("teams_files", schema=None) as batch_op:
        batch_op.drop_column("owner_ref")
