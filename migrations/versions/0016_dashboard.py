"""The dashboard: its sign-in links and sessions (hashes only), and glossary lookups
counted by side (never by person)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 02:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two new, empty tables: nothing existing moves."""
    op.create_table(
        "glossary_lookups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=True),
        sa.Column("query", sa.String(length=80), nullable=False),
        sa.Column("term_name", sa.String(length=80), nullable=True),
        sa.Column("term_origin", sa.String(length=16), nullable=True),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("looked_up_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_glossary_lookups_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_glossary_lookups")),
    )
    with op.batch_alter_table("glossary_lookups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_glossary_lookups_workspace_day", ["workspace_id", "looked_up_on"], unique=False
        )
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=False),
        sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("session_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_dashboard_sessions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_sessions")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_dashboard_sessions_link_hash")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_dashboard_sessions_session_hash")),
    )
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_sessions_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    """Drop both tables: everyone signed in to the dashboard must sign in again, and the
    lookup counts by side are lost (the terms and their view counts stay)."""
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_sessions_workspace_id"))
    op.drop_table("dashboard_sessions")
    with op.batch_alter_table("glossary_lookups", schema=None) as batch_op:
        batch_op.drop_index("ix_glossary_lookups_workspace_day")
    op.drop_table("glossary_lookups")
