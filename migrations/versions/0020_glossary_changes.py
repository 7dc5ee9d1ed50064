"""Glossary changes: which term each glossary revision changed, so every instance's
in-memory index catches up on those terms instead of rebuilding itself

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 02:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A new, empty table: nothing existing moves (an index finding no rows for the
    revisions it missed rebuilds itself, as before)."""
    op.create_table(
        "glossary_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_glossary_changes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_glossary_changes")),
    )
    with op.batch_alter_table("glossary_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_glossary_changes_workspace_revision", ["workspace_id", "revision"], unique=False
        )


def downgrade() -> None:
    """Drop it: indexes then rebuild themselves whole after each change, as before."""
    with op.batch_alter_table("glossary_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_glossary_changes_workspace_revision")
    op.drop_table("glossary_changes")
