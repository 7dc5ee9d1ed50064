"""Every Slack run mode from outside: Socket Mode's closed port, OAuth installs, uninstalls."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import func, select, text

from bot.deps import Deps, build_deps
from bot.models import GlossaryTerm, Occurrence, OccurrenceStatus, Person, Workspace
from bot.services import glossary, occurrences, workspaces
from bot.settings import RunMode, Settings
from handlers import server
from handlers.server import create_web_app
from handlers.slack.app import create_slack_app
from handlers.slack.background import BackgroundWork
from handlers.slack.runtime import AUTHORIZED_SECONDS, AuthorizedWorkspaces
from schedules.jobs import run_tick
from tests.app_scheduler import app_scheduler
from tests.bolt_requests import count_bolt_requests
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.idle import wait_until_idle
from tests.signing import (
    SIGNING_SECRET,
    event_callback_body,
    json_headers,
    slack_headers,
    slash_command_body,
)

UNINSTALLED = "not delivered: bridgebot was uninstalled"


def signed_command(client: TestClient, text_: str, response_url: str) -> int:
    body = slash_command_body("/bridge", text_, response_url=response_url)
    return client.post("/slack/events", content=body, headers=slack_headers(body)).status_code


def send_event(client: TestClient, event: dict[str, Any], event_id: str) -> int:
    body = event_callback_body(event, event_id=event_id)
    return client.post("/slack/events", content=body, headers=json_headers(body)).status_code


# -- Socket Mode: no HTTP door, and nothing unverified is ever answered --------------


class NoSocket:
    """Stands in for the Socket Mode connection (the HTTP side is what is tried here)."""

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        pass

    async def connect_async(self) -> None:
        pass

    async def close_async(self) -> None:
        pass


@pytest.fixture
def socket_http(
    database_url: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setattr(server, "AsyncSocketModeHandler", NoSocket)
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token="xoxb-test-token",
        slack_app_token="xapp-test-token",
        slack_api_url=fake_slack.api_url,
    )
    assert settings.run_mode is RunMode.SLACK_SOCKET
    deps = build_deps(settings, upgrade_schema=False)
    try:
        with TestClient(create_web_app(deps)) as client:
            yield client
    finally:
        deps.engine.dispose()


def test_socket_mode_has_no_http_events_endpoint_and_posts_nowhere(
    socket_http: TestClient, httpserver: HTTPServer
) -> None:
    """Anyone reaching the port gets a 404, and bridgebot never calls the URL they name."""
    httpserver.expect_request(re.compile(".*")).respond_with_data("ok")
    attacker_url = httpserver.url_for("/collect")
    body = slash_command_body("/bridge", "help", response_url=attacker_url)
    for headers in (slack_headers(body), slack_headers(body, secret="guessed")):
        assert socket_http.post("/slack/events", content=body, headers=headers).status_code == 404
    for path in ("/slack/install", "/slack/oauth_redirect?code=x&state=y"):
        assert socket_http.get(path).status_code == 404
    wait_until_idle(socket_http)  # work after an answer would have been done by now
    assert httpserver.log == []


def test_bolt_never_answers_a_request_that_failed_verification(
    slack_settings: Settings, slack_deps: Deps, httpserver: HTTPServer
) -> None:
    """Belt and braces behind the server's own check: a timestamp that is not a number
    makes Bolt's signature check itself fail, and the one error path stays silent."""
    httpserver.expect_request(re.compile(".*")).respond_with_data("ok")
    body = slash_command_body("/bridge", "side it", response_url=httpserver.url_for("/collect"))
    headers: dict[str, str | Sequence[str]] = {
        **slack_headers(body),
        "X-Slack-Request-Timestamp": "soon",
    }

    async def dispatch() -> int:
        async with aiohttp.ClientSession() as session:
            background = BackgroundWork()
            app = create_slack_app(slack_settings, slack_deps, session, background)
            response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
            # Work after an answer would have been done by now.
            await asyncio.wait_for(background.wait_idle(), timeout=10)
            return response.status

    assert asyncio.run(dispatch()) != 200
    assert httpserver.log == []
    with slack_deps.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 0


