"""Alembic migrations: up, down and up again on both backends, and in step with the models."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, func, inspect, select

from bot.db import make_engine, make_session_factory
from bot.migrate import alembic_config, current_revision, downgrade, upgrade
from bot.models import Person, Side, Workspace
from migrations.schema import target_metadata
from tests.conftest import BACKENDS

# The metadata migrations/env.py compares against: our models (the Teams adapter's too)
# plus slack_sdk's OAuth tables.
TARGET_METADATA: list[MetaData] = target_metadata()
ALL_TABLES = {name for metadata in TARGET_METADATA for name in metadata.tables}
PROJECT_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.parametrize("fresh_database_url", BACKENDS, indirect=True)


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    built = make_engine(fresh_database_url)
    try:
        yield built
    finally:
        built.dispose()


def head(engine: Engine) -> str:
    revision = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert revision is not None
    return revision


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def add_workspace_and_person(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        session.add(Workspace(id="T1", platform="slack"))
        session.flush()
        session.add(Person(workspace_id="T1", user_ref="U1", side=Side.IT.value))


def people_count(engine: Engine) -> int:
    with make_session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(Person)) or 0


def test_upgrade_downgrade_and_upgrade_again(engine: Engine) -> None:
    assert tables(engine) == set()

    upgrade(engine)
    assert ALL_TABLES <= tables(engine)
    assert current_revision(engine) == head(engine)
    add_workspace_and_person(engine)
    assert people_count(engine) == 1

    downgrade(engine, "base")
    assert tables(engine) - {"alembic_version"} == set()
    assert current_revision(engine) is None

    upgrade(engine)
    assert ALL_TABLES <= tables(engine)
    assert current_revision(engine) == head(engine)
    assert people_count(engine) == 0
    add_workspace_and_person(engine)
    assert people_count(engine) == 1


def test_upgrading_twice_is_harmless(engine: Engine) -> None:
    upgrade(engine)
    add_workspace_and_person(engine)

    upgrade(engine)

    assert current_revision(engine) == head(engine)
    assert people_count(engine) == 1


# A bridgebot instance starting up: imports done, it waits for "go", then upgrades.
INSTANCE = """
import sys
from bot.db import make_engine
from bot.migrate import current_revision, upgrade
engine = make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
upgrade(engine)
print(current_revision(engine), flush=True)
"""


def test_instances_starting_at_once_both_upgrade_cleanly(
    fresh_database_url: str, engine: Engine
) -> None:
    """Alembic keeps global state, so each instance is a real process, as in production."""
    instances = [
        subprocess.Popen(
            [sys.executable, "-c", INSTANCE, fresh_database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT_ROOT,
        )
        for _ in range(2)
    ]
    try:
        for instance in instances:
            assert instance.stdout is not None
            assert instance.stdout.readline().strip() == "ready"
        for instance in instances:  # both released together
            assert instance.stdin is not None
            instance.stdin.write("go\n")
            instance.stdin.flush()
        outcomes = [instance.communicate(timeout=60) for instance in instances]
    finally:
        for instance in instances:
            instance.kill()
            instance.wait()

    for instance, (out, err) in zip(instances, outcomes, strict=True):
        assert instance.returncode == 0, err
        assert out.strip() == head(engine)
    assert ALL_TABLES <= tables(engine)


def test_models_match_the_migrations(engine: Engine) -> None:
    upgrade(engine)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        # Alembic compares a list of metadata as env.py's target_metadata does, though
        # compare_metadata's annotation names one MetaData.
        differences = compare_metadata(context, TARGET_METADATA)  # type: ignore[arg-type]

    assert differences == []
    # The same check through migrations/env.py itself, as `alembic check` runs it.
    command.check(alembic_config(engine))
