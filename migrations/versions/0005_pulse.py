"""pulse polls, anonymous answers and comments, pulse schedule settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 00:08:25.890541

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "pulse_polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invited", sa.JSON(), nullable=False),
        sa.Column("author_ref", sa.String(length=128), nullable=True),
        sa.Column("channel_ref", sa.String(length=64), nullable=True),
        sa.Column("message_ref", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pulse_polls_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_polls")),
        sa.UniqueConstraint(
            "workspace_id", "kind", "slot", name=op.f("uq_pulse_polls_workspace_id")
        ),
    )
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pulse_polls_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "pulse_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("voter_hash", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=True),
        sa.Column("question", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_answers_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pulse_answers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_answers")),
        sa.UniqueConstraint(
            "poll_id", "voter_hash", "question", name=op.f("uq_pulse_answers_poll_id")
        ),
    )
    with op.batch_alter_table("pulse_answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pulse_answers_aggregate", ["poll_id", "question", "side", "value"], unique=False
        )

    op.create_table(
        "pulse_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("voter_hash", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_comments_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pulse_comments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_comments")),
        sa.UniqueConstraint("poll_id", "voter_hash", name=op.f("uq_pulse_comments_poll_id")),
    )
    with op.batch_alter_table("pulse_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pulse_comments_poll_id"), ["poll_id"], unique=False)

    with op.batch_alter_table("workspace_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pulse_enabled", sa.Boolean(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column("pulse_weekday", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("pulse_time", sa.Time(), server_default="10:00:00", nullable=False)
        )
        batch_op.add_column(
            sa.Column("pulse_open_hours", sa.Integer(), server_default="48", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "pulse_audience", sa.String(length=16), server_default="sides", nullable=False
            )
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("workspace_settings", schema=None) as batch_op:
        batch_op.drop_column("pulse_audience")
        batch_op.drop_column("pulse_open_hours")
        batch_op.drop_column("pulse_time")
        batch_op.drop_column("pulse_weekday")
        batch_op.drop_column("pulse_enabled")

    with op.batch_alter_table("pulse_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pulse_comments_poll_id"))

    op.drop_table("pulse_comments")
    with op.batch_alter_table("pulse_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_pulse_answers_aggregate")

    op.drop_table("pulse_answers")
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pulse_polls_workspace_id"))

    op.drop_table("pulse_polls")
