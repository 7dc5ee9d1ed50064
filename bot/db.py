"""Engines and sessions; nothing here connects until called."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000
WAL_SWITCH_ATTEMPTS = 100
# The server's 16 worker threads and the scheduler's few, each with a connection.
POOL_SIZE = 20
PING_AFTER_IDLE_SECONDS = 10.0


def sync_url(url: str) -> URL:
    """The URL with the driver we use for synchronous work (psycopg 3 on PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed.set(drivername="sqlite")


def async_url(url: str) -> URL:
    """The URL for the asyncio engine that the Slack OAuth stores need."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed.set(drivername="sqlite+aiosqlite")


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the scheduler read while a command writes; the busy timeout makes
    # concurrent writers wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    # WAL is a lasting property of the file: usually set already. Switching takes a lock
    # that SQLite does not wait for, so a process starting beside another retries.
    # execute() then fetchone() on the cursor, not chained: the asyncio engine's adapted
    # cursor (the OAuth stores' engine) does not return itself from execute().
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode")
            if cursor.fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.05)


def _take_over_sqlite_transactions(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite starts transactions lazily and on its own terms, which breaks SAVEPOINT
    # (a released savepoint would commit everything). SQLAlchemy's documented fix:
    # turn that off and emit BEGIN ourselves.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front, so two writers queue on the busy
    # timeout instead of one failing when it upgrades a read lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A synchronous engine for `url`, tuned for the backend."""
    target = sync_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_engine(target, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "connect", _take_over_sqlite_transactions)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    # A short connect timeout: with the database down, people hear so in seconds.
    # The pool holds a connection for each of the server's worker threads and the
    # scheduler's, so a busy server does not open and close connections all the time.
    engine = create_engine(
        target,
        pool_size=POOL_SIZE,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
        **kwargs,
    )
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before use if it sat idle for a while.

    SQLAlchemy's pool_pre_ping checks every checkout, a round trip per unit of work;
    a connection used moments ago is all but surely alive, and if the database went
    away since, the failure invalidates the whole pool anyway. This is SQLAlchemy's
    documented pessimistic-disconnect recipe with an idle threshold.
    """

    @event.listens_for(engine, "checkin")
    def remember_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get("checked_in_at")
        if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool replaces the connection and tries again.
            raise DisconnectionError("idle connection is gone") from error


def make_async_engine(url: str) -> AsyncEngine:
    """An asyncio engine on the same database (used only by slack_sdk's OAuth stores)."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        return engine
    return create_async_engine(target, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit, for replies built afterwards."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def upsert(
    session: Session,
    model: type[DeclarativeBase],
    values: Mapping[str, Any],
    conflict_columns: Iterable[str],
    update_columns: Iterable[str],
) -> None:
    """Insert a row, or update `update_columns` of the one with the same unique key.

    One statement (the backend's ON CONFLICT DO UPDATE), so two concurrent first
    writes cannot both insert.
    """
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = builder(model).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(conflict_columns),
        set_={column: stmt.excluded[column] for column in update_columns},
    )
    session.execute(stmt)


def insert_ignoring_conflicts(
    session: Session,
    model: type[DeclarativeBase],
    values: Mapping[str, Any],
    conflict_columns: Iterable[str],
    *,
    conflict_where: ColumnElement[bool] | None = None,
) -> bool:
    """Insert a row unless one with the same unique key exists; True if this call inserted it.

    Concurrent first uses (two commands from a new workspace at once) must not fail
    on the unique constraint, so this uses the backend's ON CONFLICT DO NOTHING.
    `conflict_where` names a partial unique index by its condition, which both backends
    need to match the conflict to that index.
    """
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        builder(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns), index_where=conflict_where)
    )
    # rowcount of an INSERT is only kept when asked for: without this, psycopg reports -1
    # (truthy), and every duplicate would count as inserted on PostgreSQL.
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    return result.rowcount > 0  # type: ignore[attr-defined]
