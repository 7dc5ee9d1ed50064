"""wins and challenges board

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 00:04:40.838723

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "board_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author_ref", sa.String(length=128), nullable=True),
        sa.Column("author_side", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("channel_ref", sa.String(length=64), nullable=False),
        sa.Column("message_ref", sa.String(length=64), nullable=True),
        sa.Column("permalink", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint("kind IN ('win', 'challenge')", name=op.f("ck_board_posts_kind_known")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_board_posts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_posts")),
    )
    with op.batch_alter_table("board_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_board_posts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_board_posts_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            "ix_board_posts_workspace_kind_created",
            ["workspace_id", "kind", "created_at"],
            unique=False,
        )

    op.create_table(
        "celebrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["board_posts.id"],
            name=op.f("fk_celebrations_post_id_board_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_celebrations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_celebrations")),
        sa.UniqueConstraint("post_id", "user_ref", name=op.f("uq_celebrations_post_id")),
    )
    with op.batch_alter_table("celebrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_celebrations_post_id"), ["post_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_celebrations_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "challenge_helpers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("helper_ref", sa.String(length=128), nullable=False),
        sa.Column("helper_side", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["board_posts.id"],
            name=op.f("fk_challenge_helpers_post_id_board_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_challenge_helpers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_helpers")),
        sa.UniqueConstraint("post_id", "helper_ref", name=op.f("uq_challenge_helpers_post_id")),
    )
    with op.batch_alter_table("challenge_helpers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_challenge_helpers_post_id"), ["post_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_challenge_helpers_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("challenge_helpers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_helpers_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_challenge_helpers_post_id"))

    op.drop_table("challenge_helpers")
    with op.batch_alter_table("celebrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_celebrations_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_celebrations_post_id"))

    op.drop_table("celebrations")
    with op.batch_alter_table("board_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_board_posts_workspace_kind_created")
        batch_op.drop_index(batch_op.f("ix_board_posts_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_board_posts_created_at"))

    op.drop_table("board_posts")
