"""pulse voter hashes: keyed from outside the database and unlinkable once a pulse closes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 22:50:00.000000

"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The tables that keep a voter hash per poll, as of this revision.
VOTER_TABLES = ("pulse_answers", "pulse_respondents", "pulse_comments")


def upgrade() -> None:
    """Untie the pulses closed before this version from the keyed hash, as closing now does.

    No schema change: each voter of a closed poll moves under a random value of its own in
    every table, so totals and respondent counts stay exactly as they were. The secret key
    itself leaves the database at the next start (bot/services/secret_key.py): it must be
    written to the key file first, which a migration cannot know where to put.
    """
    connection = op.get_bind()
    for (poll_id,) in connection.execute(
        sa.text("SELECT id FROM pulse_polls WHERE status = 'closed' ORDER BY id")
    ).all():
        found: set[str] = set()
        for table in VOTER_TABLES:
            found.update(
                connection.execute(
                    sa.text(f"SELECT DISTINCT voter_hash FROM {table} WHERE poll_id = :poll"),
                    {"poll": poll_id},
                ).scalars()
            )
        moves = [
            {"poll": poll_id, "old": old, "new": secrets.token_hex(20)} for old in sorted(found)
        ]
        for table in VOTER_TABLES:
            if moves:
                connection.execute(
                    sa.text(
                        f"UPDATE {table} SET voter_hash = :new "
                        "WHERE poll_id = :poll AND voter_hash = :old"
                    ),
                    moves,
                )


def downgrade() -> None:
    """Nothing to undo: the schema did not change, and the random values stay (the keyed
    hashes cannot be recomputed, and closed pulses need them for nothing)."""
