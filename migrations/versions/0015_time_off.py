"""Holidays and time off: a person's region and time zone, the workspace's default holiday
calendar, a stand-up's holiday calendars, and people's time off

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 01:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """New nullable (or defaulted) columns and a new table: nothing existing moves."""
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("workspace_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holiday_region", sa.String(length=40), nullable=True))
    with op.batch_alter_table("standups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("holiday_calendars", sa.JSON(), server_default="[]", nullable=False)
        )
    op.create_table(
        "time_off",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("first_day <= last_day", name=op.f("ck_time_off_days_in_order")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_time_off_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off")),
    )
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.create_index(
            "ix_time_off_workspace_user", ["workspace_id", "user_ref", "last_day"], unique=False
        )
        batch_op.create_index(
            "ix_time_off_workspace_last_day", ["workspace_id", "last_day"], unique=False
        )


def downgrade() -> None:
    """Drop them: people's time off and regions, and the stand-ups' calendars, are lost
    (stand-ups then run on holidays again)."""
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.drop_index("ix_time_off_workspace_last_day")
        batch_op.drop_index("ix_time_off_workspace_user")
    op.drop_table("time_off")
    with op.batch_alter_table("standups", schema=None) as batch_op:
        batch_op.drop_column("holiday_calendars")
    with op.batch_alter_table("workspace_settings", schema=None) as batch_op:
        batch_op.drop_column("holiday_region")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("timezone")
        batch_op.drop_column("region")
