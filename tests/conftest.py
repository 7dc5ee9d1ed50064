"""Shared fixtures: a database per test on SQLite and on PostgreSQL, settings, deps, fake Slack."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import hypothesis
import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import handlers.teams.models  # noqa: F401  (every test sees the whole schema on Base.metadata)
from bot.db import make_engine, sync_url
from bot.deps import Deps, build_deps
from bot.migrate import upgrade
from bot.models import Base
from bot.settings import Settings
from tests.clock import Clock
from tests.console_driver import ConsoleDriver
from tests.fake_slack import FakeSlack
from tests.signing import SIGNING_SECRET

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ("sqlite", "postgresql")

# Property tests in CI try the same examples on every run, so a red build is the code's
# doing and can be reproduced; locally they keep exploring new ones. Neither has a
# deadline per example: they check behaviour, and a machine busy with the suite's other
# workers can stall a millisecond's example past Hypothesis's default 200 ms.
hypothesis.settings.register_profile(
    "ci", derandomize=True, database=None, print_blob=True, deadline=None
)
hypothesis.settings.register_profile("local", deadline=None)
hypothesis.settings.load_profile("ci" if os.environ.get("CI") else "local")


# Settings a test may clear without leaving the run's own secret key (see run_key_file).
KEY_FILE_SETTING = "bridgebot_secret_key_file"
# The suite shares its machine's cores with its own servers and fakes: a test must not
# see "bridgebot is busy" because the machine is, so the budget is wide for the whole run
# (servers started as processes inherit it). Shedding is tested with its own clock and
# budget in tests/handlers/test_busy_shedding.py.
BUSY_SETTING = "bridgebot_busy_after_seconds"
RUN_WIDE_SETTINGS = {KEY_FILE_SETTING, BUSY_SETTING}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In a parallel run, the files with slow tests (real processes, chaos, the demo) go
    first: workers are handed files in this order (the Makefile turns off pytest-xdist's
    own, by number of tests, which put them last), so the long ones start early and the
    short ones even out when each worker finishes. A serial run keeps the usual order."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the rest keep order


@pytest.fixture(scope="session", autouse=True)
def run_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One key file for the whole run, never the working directory's: databases shared by
    a module or the run keep the fingerprint of the key that first used them, so every
    test's instance must have that key (a test wanting another names its own file)."""
    path = tmp_path_factory.mktemp("secret") / "bridgebot.key"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(KEY_FILE_SETTING.upper(), str(path))
        env.setenv(BUSY_SETTING.upper(), "30")
        yield path


@pytest.fixture(autouse=True)
def _no_developer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's tokens, database or key file."""
    for name in Settings.model_fields.keys() - RUN_WIDE_SETTINGS:
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A command run in-process (`bridgebot ...` through the CLI runner) points the root
    logger at the stream it was given; once that test's capture closes, a fake server's
    thread logging there would fail with "I/O operation on closed file"."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def settings_for(database_url: str) -> Settings:
    """Settings for `database_url` and nothing of the developer's environment, for a
    fixture wider than one test (built before the per-test clean-up above runs)."""
    with pytest.MonkeyPatch.context() as env:
        for name in Settings.model_fields.keys() - RUN_WIDE_SETTINGS:
            env.delenv(name.upper(), raising=False)
        return Settings(_env_file=None, database_url=database_url)


