"""Requests are checked before anything is done with them: size, signature, workspace, replay."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import func, select

from bot.deps import Deps, build_deps
from bot.models import (
    BoardPost,
    GlossaryEdit,
    GlossaryTerm,
    Person,
    ProcessedRequest,
    Workspace,
)
from bot.settings import Settings
from handlers.server import create_web_app
from tests.fake_slack import FakeSlack
from tests.idle import wait_until_idle
from tests.signing import (
    SIGNING_SECRET,
    slack_headers,
    slash_command_body,
    view_submission_body,
)

CAP = 1024 * 1024
BOLT_VERIFICATION_LOGGER = "slack_bolt.RequestVerification"  # where Bolt logs a failed check
CHUNK = b"x" * 65536


def count_rows(deps: Deps, model: type) -> int:
    with deps.session_factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


@contextmanager
def web_app(database_url: str, fake: FakeSlack, **overrides: Any) -> Iterator[TestClient]:
    """The app in single-workspace HTTP mode, with settings beyond the defaults."""
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        **overrides,
    )
    deps = build_deps(settings, upgrade_schema=False)
    try:
        with TestClient(create_web_app(deps)) as client:
            yield client
    finally:
        deps.engine.dispose()


# -- bodies over the cap ---------------------------------------------------------------


class CountingBody:
    """A request body produced on demand, counting how much of it the server asked for."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.yielded = 0

    def chunks(self) -> Iterator[bytes]:
        while self.left > 0:
            chunk = CHUNK[: self.left]
            self.left -= len(chunk)
            self.yielded += len(chunk)
            yield chunk


def post_streamed(
    client: TestClient, path: str, body: CountingBody, headers: dict[str, str]
) -> int:
    """POST `body` to the running app chunk by chunk, as a server hands it over; the status."""
    chunks = body.chunks()
    status: list[int] = []

    async def call() -> None:
        finished = False

        async def receive() -> dict[str, Any]:
            nonlocal finished
            if finished:
                return {"type": "http.disconnect"}
            chunk = next(chunks, None)
            if chunk is None:
                finished = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 3000),
            "state": {},
        }
        await client.app(scope, receive, send)  # type: ignore[arg-type]

    assert client.portal is not None
    client.portal.call(call)
    assert len(status) == 1, status
    return status[0]


@pytest.mark.parametrize("path", ["/slack/events", "/api/messages", "/metrics"])
def test_a_declared_body_over_the_cap_gets_413_before_a_byte_is_read(
    slack_http: TestClient, path: str
) -> None:
    body = CountingBody(200 * 1024 * 1024)
    headers = {"Content-Length": str(200 * 1024 * 1024)} | slack_headers("")

    assert post_streamed(slack_http, path, body, headers) == 413
    assert body.yielded == 0


def test_a_chunked_body_over_the_cap_is_refused_at_the_cap_unread_beyond_it(
    slack_http: TestClient, slack_deps: Deps
) -> None:
    """Without a Content-Length the body is counted as it arrives; reading stops at the cap."""
    body = CountingBody(200 * 1024 * 1024)

    status = post_streamed(slack_http, "/slack/events", body, slack_headers(""))

    assert status == 413
    assert body.yielded <= CAP + len(CHUNK)
    assert count_rows(slack_deps, Workspace) == 0

    under = CountingBody(CAP - 10)
    status = post_streamed(slack_http, "/slack/events", under, slack_headers("x"))
    assert status == 401  # read whole, then refused for its signature, not its size
    assert under.yielded == CAP - 10


# -- signatures ------------------------------------------------------------------------


def fresh_timestamp() -> str:
    return str(int(time.time()))


