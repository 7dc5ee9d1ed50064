"""A closed pulse keeps its counts on its row (pulse_polls.tally), written as it closes;
pulses closed before this get theirs now

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 02:00:00.000000

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A new nullable column, filled for every closed poll from its answers (which no
    longer change once it closed); open polls get theirs when they close."""
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tally", sa.JSON(), nullable=True))
    polls = sa.table(
        "pulse_polls",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("tally", sa.JSON()),
    )
    answers = sa.table(
        "pulse_answers",
        sa.column("poll_id", sa.Integer()),
        sa.column("question", sa.Integer()),
        sa.column("side", sa.String()),
        sa.column("value", sa.Integer()),
    )
    respondents = sa.table(
        "pulse_respondents", sa.column("poll_id", sa.Integer()), sa.column("side", sa.String())
    )
    connection = op.get_bind()
    closed = [
        poll_id
        for (poll_id,) in connection.execute(
            sa.select(polls.c.id).where(polls.c.status == "closed")
        )
    ]
    tallies: dict[int, dict[str, Any]] = {
        poll_id: {"answers": [], "respondents": {}} for poll_id in closed
    }
    for poll_id, question, side, value, count in connection.execute(
        sa.select(
            answers.c.poll_id, answers.c.question, answers.c.side, answers.c.value, sa.func.count()
        )
        .where(answers.c.poll_id.in_(closed))
        .group_by(answers.c.poll_id, answers.c.question, answers.c.side, answers.c.value)
    ):
        tallies[poll_id]["answers"].append([question, side, value, int(count)])
    for poll_id, side, count in connection.execute(
        sa.select(respondents.c.poll_id, respondents.c.side, sa.func.count())
        .where(respondents.c.poll_id.in_(closed))
        .group_by(respondents.c.poll_id, respondents.c.side)
    ):
        tallies[poll_id]["respondents"][side or "none"] = int(count)
    for poll_id, tally in tallies.items():
        connection.execute(sa.update(polls).where(polls.c.id == poll_id).values(tally=tally))


def downgrade() -> None:
    """Drop the column: results are counted from the answers again, which are all kept."""
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.drop_column("tally")
