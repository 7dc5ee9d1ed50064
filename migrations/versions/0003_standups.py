"""stand-ups, skipped dates and async answers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:03:16.282190

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "standups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("channel_ref", sa.String(length=64), nullable=False),
        sa.Column("weekdays", sa.String(length=40), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("call_link", sa.String(length=500), nullable=True),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("both_sides", sa.Boolean(), nullable=False),
        sa.Column("reminder_lead_minutes", sa.Integer(), nullable=False),
        sa.Column("deadline_minutes", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("creator_ref", sa.String(length=128), nullable=True),
        sa.Column("calendar_token", sa.String(length=64), nullable=False),
        sa.Column("planned_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode IN ('meeting', 'async')", name=op.f("ck_standups_mode_known")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_standups_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standups")),
        sa.UniqueConstraint("calendar_token", name=op.f("uq_standups_calendar_token")),
        sa.UniqueConstraint("workspace_id", "number", name=op.f("uq_standups_workspace_id")),
    )
    with op.batch_alter_table("standups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standups_planned_until"), ["planned_until"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_standups_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "standup_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("standup_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("shareable", sa.JSON(), nullable=False),
        sa.Column("shared", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["standup_id"],
            ["standups.id"],
            name=op.f("fk_standup_answers_standup_id_standups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_standup_answers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standup_answers")),
        sa.UniqueConstraint(
            "standup_id", "local_date", "user_ref", name=op.f("uq_standup_answers_standup_id")
        ),
    )
    with op.batch_alter_table("standup_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standup_answers_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "standup_skips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("standup_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["standup_id"],
            ["standups.id"],
            name=op.f("fk_standup_skips_standup_id_standups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_standup_skips_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standup_skips")),
        sa.UniqueConstraint("standup_id", "local_date", name=op.f("uq_standup_skips_standup_id")),
    )
    with op.batch_alter_table("standup_skips", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standup_skips_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("standup_skips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standup_skips_workspace_id"))

    op.drop_table("standup_skips")
    with op.batch_alter_table("standup_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standup_answers_workspace_id"))

    op.drop_table("standup_answers")
    with op.batch_alter_table("standups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standups_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_standups_planned_until"))

    op.drop_table("standups")
