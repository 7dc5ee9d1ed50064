"""The pulse's question bank: each weekly pulse's question ids and mirrored statements,
workspaces' chosen questions and custom questions, and the gap alert's settings and
recipients

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 02:00:00.000000

"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The three questions every weekly pulse asked until now, and their ids in the bank
# (bot/data/questions.yaml), so trends follow them on from the pulses already held.
DEFAULT_IDS = {
    "This week Marketing and IT worked together collaboratively.": "worked-together",
    "I understood what the other side needed from me.": "understood-needs",
    "Working together improved our results this week.": "improved-results",
}


def upgrade() -> None:
    """New nullable or defaulted columns and two new tables; then every weekly pulse held
    gets the ids of the questions it asked: a default question its bank id, any other
    text a custom question of its workspace (one per distinct text), so none is lost."""
    with op.batch_alter_table("workspace_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pulse_questions", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("pulse_alert_gap", sa.Integer(), server_default="15", nullable=False)
        )
        batch_op.add_column(
            sa.Column("pulse_alert_rate", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.add_column(
            sa.Column("pulse_alert_channel", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("question_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("mirrors", sa.JSON(), nullable=True))
    op.create_table(
        "pulse_custom_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("text_marketing", sa.Text(), nullable=True),
        sa.Column("text_it", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pulse_custom_questions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_custom_questions")),
        sa.UniqueConstraint(
            "workspace_id", "key", name=op.f("uq_pulse_custom_questions_workspace_id")
        ),
    )
    with op.batch_alter_table("pulse_custom_questions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pulse_custom_questions_workspace_id"), ["workspace_id"], unique=False
        )
    op.create_table(
        "pulse_alert_recipients",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pulse_alert_recipients_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "user_ref", name=op.f("pk_pulse_alert_recipients")),
    )
    _give_held_pulses_their_question_ids()


def _give_held_pulses_their_question_ids() -> None:
    polls = sa.table(
        "pulse_polls",
        sa.column("id", sa.Integer()),
        sa.column("workspace_id", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("questions", sa.JSON()),
        sa.column("question_ids", sa.JSON()),
        sa.column("opened_at", sa.DateTime(timezone=True)),
    )
    custom = sa.table(
        "pulse_custom_questions",
        sa.column("workspace_id", sa.String()),
        sa.column("key", sa.String()),
        sa.column("statement", sa.Text()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(polls.c.id, polls.c.workspace_id, polls.c.questions, polls.c.opened_at)
        .where(polls.c.kind == "weekly")
        .order_by(polls.c.workspace_id, polls.c.opened_at, polls.c.id)
    ).all()
    made: dict[tuple[str, str], str] = {}
    for poll_id, workspace_id, questions, opened_at in rows:
        texts = json.loads(questions) if isinstance(questions, str) else list(questions or [])
        ids = []
        for text in texts:
            known = DEFAULT_IDS.get(text) or made.get((workspace_id, text))
            if known is None:
                known = f"custom-{sum(1 for ws, _ in made if ws == workspace_id) + 1}"
                made[(workspace_id, text)] = known
                connection.execute(
                    sa.insert(custom).values(
                        workspace_id=workspace_id,
                        key=known,
                        statement=text,
                        created_at=opened_at,
                    )
                )
            ids.append(known)
        connection.execute(sa.update(polls).where(polls.c.id == poll_id).values(question_ids=ids))


def downgrade() -> None:
    """Drop the columns and tables. Held pulses keep their questions' texts, so their
    results stay; the question ids, the chosen questions, the custom questions' texts
    (which past pulses keep too) and who gets the gap alert go."""
    op.drop_table("pulse_alert_recipients")
    with op.batch_alter_table("pulse_custom_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pulse_custom_questions_workspace_id"))
    op.drop_table("pulse_custom_questions")
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.drop_column("mirrors")
        batch_op.drop_column("question_ids")
    with op.batch_alter_table("workspace_settings", schema=None) as batch_op:
        batch_op.drop_column("pulse_alert_channel")
        batch_op.drop_column("pulse_alert_rate")
        batch_op.drop_column("pulse_alert_gap")
        batch_op.drop_column("pulse_questions")