def create_pg_database(server_url: str) -> str:
    """A new, empty PostgreSQL database on the test server; returns its URL."""
    name = f"bridgebot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    admin = create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """An empty database (no schema) of the backend named by the test's `backend` param."""
    backend = request.param if hasattr(request, "param") else "sqlite"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    yield request.getfixturevalue("pg_database_url")


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """An empty PostgreSQL database (no schema) of the test's own; skipped without one."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
    url = create_pg_database(PG_URL)
    try:
        yield url
    finally:
        drop_pg_database(PG_URL, url)


@pytest.fixture(scope="session")
def pg_migrated_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole run (of each worker); tests empty it."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
    url = create_pg_database(PG_URL)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        drop_pg_database(PG_URL, url)


# Tables of slack_sdk's installation store: created by the first migration, not on Base.
SLACK_SDK_TABLES = ("slack_bots", "slack_installations", "slack_oauth_states")


@pytest.fixture(scope="session")
def pg_emptier(pg_migrated_url: str) -> Iterator[Callable[[], None]]:
    """Empties the run's PostgreSQL database for the next test. DELETE, not TRUNCATE: a
    test leaves a few rows, and TRUNCATE makes new files for each of ~40 tables (about
    200 ms a test, a quarter of a PostgreSQL test's time) where DELETE takes about 10."""
    engine = make_engine(pg_migrated_url)

    def empty() -> None:
        with engine.begin() as connection:
            for name in SLACK_SDK_TABLES:
                connection.execute(text(f'DELETE FROM "{name}"'))
            for table in reversed(Base.metadata.sorted_tables):  # referencing rows first
                connection.execute(delete(table))

    try:
        yield empty
    finally:
        engine.dispose()


def empty_tables(session: Session) -> None:
    """Delete every row but the key's fingerprint (app_secrets), from a database a module's
    tests share: the instances the run starts on it must still find their key's."""
    for table in reversed(Base.metadata.sorted_tables):
        if table.name != "app_secrets":
            session.execute(delete(table))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per run; each test gets a copy (migrating costs ~0.2 s)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a copy of the SQLite template, or PostgreSQL emptied."""
    if request.param == "sqlite":
        target = tmp_path / "bridgebot.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_migrated_url")
    request.getfixturevalue("pg_emptier")()
    return url


@pytest.fixture(scope="module", params=BACKENDS)
def module_deps(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deps]:
    """Deps on one migrated database per backend that a module's tests share (migrating
    per test is slow); the module's own `deps` fixture empties what a test left. The
    clock is real time until a test sets it."""
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("module") / "bridgebot.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("pg_migrated_url")
    built = build_deps(settings_for(url), clock=Clock())
    try:
        yield built
    finally:
        built.engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The console's files (exports, charts) go to the test's folder, not the checkout.
    return Settings(
        _env_file=None, database_url=database_url, bridgebot_files_dir=tmp_path / "files"
    )


@pytest.fixture
def clock() -> Clock:
    """What the test's deps take as now: real time until the test sets `clock.now`
    (a module may override this fixture with a clock of its own)."""
    return Clock()


@pytest.fixture
def deps(settings: Settings, clock: Callable[[], datetime]) -> Iterator[Deps]:
    # database_url is already migrated
    built = build_deps(settings, upgrade_schema=False, clock=clock)
    try:
        yield built
    finally:
        built.engine.dispose()


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[HTTPServer]:
    """One server for the run: stopping one takes half a second, so tests share it."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_slack(fake_slack_server: HTTPServer) -> Iterator[FakeSlack]:
    """A fresh fake Slack for each test (no calls, users or failures left from others)."""
    fake_slack_server.clear()
    fake = FakeSlack(fake_slack_server)
    try:
        yield fake
    finally:
        fake_slack_server.clear()


@pytest.fixture
def slack_settings(database_url: str, fake_slack: FakeSlack) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
    )


@pytest.fixture
def slack_deps(slack_settings: Settings, clock: Callable[[], datetime]) -> Iterator[Deps]:
    built = build_deps(slack_settings, upgrade_schema=False, clock=clock)
    try:
        yield built
    finally:
        built.engine.dispose()


@dataclass(frozen=True)
class SlackStart:
    """The clock and the fake Slack's people when `slack_http` starts the app; a module
    overrides the `slack_start` fixture to set them."""

    now: datetime | None = None  # None keeps real time
    admins: tuple[str, ...] = ()
    members: tuple[str, ...] = ()


@pytest.fixture
def slack_start() -> SlackStart:
    return SlackStart()


@pytest.fixture
def slack_http(
    slack_deps: Deps, fake_slack: FakeSlack, clock: Clock, slack_start: SlackStart
) -> Iterator[TestClient]:
    """The whole FastAPI app, lifespan included, as Slack reaches it over HTTP."""
    from handlers.server import create_web_app

    if slack_start.now is not None:
        clock.now = slack_start.now
    for admin in slack_start.admins:
        fake_slack.add_user(admin, admin=True)
    for member in slack_start.members:
        fake_slack.add_user(member)
    with TestClient(create_web_app(slack_deps)) as client:
        yield client


@pytest.fixture
def console(deps: Deps) -> Iterator[ConsoleDriver]:
    """A console typed into line by line, started as mia (the workspace's first person, an admin)."""
    driver = ConsoleDriver(deps, "mia")
    try:
        yield driver
    finally:
        driver.close()