def signed_with(timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()


FORM = "application/x-www-form-urlencoded"
GARBLED: dict[str, Any] = {
    "no signature headers": lambda body: {"Content-Type": FORM},
    "no timestamp": lambda body: {
        "Content-Type": FORM,
        "X-Slack-Signature": signed_with(fresh_timestamp(), body),
    },
    "a timestamp that is not an integer": lambda body: {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": "soon",
        "X-Slack-Signature": signed_with("soon", body),
    },
    "a signature of non-ASCII bytes": lambda body: {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": fresh_timestamp(),
        "X-Slack-Signature": "v0=\xff\xfe" + "0" * 62,
    },
    "a signature that is not hex": lambda body: {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": fresh_timestamp(),
        "X-Slack-Signature": "garbage",
    },
}


def test_garbled_or_missing_signature_headers_get_401_never_a_traceback(
    slack_http: TestClient,
    fake_slack: FakeSlack,
    slack_deps: Deps,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    body = slash_command_body("/bridge", "side it", response_url=fake_slack.response_url())
    answers = {}
    for case, make_headers in GARBLED.items():
        headers = {k: v.encode("latin-1") for k, v in make_headers(body).items()}
        answers[case] = slack_http.post("/slack/events", content=body, headers=headers).status_code

    assert answers == dict.fromkeys(GARBLED, 401)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert count_rows(slack_deps, Person) == 0


def test_a_body_that_is_not_utf8_gets_401(slack_http: TestClient, slack_deps: Deps) -> None:
    timestamp = fresh_timestamp()
    body = b"command=/bridge&text=\xff\xfe"
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signed_with(timestamp, "command=/bridge&text=??"),
    }
    assert slack_http.post("/slack/events", content=body, headers=headers).status_code == 401


def test_a_large_unsigned_body_is_not_copied_into_the_log(
    slack_http: TestClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Bolt's loggers take the root's level when the app is built (INFO in production).
    caplog.set_level(logging.DEBUG, logger=BOLT_VERIFICATION_LOGGER)
    marker = "LEAKED-INTO-THE-LOG"
    body = slash_command_body(
        "/win", marker + "a" * 900_000, response_url=fake_slack.response_url()
    )
    headers = slack_headers(body, secret="not-the-signing-secret")

    assert slack_http.post("/slack/events", content=body, headers=headers).status_code == 401

    assert marker not in caplog.text
    assert len(caplog.text) < 10_000


def test_bolts_own_signature_check_logs_no_body(
    slack_http: TestClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """A request that reaches Bolt and fails its check there (say, turned stale on the way)."""
    caplog.set_level(logging.DEBUG)
    # Bolt's loggers take the root's level when the app is built (INFO in production).
    caplog.set_level(logging.DEBUG, logger=BOLT_VERIFICATION_LOGGER)
    marker = "LEAKED-INTO-THE-LOG"
    body = slash_command_body("/win", marker, response_url=fake_slack.response_url())
    headers = slack_headers(body, secret="not-the-signing-secret")
    bolt_app = slack_http.app.state.slack_handler.app  # type: ignore[attr-defined]
    request = AsyncBoltRequest(body=body, headers={k.lower(): v for k, v in headers.items()})

    assert slack_http.portal is not None
    response = slack_http.portal.call(bolt_app.async_dispatch, request)

    assert response.status == 401
    assert "Invalid request signature" in caplog.text
    assert marker not in caplog.text


# -- metrics labels --------------------------------------------------------------------


@pytest.mark.slow  # many requests, each refused in full
def test_unsigned_requests_add_no_metric_series(slack_http: TestClient) -> None:
    """2,000 unsigned requests with made-up kinds, commands and paths barely grow /metrics."""
    before = len(slack_http.get("/metrics").content)
    for i in range(2000):
        match i % 4:
            case 0:
                body = json.dumps({"type": f"kind_{i}", "team_id": f"T{i}", "event": {}})
                headers = {"Content-Type": "application/json"}
                path = "/slack/events"
            case 1:
                body = f"command=/made-up-{i}&team_id=T{i}"
                headers = slack_headers(body, secret="not-the-signing-secret")
                path = "/slack/events"
            case 2:
                body = "payload=" + json.dumps({"type": f"kind_{i}", "actions": []})
                headers = {"Content-Type": FORM, "X-Slack-Signature": f"v0={i}"}
                path = "/slack/events"
            case _:
                body, headers, path = "{}", {}, f"/slack/events/{i}"
        assert slack_http.post(path, content=body, headers=headers).status_code in (401, 404)

    after = slack_http.get("/metrics")
    assert len(after.content) - before < 2_000
    assert 'kind="unverified"' in after.text


# -- the workspace of a single-workspace install -----------------------------------------


def test_a_signed_command_from_another_workspace_is_refused(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    body = slash_command_body(
        "/bridge", "side it", response_url=fake_slack.response_url(), team_id="T0OTHER"
    )

    response = slack_http.post("/slack/events", content=body, headers=slack_headers(body))

    assert response.status_code == 200
    assert "not installed in your workspace" in response.text
    wait_until_idle(slack_http)  # the command would run after its acknowledgement
    assert count_rows(slack_deps, Workspace) == 0
    assert count_rows(slack_deps, Person) == 0
    assert fake_slack.calls_to("response_url") == []
    assert count_rows(slack_deps, ProcessedRequest) == 0

    # The same command from the workspace the token belongs to (auth.test's team) runs.
    body = slash_command_body("/bridge", "side it", response_url=fake_slack.response_url())
    assert slack_http.post("/slack/events", content=body, headers=slack_headers(body)).text == ""
    fake_slack.wait_for("response_url")
    assert count_rows(slack_deps, Person) == 1


# -- replays ---------------------------------------------------------------------------


def test_a_replayed_slash_command_runs_once(
    slack_http: TestClient,
    fake_slack: FakeSlack,
    slack_deps: Deps,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    fake_slack.add_user("U0ADA", admin=True)
    setup = slash_command_body(
        "/bridge",
        "channel <#C0SHARED|bridge>",
        response_url=fake_slack.response_url(),
        user_id="U0ADA",
    )
    slack_http.post("/slack/events", content=setup, headers=slack_headers(setup))
    fake_slack.wait_for("response_url")
    body = slash_command_body(
        "/win", "Shipped the launch page", response_url=fake_slack.response_url()
    )
    headers = slack_headers(body)

    first = slack_http.post("/slack/events", content=body, headers=headers)
    fake_slack.wait_for("response_url", count=2)
    replay = slack_http.post("/slack/events", content=body, headers=headers)

    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.text == ""
    deadline = time.monotonic() + 10
    while "skipping a replayed slash command" not in caplog.text:
        if count_rows(slack_deps, BoardPost) > 1 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert count_rows(slack_deps, BoardPost) == 1
    assert len(fake_slack.calls_to("response_url")) == 2

    # The same text typed again is a new request (its own trigger and signature): it runs.
    again = slash_command_body(
        "/win", "Shipped the launch page", response_url=fake_slack.response_url()
    )
    assert slack_http.post("/slack/events", content=again, headers=slack_headers(again)).text == ""
    fake_slack.wait_for("response_url", count=3)
    assert count_rows(slack_deps, BoardPost) == 2


def test_a_replayed_form_submission_is_saved_once(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    help_body = slash_command_body("/jargon", "help", response_url=fake_slack.response_url())
    answered = slack_http.post("/slack/events", content=help_body, headers=slack_headers(help_body))
    assert "/jargon" in answered.json()["text"]  # answered in the ack: the workspace exists
    body = view_submission_body(
        "glossary_add_form", {"name": "Zorblax", "definition": "A made-up word.", "origin": "it"}
    )
    headers = slack_headers(body)

    first = slack_http.post("/slack/events", content=body, headers=headers)
    replay = slack_http.post("/slack/events", content=body, headers=headers)

    assert (first.status_code, first.text) == (200, "")
    assert (replay.status_code, replay.text) == (200, "")  # not "that name is taken"
    with slack_deps.session_factory() as session:
        terms = session.execute(select(GlossaryTerm.id).where(GlossaryTerm.name == "Zorblax"))
        (term_id,) = terms.scalars().all()
        edits = select(func.count()).where(GlossaryEdit.term_id == term_id)
        assert session.execute(edits).scalar_one() <= 1


# -- documentation pages and /metrics -----------------------------------------------------


def test_by_default_api_documentation_is_off_and_metrics_are_open(slack_http: TestClient) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert slack_http.get(path).status_code == 404, path
    assert slack_http.get("/metrics").status_code == 200


def test_api_documentation_can_be_turned_on(database_url: str, fake_slack: FakeSlack) -> None:
    with web_app(database_url, fake_slack, bridgebot_api_docs=True) as client:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert client.get(path).status_code == 200, path


def test_metrics_with_a_token_setting_need_that_bearer_token(
    database_url: str, fake_slack: FakeSlack
) -> None:
    token = "metrics-0123456789abcdef"
    with web_app(database_url, fake_slack, bridgebot_metrics_token=token) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "bridgebot_requests_total" not in refused.text
        wrong = {"Authorization": "Bearer metrics-0123456789abcdeX"}
        assert client.get("/metrics", headers=wrong).status_code == 401
        assert client.get("/metrics", headers={"Authorization": token}).status_code == 401
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        assert "bridgebot_requests_total" in allowed.text