# -- OAuth: install, use, uninstall, reinstall -------------------------------------


@pytest.fixture
def oauth_deps(database_url: str, fake_slack: FakeSlack) -> Iterator[Deps]:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        slack_client_id="1111.2222",
        slack_client_secret="client-secret-0123456789",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
    )
    assert settings.run_mode is RunMode.SLACK_OAUTH
    built = build_deps(settings, upgrade_schema=False)
    try:
        yield built
    finally:
        built.engine.dispose()


@pytest.fixture
def oauth_http(oauth_deps: Deps) -> Iterator[TestClient]:
    # Over https, as in production: the OAuth state cookie is a Secure one.
    with TestClient(create_web_app(oauth_deps), base_url="https://testserver") as client:
        yield client


def install(client: TestClient, fake: FakeSlack) -> str:
    """The install page, then Slack's redirect back with its code; returns the new bot token."""
    page = client.get("/slack/install")
    assert page.status_code == 200
    found = re.search(r"oauth/v2/authorize\?state=([\w-]+)", page.text)
    assert found, page.text
    issued = len(fake.issued_bot_tokens)
    done = client.get(f"/slack/oauth_redirect?code=one-time-code&state={found.group(1)}")
    assert done.status_code == 200, done.text
    assert len(fake.issued_bot_tokens) == issued + 1
    return fake.issued_bot_tokens[-1]


def stored_tokens(deps: Deps) -> tuple[int, int]:
    """Rows of the team in slack_sdk's bot and installation tables."""
    with deps.engine.connect() as connection:
        return tuple(
            connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE team_id = :team"), {"team": TEAM_ID}
            ).scalar_one()
            for table in ("slack_bots", "slack_installations")
        )


def schedule_post(deps: Deps, subject: str, due_at: datetime) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        occurrences.schedule(
            session=session,
            workspace_id=TEAM_ID,
            kind="post",
            subject_ref=subject,
            due_at=due_at,
            payload={"conversation_ref": "C0SHARED", "text": f"post {subject}"},
        )


def post_state(deps: Deps, subject: str) -> tuple[str, int, str | None]:
    with deps.session_factory() as session:
        row = session.execute(
            select(Occurrence).where(Occurrence.kind == "post", Occurrence.subject_ref == subject)
        ).scalar_one()
        return row.status, row.attempts, row.last_error


def tick_until(
    client: TestClient, deps: Deps, subject: str, status: OccurrenceStatus, now: datetime
) -> tuple[str, int, str | None]:
    """Run a tick (the app's own scheduler may take the post first); wait for `status`."""
    assert client.portal is not None
    client.portal.call(run_tick, app_scheduler(client), now)
    deadline = time.monotonic() + 10
    while (state := post_state(deps, subject))[0] != status:
        assert state[0] in {OccurrenceStatus.PENDING, OccurrenceStatus.CLAIMED}, state
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    return state


def posts_with(fake: FakeSlack, token: str) -> list[str]:
    return [
        call.params["text"]
        for call in fake.calls_to("chat.postMessage")
        if call.headers.get("Authorization") == f"Bearer {token}"
    ]


