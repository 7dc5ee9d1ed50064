"""posting limits per person and workspace

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:50:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index each person's recent posts, which the posting limits count."""
    with op.batch_alter_table("board_posts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_board_posts_workspace_author_created",
            ["workspace_id", "author_ref", "created_at"],
            unique=False,
        )
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pulse_polls_workspace_author_opened",
            ["workspace_id", "author_ref", "opened_at"],
            unique=False,
        )


def downgrade() -> None:
    """Drop the indexes; no data is lost."""
    with op.batch_alter_table("pulse_polls", schema=None) as batch_op:
        batch_op.drop_index("ix_pulse_polls_workspace_author_opened")
    with op.batch_alter_table("board_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_board_posts_workspace_author_created")
