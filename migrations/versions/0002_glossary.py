"""glossary terms, keys and edit history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:52:27.914778

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "glossary_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=True),
        sa.Column("term_name", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("editor_ref", sa.String(length=128), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_glossary_edits_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_glossary_edits")),
    )
    with op.batch_alter_table("glossary_edits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_glossary_edits_term_id"), ["term_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_glossary_edits_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "glossary_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("marketing_view", sa.Text(), nullable=False),
        sa.Column("it_view", sa.Text(), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("author_ref", sa.String(length=128), nullable=True),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "origin IN ('marketing', 'it', 'general')", name=op.f("ck_glossary_terms_origin_known")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_glossary_terms_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_glossary_terms")),
    )
    with op.batch_alter_table("glossary_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_glossary_terms_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "glossary_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("text", sa.String(length=80), nullable=False),
        sa.Column("is_name", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["term_id"],
            ["glossary_terms.id"],
            name=op.f("fk_glossary_keys_term_id_glossary_terms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_glossary_keys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_glossary_keys")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_glossary_keys_workspace_id")),
    )
    with op.batch_alter_table("glossary_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_glossary_keys_term_id"), ["term_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_glossary_keys_workspace_id"), ["workspace_id"], unique=False
        )

    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("glossary_revision", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("glossary_revision")

    with op.batch_alter_table("glossary_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_glossary_keys_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_glossary_keys_term_id"))

    op.drop_table("glossary_keys")
    with op.batch_alter_table("glossary_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_glossary_terms_workspace_id"))

    op.drop_table("glossary_terms")
    with op.batch_alter_table("glossary_edits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_glossary_edits_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_glossary_edits_term_id"))

    op.drop_table("glossary_edits")
