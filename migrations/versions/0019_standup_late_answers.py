"""Late answers and the nudge: where each stand-up round's digest was posted (so late
answers and edits update it in place), and a stand-up's optional nudge before its digest

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 02:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A nullable column (no nudge, as before) and a new table: nothing existing moves."""
    with op.batch_alter_table("standups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nudge_minutes", sa.Integer(), nullable=True))
    op.create_table(
        "standup_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("standup_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("channel_ref", sa.String(length=64), nullable=False),
        sa.Column("message_ref", sa.String(length=200), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["standup_id"],
            ["standups.id"],
            name=op.f("fk_standup_digests_standup_id_standups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_standup_digests_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standup_digests")),
        sa.UniqueConstraint("standup_id", "local_date", name=op.f("uq_standup_digests_standup_id")),
    )
    with op.batch_alter_table("standup_digests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standup_digests_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    """Drop them: digests already posted no longer update with late answers (those are
    kept), and stand-ups stop nudging."""
    with op.batch_alter_table("standup_digests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standup_digests_workspace_id"))
    op.drop_table("standup_digests")
    with op.batch_alter_table("standups", schema=None) as batch_op:
        batch_op.drop_column("nudge_minutes")
