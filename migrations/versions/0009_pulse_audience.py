"""pulse audience: each person's side and the audience frozen when a pulse opens; side changes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 22:50:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # -- pulse audience and side changes ----------------------------------------------
    op.create_table(
        "pulse_audience",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "side IN ('marketing', 'it', 'other')", name=op.f("ck_pulse_audience_side_known")
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["pulse_polls.id"],
            name=op.f("fk_pulse_audience_poll_id_pulse_polls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pulse_audience_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("poll_id", "user_ref", name=op.f("pk_pulse_audience")),
    )
    with op.batch_alter_table("pulse_audience", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pulse_audience_workspace_user", ["workspace_id", "user_ref"], unique=False
        )

    op.create_table(
        "side_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('self', 'admin', 'sync')", name=op.f("ck_side_changes_source_known")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_side_changes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_side_changes")),
    )
    with op.batch_alter_table("side_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_side_changes_workspace_changed", ["workspace_id", "changed_at"], unique=False
        )
        batch_op.create_index(
            "ix_side_changes_workspace_user",
            ["workspace_id", "user_ref", "changed_at"],
            unique=False,
        )

    _freeze_open_pulses()


def _freeze_open_pulses() -> None:
    """Weekly pulses open at upgrade time get the audience they would get opening now:
    everyone with a side today (Marketing and IT only where the workspace chose that),
    and their invited counts follow, so a response rate never passes 100%."""
    op.execute(
        "INSERT INTO pulse_audience (poll_id, user_ref, workspace_id, side) "
        "SELECT pulse_polls.id, people.user_ref, people.workspace_id, people.side "
        "FROM pulse_polls JOIN people ON people.workspace_id = pulse_polls.workspace_id "
        "LEFT JOIN workspace_settings "
        "ON workspace_settings.workspace_id = pulse_polls.workspace_id "
        "WHERE pulse_polls.kind = 'weekly' AND pulse_polls.status = 'open' "
        "AND people.side IS NOT NULL AND (people.side IN ('marketing', 'it') "
        "OR COALESCE(workspace_settings.pulse_audience, 'sides') != 'marketing_it')"
    )
    connection = op.get_bind()
    polls = sa.table("pulse_polls", sa.column("id", sa.Integer()), sa.column("invited", sa.JSON()))
    invited: dict[int, dict[str, int]] = {}
    for poll_id, side, count in connection.execute(
        sa.text(
            "SELECT poll_id, side, COUNT(*) FROM pulse_audience GROUP BY poll_id, side "
            "ORDER BY poll_id, side"
        )
    ):
        invited.setdefault(poll_id, {})[side] = int(count)
    for poll_id, counts in invited.items():
        connection.execute(sa.update(polls).where(polls.c.id == poll_id).values(invited=counts))


def downgrade() -> None:
    """Downgrade schema."""
    # -- pulse audience and side changes ----------------------------------------------
    with op.batch_alter_table("side_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_side_changes_workspace_user")
        batch_op.drop_index("ix_side_changes_workspace_changed")
    op.drop_table("side_changes")

    with op.batch_alter_table("pulse_audience", schema=None) as batch_op:
        batch_op.drop_index("ix_pulse_audience_workspace_user")
    op.drop_table("pulse_audience")
