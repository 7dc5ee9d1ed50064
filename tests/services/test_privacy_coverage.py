"""Forget-me reaches every table that holds a person, this release's and any added later.

The columns are found from the models (marked with info={"person": ...}); the rows are
generated from the metadata, one per such column, so a new table or column that
forget-me does not handle fails here without anyone writing a test for it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import JSON, Column, CursorResult, Table, TypeDecorator, select
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.models import Base
from bot.services.pulse import voter_hash
from handlers.teams.connector import Connector
from handlers.teams.runtime import TeamsRuntime

WS = "T0FORGET"
USER = "U0FORGOTTEN"
OTHER = "U0STAYS"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

NAMED_LIKE_A_PERSON = re.compile(r"(^ref|_ref|_by|_hash)$")
# A person inside JSON, as each such column holds one.
JSON_EXAMPLES: dict[str, Callable[[str], Any]] = {
    "standups.participants": lambda who: [who],
    "occurrences.payload": lambda who: {"requested_by": who},
}
# Values the tables' check constraints accept.
ALLOWED = {
    "workspaces.platform": "slack",
    "board_posts.kind": "win",
    "side_changes.source": "self",
    "standups.mode": "async",
    "teams_conversations.kind": "person",
    "pulse_audience.side": "it",
    "pulse_polls.kind": "adhoc",
}


def person_columns(table: Table) -> list[Column[Any]]:
    return [column for column in table.columns if column.info.get("person")]


def test_every_column_named_like_a_person_says_whether_it_holds_one() -> None:
    unmarked = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if NAMED_LIKE_A_PERSON.search(column.name) and "person" not in column.info
    ]
    assert unmarked == []


class RowMaker:
    """Inserts rows with every required column filled, and parents for foreign keys."""

    def __init__(self, session: Session, secret_key: str) -> None:
        self.session = session
        self.secret_key = secret_key
        self.counter = itertools.count(1)
        self.parents: dict[str, dict[str, Any]] = {}

    def add(self, table: Table, leading_to_user: Column[Any] | None) -> dict[str, Any]:
        """A row whose only reference to USER is `leading_to_user` (others name OTHER)."""
        values: dict[str, Any] = {}
        for column in table.columns:
            kind = column.info.get("person")
            who = USER if column is leading_to_user else OTHER
            if column.foreign_keys:
                (key,) = column.foreign_keys
                values[column.name] = self.parent(key.column.table)[key.column.name]
            elif kind == "ref":
                values[column.name] = who
            elif kind == "json":
                values[column.name] = JSON_EXAMPLES[f"{table.name}.{column.name}"](who)
            elif kind == "hash":
                continue  # below, once the poll is known
            elif column.primary_key and column.autoincrement is not False and _is_int(column):
                continue
            elif not column.nullable and column.default is None:
                values[column.name] = self.sample(table, column)
        for column in table.columns:
            if column.info.get("person") == "hash":
                who = USER if column is leading_to_user else OTHER
                values[column.name] = voter_hash(self.secret_key, WS, values["poll_id"], who)
        result = cast(CursorResult[Any], self.session.execute(table.insert().values(values)))
        keys = result.inserted_primary_key or ()
        for column, key in zip(table.primary_key.columns, keys, strict=True):
            values[column.name] = key
        return values

    def parent(self, table: Table) -> dict[str, Any]:
        if table.name not in self.parents:
            self.parents[table.name] = self.add(table, leading_to_user=None)
        return self.parents[table.name]

    def sample(self, table: Table, column: Column[Any]) -> Any:
        allowed = ALLOWED.get(f"{table.name}.{column.name}")
        if allowed is not None:
            return allowed
        n = next(self.counter)
        if table.name == "workspaces" and column.name == "id":
            return WS
        if column.name == "workspace_id":  # a table scoped without a foreign key
            return WS
        if isinstance(column.type, JSON):
            return []
        python_type = _python_type(column)
        if python_type is str:
            return f"{column.name[:8]}-{n}"
        if python_type is bool:
            return False
        if python_type is int:
            return n
        if python_type is datetime:
            return NOW
        if python_type is date:
            return NOW.date()
        if python_type is time:
            return time(9, 0)
        if python_type is bytes:
            return b"content"
        raise AssertionError(f"no sample value for {table.name}.{column.name}")


def _python_type(column: Column[Any]) -> type:
    kind = column.type
    # A TypeDecorator (UTCDateTime) says only "object"; what it stores says more.
    return cast(type, (kind.impl_instance if isinstance(kind, TypeDecorator) else kind).python_type)


def _is_int(column: Column[Any]) -> bool:
    return not isinstance(column.type, JSON) and _python_type(column) is int


def leads_to(row: Any, column: Column[Any], secret_key: str, who: str) -> bool:
    value = getattr(row, column.name)
    kind = column.info["person"]
    if kind == "hash":
        return bool(value == voter_hash(secret_key, WS, row.poll_id, who))
    if kind == "json":
        return who in json.dumps(value)
    return bool(value == who)


def test_forget_me_leaves_no_row_that_leads_to_the_person(deps: Deps) -> None:
    # The Teams adapter registers its own store's hooks when it is built.
    TeamsRuntime(deps, cast(Connector, None), public_url="https://bridgebot.test", tenant_id=None)
    person_tables = [table for table in Base.metadata.sorted_tables if person_columns(table)]
    named_like_people = {
        table.name
        for table in Base.metadata.sorted_tables
        if any(NAMED_LIKE_A_PERSON.search(column.name) for column in table.columns)
    }
    # Every table with a person's column is covered, Teams' included.
    # (Settings name a channel with channel_ref, never a person; a stand-up's digest
    # records the channel and message it was posted as.)
    assert named_like_people - {"workspace_settings", "pair_settings", "standup_digests"} <= {
        t.name for t in person_tables
    }
    with deps.session_factory.begin() as session:
        maker = RowMaker(session, deps.secret_key)
        maker.parent(Base.metadata.tables["workspaces"])
        for table in person_tables:
            maker.parent(table)  # a row naming only someone else
            for column in person_columns(table):
                maker.add(table, leading_to_user=column)

    with deps.session_factory.begin() as session:
        deps.router.privacy.forget(session=session, workspace_id=WS, user_ref=USER, now=NOW)

    left: list[str] = []
    with deps.session_factory() as session:
        for table in person_tables:
            rows = session.execute(select(table)).all()
            columns = person_columns(table)
            left += [
                f"{table.name}.{column.name}"
                for row in rows
                for column in columns
                if leads_to(row, column, deps.secret_key, USER)
            ]
            # Only the caller is forgotten: what names someone else stays.
            assert any(
                leads_to(row, column, deps.secret_key, OTHER) for row in rows for column in columns
            ), table.name
    assert left == []
