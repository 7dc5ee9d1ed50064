"""Alembic environment: our models plus the slack_sdk OAuth store tables."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine, MetaData, engine_from_config, pool, text

from migrations.schema import target_metadata as schema_metadata

config = context.config
target_metadata: list[MetaData] = schema_metadata()

# Several instances may start at once; on PostgreSQL an advisory lock makes them
# take turns so only one applies a migration. It is a transaction's lock, taken before
# Alembic reads the database's revision and let go at commit or rollback: it also holds
# through PgBouncer in transaction mode, where a session's lock could be taken on one
# server connection and released on another (or never).
MIGRATION_LOCK_ID = 7_240_519


def run_migrations_online() -> None:
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        engine = engine_from_config(
            config.get_section(config.config_ini_section) or {},
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
    with engine.connect() as connection:
        is_postgres = connection.dialect.name == "postgresql"
        if not is_postgres:
            _sqlite_foreign_keys(connection, enforced=False)
            # SQLite: take the write lock (BEGIN IMMEDIATE) before Alembic reads which
            # revision the database is at, so instances starting together take turns.
            connection.begin()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                if is_postgres:
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID}
                    )
                context.run_migrations()
            if not is_postgres:
                _check_sqlite_foreign_keys(connection)
            connection.commit()
        finally:
            if not is_postgres:
                connection.rollback()  # after a failure: the pragma needs no transaction open
                _sqlite_foreign_keys(connection, enforced=True)


def _sqlite_foreign_keys(connection: Connection, *, enforced: bool) -> None:
    """Rebuilding a table (batch mode) drops the old one, which with foreign keys enforced
    would cascade to every row referring to it, as SQLite's own procedure for schema changes
    warns. The pragma is ignored inside a transaction, so it goes straight to the driver
    (an SQLAlchemy execute would begin one first)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    """With enforcement off, check the references by hand before committing."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"the migration left {len(broken)} broken references: {broken[:5]}")


if context.is_offline_mode():
    raise SystemExit("bridgebot migrations run online only: use `bridgebot db upgrade`.")
run_migrations_online()
