"""pulse respondents: one row per voter and poll, so respondents per side are read cheaply

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 01:20:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "pulse_respondents",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("voter_hash", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_respondents_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pulse_respondents_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("poll_id", "voter_hash", name=op.f("pk_pulse_respondents")),
    )
    with op.batch_alter_table("pulse_respondents", schema=None) as batch_op:
        batch_op.create_index("ix_pulse_respondents_poll_side", ["poll_id", "side"], unique=False)

    # Everyone who already answered (a voter whose side changed mid-poll counts once).
    op.execute(
        "INSERT INTO pulse_respondents (poll_id, voter_hash, workspace_id, side) "
        "SELECT poll_id, voter_hash, MIN(workspace_id), MIN(side) FROM pulse_answers "
        "GROUP BY poll_id, voter_hash"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("pulse_respondents", schema=None) as batch_op:
        batch_op.drop_index("ix_pulse_respondents_poll_side")

    op.drop_table("pulse_respondents")