def test_oauth_install_completes_and_its_token_serves_that_workspace(
    oauth_http: TestClient, oauth_deps: Deps, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0ALICE")
    token = install(oauth_http, fake_slack)
    assert stored_tokens(oauth_deps) == (1, 1)

    assert signed_command(oauth_http, "side marketing", fake_slack.response_url()) == 200
    assert "Marketing" in fake_slack.wait_for("response_url")[0].params["text"]
    schedule_post(oauth_deps, "first", oauth_deps.clock())
    assert tick_until(oauth_http, oauth_deps, "first", OccurrenceStatus.SENT, oauth_deps.clock())
    assert posts_with(fake_slack, token) == ["post first"]


def lookup(client: TestClient, fake: FakeSlack, team_id: str = TEAM_ID) -> str:
    body = slash_command_body("/jargon", "CAC", response_url=fake.response_url(), team_id=team_id)
    response = client.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200
    return response.text


def test_with_oauth_lookups_of_an_installed_workspace_skip_bolt_until_it_uninstalls(
    oauth_http: TestClient, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_slack.add_user("U0ALICE")
    install(oauth_http, fake_slack)
    through_bolt = count_bolt_requests(oauth_http, monkeypatch)

    # Bolt finds the installation once; from then on lookups are answered without it.
    first = lookup(oauth_http, fake_slack)
    assert through_bolt == [1] and "Customer acquisition cost" in first
    second = lookup(oauth_http, fake_slack)
    assert through_bolt == [1], "answered in the acknowledgement, without Bolt"
    assert "Customer acquisition cost" in second

    # A workspace Bolt found no installation for is never answered without it.
    assert "Customer acquisition cost" not in lookup(oauth_http, fake_slack, team_id="T0OTHER")
    assert "Customer acquisition cost" not in lookup(oauth_http, fake_slack, team_id="T0OTHER")
    assert through_bolt == [3]

    # Uninstalled: lookups go to Bolt again, which finds no installation.
    assert send_event(oauth_http, {"type": "app_uninstalled"}, "Ev0UNINSTALL") == 200
    bolt_before = through_bolt[0]
    assert "Customer acquisition cost" not in lookup(oauth_http, fake_slack)
    assert through_bolt == [bolt_before + 1]
    wait_until_idle(oauth_http)


def add_data(client: TestClient, deps: Deps, fake: FakeSlack) -> None:
    fake.add_user("U0ALICE")
    assert signed_command(client, "side marketing", fake.response_url()) == 200
    fake.wait_for("response_url")
    with deps.session_factory.begin() as session:
        glossary.add_term(
            session=session,
            workspace_id=TEAM_ID,
            draft=glossary.TermDraft(
                name="Warm handover", definition="Passing work on, in person."
            ),
            author_ref="U0ALICE",
            now=deps.clock(),
        )


def data_kept(deps: Deps) -> tuple[int, int, int]:
    """The workspace, its people and its glossary terms (each there at least once)."""
    with deps.session_factory() as session:
        counts = (
            session.scalar(select(func.count()).where(Workspace.id == TEAM_ID)) or 0,
            session.scalar(select(func.count()).where(Person.workspace_id == TEAM_ID)) or 0,
            session.scalar(select(func.count()).where(GlossaryTerm.workspace_id == TEAM_ID)) or 0,
        )
    assert all(counts), counts
    return counts


def test_uninstall_deletes_tokens_keeps_data_and_posts_resume_after_reinstall(
    oauth_http: TestClient, oauth_deps: Deps, fake_slack: FakeSlack
) -> None:
    first_token = install(oauth_http, fake_slack)
    add_data(oauth_http, oauth_deps, fake_slack)
    kept = data_kept(oauth_deps)
    now = oauth_deps.clock()

    assert send_event(oauth_http, {"type": "app_uninstalled"}, "Ev0UNINSTALL") == 200
    assert stored_tokens(oauth_deps) == (0, 0)

    schedule_post(oauth_deps, "while-gone", now)
    state = tick_until(oauth_http, oauth_deps, "while-gone", OccurrenceStatus.UNDELIVERABLE, now)
    assert state == (OccurrenceStatus.UNDELIVERABLE, 1, UNINSTALLED)
    # Not retried: later ticks leave it as it is, and Slack was never asked.
    assert oauth_http.portal is not None
    oauth_http.portal.call(run_tick, app_scheduler(oauth_http), now + timedelta(minutes=5))
    assert post_state(oauth_deps, "while-gone") == state
    assert fake_slack.calls_to("chat.postMessage") == []
    assert data_kept(oauth_deps) == kept

    second_token = install(oauth_http, fake_slack)
    assert second_token != first_token
    later = now + timedelta(minutes=10)
    schedule_post(oauth_deps, "after-reinstall", later)
    tick_until(oauth_http, oauth_deps, "after-reinstall", OccurrenceStatus.SENT, later)
    assert posts_with(fake_slack, second_token) == ["post after-reinstall"]
    assert post_state(oauth_deps, "while-gone")[0] == OccurrenceStatus.UNDELIVERABLE


def test_revoked_bot_token_stops_posts_and_keeps_data(
    oauth_http: TestClient, oauth_deps: Deps, fake_slack: FakeSlack
) -> None:
    install(oauth_http, fake_slack)
    add_data(oauth_http, oauth_deps, fake_slack)
    kept = data_kept(oauth_deps)
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": ["U0INSTALLER"], "bot": ["U0BOT"]}}

    assert send_event(oauth_http, revoked, "Ev0REVOKED") == 200
    assert stored_tokens(oauth_deps) == (0, 0)

    now = oauth_deps.clock()
    schedule_post(oauth_deps, "revoked", now)
    state = tick_until(oauth_http, oauth_deps, "revoked", OccurrenceStatus.UNDELIVERABLE, now)
    assert state == (OccurrenceStatus.UNDELIVERABLE, 1, UNINSTALLED)
    assert fake_slack.calls_to("chat.postMessage") == []
    assert data_kept(oauth_deps) == kept


# -- One fixed token (HTTP mode): Slack says it is revoked -------------------------


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive"])
def test_a_revoked_fixed_token_is_recorded_once_not_retried(
    slack_http: TestClient, slack_deps: Deps, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.fail_next("chat.postMessage", status=200, error=error, times=3)
    now = slack_deps.clock()
    schedule_post(slack_deps, "one", now)
    schedule_post(slack_deps, "two", now)

    for subject in ("one", "two"):
        state = tick_until(slack_http, slack_deps, subject, OccurrenceStatus.UNDELIVERABLE, now)
        assert state[:2] == (OccurrenceStatus.UNDELIVERABLE, 1)
        assert state[2] is not None and state[2].startswith(UNINSTALLED)
    # Slack was asked once: a revoked token is not tried again, now or at later ticks.
    assert slack_http.portal is not None
    slack_http.portal.call(run_tick, app_scheduler(slack_http), now + timedelta(minutes=5))
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_uninstall_event_is_answered_in_fixed_token_mode(
    slack_http: TestClient, fake_slack: FakeSlack
) -> None:
    """Not a 404 (Slack would retry it): there is no stored token to delete, only a note."""
    assert send_event(slack_http, {"type": "app_uninstalled"}, "Ev0GONE") == 200
    assert (
        send_event(slack_http, {"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}}, "Ev1")
        == 200
    )


def test_an_organisation_wide_uninstall_forgets_each_of_its_workspaces() -> None:
    authorized = AuthorizedWorkspaces()
    for enterprise, team in (("E1", "T1"), ("E1", "T2"), ("", "T3")):
        authorized.confirm(enterprise, team)
    authorized.forget("E1", "")  # an org-wide install names no team
    assert not authorized.confirmed("E1", "T1") and not authorized.confirmed("E1", "T2")
    assert authorized.confirmed("", "T3")
    authorized.forget("", "T3")
    assert not authorized.confirmed("", "T3")


def test_a_workspace_bolt_has_not_authorized_for_five_minutes_goes_through_bolt_again() -> None:
    now = [1000.0]
    authorized = AuthorizedWorkspaces(timer=lambda: now[0])
    authorized.confirm("", "T1")
    now[0] += AUTHORIZED_SECONDS - 1
    assert authorized.confirmed("", "T1")
    now[0] += 2  # another process's uninstall is heard nowhere here: it ages out
    assert not authorized.confirmed("", "T1")
