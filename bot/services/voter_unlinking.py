"""Untie pulse rows from the keyed voter hash by moving them under fresh random values.

Closing a pulse does this to every respondent (its results need no link to anyone any
more), forget-me to one person. Each hash gets its own random value, the same in every
table, so a respondent's answers still count as one respondent's; nothing relates the new
value to the key, the person or another poll.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from bot.models import Base

HASH_HEX_LENGTH = 40  # as long as a voter hash, so the columns fit either


def voter_tables() -> list[Table]:
    """Every table that keeps a voter hash per poll, read from the models so that a
    table added later is untied too."""
    return [
        table
        for table in Base.metadata.sorted_tables
        if {"workspace_id", "poll_id", "voter_hash"} <= set(table.c.keys())
    ]


def untie_voters(
    *, session: Session, workspace_id: str, poll_id: int, hashes: Collection[str] | None = None
) -> int:
    """Move the rows of each of `hashes` (every hash in the poll when None) under a random
    value of its own; returns how many voters were untied."""
    tables = voter_tables()
    if hashes is None:
        found: set[str] = set()
        for table in tables:
            found.update(
                session.execute(
                    select(table.c.voter_hash)
                    .where(table.c.workspace_id == workspace_id, table.c.poll_id == poll_id)
                    .distinct()
                ).scalars()
            )
        hashes = found
    moves = [
        {"old_hash": old, "new_hash": secrets.token_hex(HASH_HEX_LENGTH // 2)}
        for old in sorted(hashes)
    ]
    if not moves:
        return 0
    for table in tables:
        # A Core statement with a list of parameters: one executemany per table.
        session.execute(
            update(table)
            .where(
                table.c.workspace_id == workspace_id,
                table.c.poll_id == poll_id,
                table.c.voter_hash == bindparam("old_hash"),
            )
            .values(voter_hash=bindparam("new_hash")),
            moves,
        )
    return len(moves)
