"""Bridge pairs: the workspace's pair settings, who opted in, private blocks, rounds,
pairs and each person's seat (with their answer to "did you meet?")

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 02:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id_workspaces"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """New, empty tables: nothing existing moves."""
    op.create_table(
        "pair_settings",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("every_weeks", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column("channel_ref", sa.String(length=64), nullable=True),
        sa.Column("anchor", sa.Date(), nullable=True),
        sa.Column("recent_rounds", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("every_weeks IN (1, 2, 4)", name=op.f("ck_pair_settings_every_known")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_pair_settings_weekday_known")),
        _workspace_fk("pair_settings"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_pair_settings")),
    )
    op.create_table(
        "pair_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        _workspace_fk("pair_members"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pair_members")),
        sa.UniqueConstraint("workspace_id", "user_ref", name=op.f("uq_pair_members_workspace_id")),
    )
    op.create_index(
        op.f("ix_pair_members_workspace_id"), "pair_members", ["workspace_id"], unique=False
    )
    op.create_table(
        "pair_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("blocked_ref", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _workspace_fk("pair_blocks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pair_blocks")),
        sa.UniqueConstraint(
            "workspace_id", "user_ref", "blocked_ref", name=op.f("uq_pair_blocks_workspace_id")
        ),
    )
    op.create_index(
        op.f("ix_pair_blocks_workspace_id"), "pair_blocks", ["workspace_id"], unique=False
    )
    op.create_table(
        "pair_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _workspace_fk("pair_rounds"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pair_rounds")),
        sa.UniqueConstraint("workspace_id", "slot", name=op.f("uq_pair_rounds_workspace_id")),
    )
    op.create_index(
        op.f("ix_pair_rounds_workspace_id"), "pair_rounds", ["workspace_id"], unique=False
    )
    op.create_table(
        "bridge_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pair_rounds.id"],
            name=op.f("fk_bridge_pairs_round_id_pair_rounds"),
            ondelete="CASCADE",
        ),
        _workspace_fk("bridge_pairs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_pairs")),
    )
    op.create_index(op.f("ix_bridge_pairs_round_id"), "bridge_pairs", ["round_id"], unique=False)
    op.create_index(
        op.f("ix_bridge_pairs_workspace_id"), "bridge_pairs", ["workspace_id"], unique=False
    )
    op.create_table(
        "pair_seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=True),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "answer IN ('met', 'planned', 'not')", name=op.f("ck_pair_seats_answer_known")
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["bridge_pairs.id"],
            name=op.f("fk_pair_seats_pair_id_bridge_pairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["pair_rounds.id"],
            name=op.f("fk_pair_seats_round_id_pair_rounds"),
            ondelete="CASCADE",
        ),
        _workspace_fk("pair_seats"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pair_seats")),
        sa.UniqueConstraint("round_id", "user_ref", name=op.f("uq_pair_seats_round_id")),
    )
    op.create_index(op.f("ix_pair_seats_pair_id"), "pair_seats", ["pair_id"], unique=False)
    op.create_index(
        op.f("ix_pair_seats_workspace_id"), "pair_seats", ["workspace_id"], unique=False
    )
    op.create_index(
        "ix_pair_seats_workspace_user", "pair_seats", ["workspace_id", "user_ref"], unique=False
    )


def downgrade() -> None:
    """Drop the tables: bridge pairs' history, blocks and answers are lost (export them
    first with each person's export-me if they are wanted)."""
    op.drop_index("ix_pair_seats_workspace_user", table_name="pair_seats")
    op.drop_index(op.f("ix_pair_seats_workspace_id"), table_name="pair_seats")
    op.drop_index(op.f("ix_pair_seats_pair_id"), table_name="pair_seats")
    op.drop_table("pair_seats")
    op.drop_index(op.f("ix_bridge_pairs_workspace_id"), table_name="bridge_pairs")
    op.drop_index(op.f("ix_bridge_pairs_round_id"), table_name="bridge_pairs")
    op.drop_table("bridge_pairs")
    op.drop_index(op.f("ix_pair_rounds_workspace_id"), table_name="pair_rounds")
    op.drop_table("pair_rounds")
    op.drop_index(op.f("ix_pair_blocks_workspace_id"), table_name="pair_blocks")
    op.drop_table("pair_blocks")
    op.drop_index(op.f("ix_pair_members_workspace_id"), table_name="pair_members")
    op.drop_table("pair_members")
    op.drop_table("pair_settings")
