"""Slash commands are stored before their acknowledgement (the command inbox); replays of
slash commands are recognised by its unique key instead of processed_requests

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A new, empty table: nothing existing moves."""
    op.create_table(
        "inbox_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("replay_key", sa.String(length=200), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=True),
        sa.Column("command", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("channel_ref", sa.String(length=64), nullable=True),
        sa.Column("response_url", sa.String(length=500), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('done', 'failed')", name=op.f("ck_inbox_commands_outcome_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_commands")),
        sa.UniqueConstraint("replay_key", name=op.f("uq_inbox_commands_replay_key")),
    )
    with op.batch_alter_table("inbox_commands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbox_commands_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbox_commands_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    """Drop the table. Downgrade with bridgebot stopped once no command is pending in it
    (a pending one would not be run again); finished rows hold only replay keys."""
    with op.batch_alter_table("inbox_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_commands_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_inbox_commands_received_at"))

    op.drop_table("inbox_commands")
