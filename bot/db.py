"""Engines and sessions; nothing here connects until called."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


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
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


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
    # The pool matches the server's worker threads plus the scheduler's.
    return create_engine(
        target,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=15,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
        **kwargs,
    )


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


def insert_ignoring_conflicts(
    session: Session,
    model: type[DeclarativeBase],
    values: Mapping[str, Any],
    conflict_columns: Iterable[str],
) -> bool:
    """Insert a row unless one with the same unique key exists; True if this call inserted it.

    Concurrent first uses (two commands from a new workspace at once) must not fail
    on the unique constraint, so this uses the backend's ON CONFLICT DO NOTHING.
    """
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        builder(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
    )
    # rowcount of an INSERT is only kept when asked for: without this, psycopg reports -1
    # (truthy), and every duplicate would count as inserted on PostgreSQL.
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    return result.rowcount > 0  # type: ignore[attr-defined,no-any-return]
