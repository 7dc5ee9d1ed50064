"""The database goes away and comes back: /healthz says so, people are told, the bot recovers.

The app reaches PostgreSQL through a small TCP proxy on 127.0.0.1 that the test can
"unplug": it drops every open connection and closes new ones at once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.db import make_engine
from bot.deps import Deps, build_deps
from bot.migrate import upgrade
from bot.models import Person
from bot.settings import Settings
from handlers.server import create_web_app
from handlers.slack.errors import DATABASE_DOWN
from tests.conftest import PG_URL, create_pg_database, drop_pg_database
from tests.fake_slack import FakeSlack
from tests.signing import SIGNING_SECRET, slack_headers, slash_command_body

# In the future, so the app's scheduler does not tick during the test.
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)
# "Quickly": well inside Slack's patience, with room for a busy test machine.
ANSWER_WITHIN_SECONDS = 8.0


class SwitchableProxy:
    """Forwards 127.0.0.1:<port> to the database until switched down."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.up = True
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up:
                client.close()  # the database "is down": the connection ends at once
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=3)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                self._open.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, target)

    def _drop(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            with self._lock:
                self._open.discard(sock)

    def down(self) -> None:
        """Cut every open connection and refuse new ones."""
        self.up = False
        with self._lock:
            current = list(self._open)
        self._drop(*current)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.down()
        self._stopped.set()
        self._thread.join(timeout=2)
        self._listener.close()


@pytest.fixture
def database() -> Iterator[str]:
    """A migrated PostgreSQL database of its own (the app's view of it goes via the proxy)."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: the outage test needs PostgreSQL")
    url = create_pg_database(PG_URL)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        drop_pg_database(PG_URL, url)


@pytest.fixture
def proxy(database: str) -> Iterator[SwitchableProxy]:
    target = make_url(database)
    switch = SwitchableProxy((target.host or "127.0.0.1", target.port or 5432))
    try:
        yield switch
    finally:
        switch.close()


@pytest.fixture
def outage_deps(database: str, proxy: SwitchableProxy, fake_slack: FakeSlack) -> Iterator[Deps]:
    proxied = make_url(database).set(host="127.0.0.1", port=proxy.port)
    settings = Settings(
        _env_file=None,
        database_url=proxied.render_as_string(hide_password=False),
        slack_bot_token=SecretStr("xoxb-test-token"),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        slack_api_url=fake_slack.api_url,
    )
    built = build_deps(settings, clock=lambda: NOW)
    try:
        yield built
    finally:
        built.engine.dispose()


def side_of(database: str, user: str) -> str | None:
    """Read directly, not through the proxy."""
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            return connection.execute(
                select(Person.side).where(Person.user_ref == user)
            ).scalar_one_or_none()
    finally:
        engine.dispose()


def bridge(client: TestClient, fake: FakeSlack, text: str) -> tuple[str, float]:
    """Run `/bridge TEXT`; the text of the answer at its response_url, and how long it took."""
    before = len(fake.calls_to("response_url"))
    body = slash_command_body("/bridge", text, response_url=fake.response_url())
    started = time.monotonic()
    assert (
        client.post("/slack/events", content=body, headers=slack_headers(body)).status_code == 200
    )
    reply = fake.wait_for("response_url", count=before + 1, timeout=ANSWER_WITHIN_SECONDS)[before]
    assert reply.params["response_type"] == "ephemeral"
    return str(reply.params["text"]), time.monotonic() - started


def test_database_outage_is_reported_and_recovered_from(
    outage_deps: Deps, proxy: SwitchableProxy, fake_slack: FakeSlack, database: str
) -> None:
    fake_slack.add_user("U0ALICE")
    with TestClient(create_web_app(outage_deps)) as client:
        assert client.get("/healthz").status_code == 200
        assert "Done: you are on the IT side." in bridge(client, fake_slack, "side it")[0]

        proxy.down()
        started = time.monotonic()
        health = client.get("/healthz")
        assert time.monotonic() - started < ANSWER_WITHIN_SECONDS
        assert health.status_code == 503
        body = health.json()
        assert body["status"] == "unavailable"
        assert body["database"] != "ok" and body["database"].startswith("error")
        assert body["scheduler"] == "running"

        # Each command is acknowledged (200) and answered; a few, as people try again.
        for attempt in ("side marketing", "side other", "side it"):
            answer, took = bridge(client, fake_slack, attempt)
            assert answer == DATABASE_DOWN
            assert answer == (
                "bridgebot is having trouble reaching its database, try again in a minute."
            )
            assert took < ANSWER_WITHIN_SECONDS

        proxy.restore()
        assert side_of(database, "U0ALICE") == "it"  # nothing was half-saved
        health = client.get("/healthz")
        assert health.status_code == 200, health.json()
        assert health.json()["database"] == "ok"
        answer, _ = bridge(client, fake_slack, "side marketing")
        assert "Done: you are on the Marketing side." in answer
        assert side_of(database, "U0ALICE") == "marketing"
