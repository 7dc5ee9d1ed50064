"""Fixtures for the Teams adapter: a fake Bot Connector and the whole app on TestClient."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from bot.deps import Deps, build_deps
from bot.models import Occurrence, OccurrenceStatus
from bot.services.outbox import CHANNEL_POST, POST_REFUSED
from bot.settings import Settings
from handlers.server import create_web_app
from handlers.teams.app import TeamsOptions
from handlers.teams.pacing import TeamsPacer
from tests.clock import Clock
from tests.teams.activities import (
    APP_ID,
    TENANT_A,
    Person,
    Place,
    card_action,
    channel,
    message,
    person,
    personal,
)
from tests.teams.fake_connector import Call, FakeConnector

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday: no digest or pulse is due

ALICE = person("Alice", 1)
BOB = person("Bob", 2)
ADMIN = person("Ada", 3)
TEAM_A = "19:team-a0000000000000000000000000@thread.tacv2"  # also its General channel
SHARED = channel(
    "19:shared-a00000000000000000000000@thread.tacv2", TEAM_A, TENANT_A, "marketing-it"
)
GENERAL = channel(TEAM_A, TEAM_A, TENANT_A)


def outgoing_token(_scope: str | list[str], _tenant: str | None = None) -> str:
    """What the bot sends the Bot Connector instead of an Azure AD token (unsigned, fake)."""
    claims = {
        "aud": "https://api.botframework.com",
        "appid": APP_ID,
        "exp": int(time.time()) + 3600,
    }
    return jwt.encode(claims, "not-a-real-key-just-for-tests-000000", algorithm="HS256")


@pytest.fixture(scope="session")
def connector_server() -> Iterator[HTTPServer]:
    """One server for the run: stopping one takes half a second."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def connector(connector_server: HTTPServer) -> Iterator[FakeConnector]:
    """A fresh fake Bot Connector (no calls, members or failures) for each test."""
    connector_server.clear()
    try:
        yield FakeConnector(connector_server)
    finally:
        connector_server.clear()


def teams_settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "teams_app_id": APP_ID,
        "teams_app_password": "test-app-password-0123",
        "bridgebot_public_url": "https://bridgebot.test",
        "bridgebot_admins": [ADMIN.aad],
    }
    return Settings(_env_file=None, **(values | overrides))


@pytest.fixture
def teams_deps(database_url: str, clock: Clock) -> Iterator[Deps]:
    clock.now = NOW
    # database_url is already migrated
    built = build_deps(teams_settings_for(database_url), upgrade_schema=False, clock=clock)
    try:
        yield built
    finally:
        built.engine.dispose()


class Teams:
    """Drives the app as Teams does: posts activities, clicks buttons on posted cards."""

    def __init__(
        self, client: TestClient, connector: FakeConnector, deps: Deps | None = None
    ) -> None:
        self.client = client
        self.connector = connector
        self.deps = deps

    def post(self, activity: dict[str, Any]) -> Any:
        response = self.client.post("/api/messages", json=activity)
        assert response.status_code == 200, response.text
        return response.json() if response.content else None

    def settle(self, queued_before: int) -> bool:
        """Wait for the posts the activity queued (the scheduler sends them just after);
        False if it queued none. Counted from all posts ever queued, so a post the
        scheduler sent before this looked is still waited for and returned."""
        if self.deps is None or queued_total(self.deps) == queued_before:
            return False
        deadline = time.monotonic() + 10
        while queued_posts(self.deps) and time.monotonic() < deadline:
            time.sleep(0.02)
        return True

    def queued_so_far(self) -> int:
        return 0 if self.deps is None else queued_total(self.deps)

    def say(self, text: str, who: Person, place: Place | None = None, **kwargs: Any) -> list[Call]:
        """Type a command; returns the messages the bot sent in answer."""
        before, queued = len(self.connector.sent()), self.queued_so_far()
        self.post(message(self.connector.service_url, text, who, place or personal(who), **kwargs))
        answered = self.connector.sent()[before:]
        # With the posts it queued, when it queued any; else only the answer, as before
        # (a pulse run now sends its DMs a moment later).
        return self.connector.sent()[before:] if self.settle(queued) else answered

    def click(
        self,
        posted: Call,
        title: str,
        who: Person,
        place: Place | None = None,
        inputs: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """Click the button titled `title` on a card the bot posted; returns Teams' answer."""
        action = find_action(posted.card, title)
        activity = card_action(
            self.connector.service_url, who, place or personal(who), action,
            reply_to_id=message_id or self.message_id(posted), inputs=inputs,
        )  # fmt: skip
        queued = self.queued_so_far()
        answer: dict[str, Any] = self.post(activity)
        self.settle(queued)
        return answer

    @staticmethod
    def message_id(posted: Call) -> str:
        return posted.message_id


def queued_total(deps: Deps) -> int:
    """Posts ever queued, delivered or not."""
    with deps.session_factory() as session:
        return session.execute(
            select(func.count())
            .select_from(Occurrence)
            .where(Occurrence.kind.in_([CHANNEL_POST, POST_REFUSED]))
        ).scalar_one()


def queued_posts(deps: Deps) -> int:
    """Posts queued and not yet delivered (nor refused)."""
    with deps.session_factory() as session:
        return session.execute(
            select(func.count())
            .select_from(Occurrence)
            .where(
                Occurrence.kind.in_([CHANNEL_POST, POST_REFUSED]),
                Occurrence.status.in_(
                    [OccurrenceStatus.PENDING.value, OccurrenceStatus.CLAIMED.value]
                ),
            )
        ).scalar_one()


def find_action(card: dict[str, Any], title: str) -> dict[str, Any]:
    titles = []
    for action in actions(card):
        titles.append(action.get("title"))
        if action.get("title") == title:
            return action
    raise AssertionError(f"no button {title!r} on the card; buttons: {titles}")


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "ActionSet":
                found.extend(node.get("actions") or [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card.get("body"))
    found.extend(card.get("actions") or [])
    return found


def card_text(card: dict[str, Any]) -> str:
    """Everything a person reads on a card (TextRuns joined per block, blocks by newline)."""
    lines: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "RichTextBlock":
                lines.append("".join(run.get("text", "") for run in node.get("inlines", [])))
                return
            if node.get("type") == "TextBlock":
                lines.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card.get("body"))
    return "\n".join(lines)


@pytest.fixture
def teams(teams_deps: Deps, connector: FakeConnector) -> Iterator[Teams]:
    """The whole FastAPI app with token validation off (the test-only switch)."""
    options = TeamsOptions(
        token=outgoing_token,
        dangerously_allow_unauthenticated_requests=True,
        # Retries back off for hundredths of a second, not seconds.
        pacer=TeamsPacer(backoff_base=0.01),
    )
    with TestClient(create_web_app(teams_deps, teams_options=options)) as client:
        yield Teams(client, connector, teams_deps)
