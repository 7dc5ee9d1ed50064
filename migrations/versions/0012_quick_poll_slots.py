"""quick polls asked in the same instant: only weekly pulses are unique per slot

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:00:00.000000

"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WEEKLY_ONLY = "kind = 'weekly'"
OLD_CONSTRAINT = "uq_pulse_polls_workspace_id"
NEW_INDEX = "uq_pulse_polls_weekly_slot"


def upgrade() -> None:
    """Replace the unique (workspace, kind, slot) by one on weekly pulses alone.

    A quick poll's slot is the instant it was asked, and two people may ask at once.
    No row changes; on SQLite the table is rebuilt (env.py turns foreign keys off for
    migrations, so the polls' answers and comments are not cascaded away meanwhile).
    """
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.drop_constraint(OLD_CONSTRAINT, type_="unique")
    op.create_index(
        NEW_INDEX,
        "pulse_polls",
        ["workspace_id", "slot"],
        unique=True,
        sqlite_where=sa.text(WEEKLY_ONLY),
        postgresql_where=sa.text(WEEKLY_ONLY),
    )


def downgrade() -> None:
    """Bring back the old constraint; quick polls asked in the same instant first get slots
    a microsecond apart, as it requires (when they were asked stays in opened_at)."""
    _separate_quick_poll_slots()
    op.drop_index(NEW_INDEX, table_name="pulse_polls")
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.create_unique_constraint(OLD_CONSTRAINT, ["workspace_id", "kind", "slot"])


def _separate_quick_poll_slots() -> None:
    polls = sa.table(
        "pulse_polls",
        sa.column("id", sa.Integer()),
        sa.column("workspace_id", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("slot", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(polls.c.id, polls.c.workspace_id, polls.c.slot)
        .where(polls.c.kind == "adhoc")
        .order_by(polls.c.workspace_id, polls.c.slot, polls.c.id)
    ).all()
    taken: set[tuple[str, object]] = set()
    for poll_id, workspace_id, slot in rows:
        moved = slot
        while (workspace_id, moved) in taken:
            moved += timedelta(microseconds=1)
        taken.add((workspace_id, moved))
        if moved != slot:
            connection.execute(sa.update(polls).where(polls.c.id == poll_id).values(slot=moved))
