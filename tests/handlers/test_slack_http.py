"""End to end over HTTP: signed requests into the FastAPI app, replies caught by the fake Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.deps import Deps, build_deps
from bot.models import Occurrence, OccurrenceStatus, Person, Workspace, WorkspaceSettings
from bot.services import occurrences, workspaces
from bot.settings import Settings
from handlers.server import create_web_app
from handlers.slack.render import escape
from schedules.jobs import run_tick
from tests.app_scheduler import app_scheduler
from tests.fake_slack import TEAM_ID, Call, FakeSlack
from tests.idle import wait_until_idle
from tests.signing import SIGNING_SECRET, slack_headers, slash_command_body


def post_command(
    client: TestClient, fake: FakeSlack, command: str, text: str, **kwargs: object
) -> int:
    body = slash_command_body(command, text, response_url=fake.response_url(), **kwargs)  # type: ignore[arg-type]
    return client.post("/slack/events", content=body, headers=slack_headers(body)).status_code


def count_rows(deps: Deps, model: type) -> int:
    with deps.session_factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_bridge_side_persists_and_replies_privately(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    assert post_command(slack_http, fake_slack, "/bridge", "side marketing") == 200

    reply = fake_slack.wait_for("response_url")[0].params
    assert reply["response_type"] == "ephemeral"
    assert "Marketing" in reply["text"]
    with slack_deps.session_factory() as session:
        person = session.execute(select(Person)).scalar_one()
    assert (person.workspace_id, person.user_ref, person.side) == (
        "T0BRIDGE",
        "U0ALICE",
        "marketing",
    )


def test_bad_signature_is_refused_and_changes_nothing(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    body = slash_command_body("/bridge", "side it", response_url=fake_slack.response_url())
    headers = slack_headers(body, secret="not-the-signing-secret")
    assert slack_http.post("/slack/events", content=body, headers=headers).status_code == 401
    wait_until_idle(slack_http)
    assert count_rows(slack_deps, Person) == 0
    assert count_rows(slack_deps, Workspace) == 0
    assert fake_slack.calls_to("response_url") == []


def test_stale_signature_is_refused(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    body = slash_command_body("/bridge", "side it", response_url=fake_slack.response_url())
    headers = slack_headers(body, timestamp=int(time.time()) - 10 * 60)
    assert slack_http.post("/slack/events", content=body, headers=headers).status_code == 401
    assert count_rows(slack_deps, Person) == 0


# -- /bridge help, channel, admins, escaping -------------------------------------------


def shared_channel(deps: Deps, workspace_id: str = TEAM_ID) -> str | None:
    with deps.session_factory() as session:
        return session.execute(
            select(WorkspaceSettings.shared_channel_ref).where(
                WorkspaceSettings.workspace_id == workspace_id
            )
        ).scalar_one_or_none()


BRIDGE_SUBCOMMANDS = (
    "/bridge help",
    "/bridge side marketing|it|other",
    "/bridge channel #CHANNEL",
    "/bridge settings",
    "/bridge forget-me",
    "/bridge export-me",
)


def test_bridge_help_lists_every_command_privately(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    assert post_command(slack_http, fake_slack, "/bridge", "help") == 200

    reply = fake_slack.wait_for("response_url")[0].params
    assert reply["response_type"] == "ephemeral"
    blocks = json.dumps(reply["blocks"], ensure_ascii=False)
    for sub in BRIDGE_SUBCOMMANDS:
        assert sub in reply["text"], sub
        assert sub in blocks, sub
    for name in ("/jargon", "/standup", "/win", "/challenge", "/pulse", "/bridge"):
        assert f"`{name}" in blocks, name
    for command in slack_deps.router.commands():
        for line in command.help_lines:
            assert escape(line) in blocks, line


def test_non_admin_cannot_choose_the_shared_channel(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0BOB")
    status = post_command(
        slack_http, fake_slack, "/bridge", "channel <#C0SHARED|marketing-it>", user_id="U0BOB"
    )
    assert status == 200

    reply = fake_slack.wait_for("response_url")[0].params
    assert reply["response_type"] == "ephemeral"
    assert "Only workspace admins" in reply["text"]
    assert shared_channel(slack_deps) is None


def test_slack_admin_chooses_the_shared_channel(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ADA", admin=True)
    status = post_command(
        slack_http, fake_slack, "/bridge", "channel <#C0SHARED|marketing-it>", user_id="U0ADA"
    )
    assert status == 200

    reply = fake_slack.wait_for("response_url")[0].params
    assert "#C0SHARED" in reply["text"]
    assert "<#C0SHARED>" in json.dumps(reply["blocks"])  # a real channel link
    assert shared_channel(slack_deps) == "C0SHARED"


def test_slack_is_asked_about_admin_rights_only_when_a_command_needs_them(
    slack_http: TestClient, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0BOB")
    post_command(slack_http, fake_slack, "/bridge", "side it", user_id="U0BOB")
    fake_slack.wait_for("response_url")
    assert fake_slack.calls_to("users.info") == []  # choosing one's side needs no rights

    post_command(slack_http, fake_slack, "/bridge", "channel <#C0SHARED|x>", user_id="U0BOB")
    fake_slack.wait_for("response_url", count=2)
    assert [c.params["user"] for c in fake_slack.calls_to("users.info")] == ["U0BOB"]


@pytest.fixture
def admins_deps(database_url: str, fake_slack: FakeSlack) -> Iterator[Deps]:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        bridgebot_admins="U0CAROL, U0DAN",
    )
    built = build_deps(settings)
    try:
        yield built
    finally:
        built.engine.dispose()


@pytest.fixture
def admins_http(admins_deps: Deps) -> Iterator[TestClient]:
    with TestClient(create_web_app(admins_deps)) as client:
        yield client


def test_bridgebot_admins_are_admins_without_being_slack_admins(
    admins_http: TestClient, fake_slack: FakeSlack, admins_deps: Deps
) -> None:
    fake_slack.add_user("U0CAROL")  # an ordinary member as far as Slack knows
    fake_slack.add_user("U0BOB")
    post_command(admins_http, fake_slack, "/bridge", "channel <#C0BOB>", user_id="U0BOB")
    assert "Only workspace admins" in fake_slack.wait_for("response_url")[0].params["text"]
    assert shared_channel(admins_deps) is None

    status = post_command(
        admins_http, fake_slack, "/bridge", "channel <#C0SHARED|marketing-it>", user_id="U0CAROL"
    )
    assert status == 200
    reply = fake_slack.wait_for("response_url", count=2)[1].params
    assert "<#C0SHARED>" in json.dumps(reply["blocks"])
    assert shared_channel(admins_deps) == "C0SHARED"


def test_typed_mentions_are_escaped_in_replies(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    assert post_command(slack_http, fake_slack, "/bridge", "side <!channel> <@U0BOB>") == 200

    reply = fake_slack.wait_for("response_url")[0].params
    blocks = json.dumps(reply["blocks"], ensure_ascii=False)
    for rendered in (reply["text"], blocks):
        assert "&lt;!channel&gt;" in rendered
        assert "&lt;@U0BOB&gt;" in rendered
        assert "<!channel>" not in rendered
        assert "<@U0BOB>" not in rendered
    assert "Usage" in reply["text"]
    assert count_rows(slack_deps, Person) == 0


# -- scheduled posts through Slack failures ----------------------------------------------


def schedule_post(deps: Deps, text: str, due_at: datetime) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        occurrences.schedule(
            session=session,
            workspace_id=TEAM_ID,
            kind="post",
            subject_ref="test",
            due_at=due_at,
            payload={"conversation_ref": "C0SHARED", "text": text},
        )


def occurrence_state(deps: Deps) -> tuple[str, int]:
    with deps.session_factory() as session:
        row = session.execute(select(Occurrence).where(Occurrence.kind == "post")).scalar_one()
        return row.status, row.attempts


def tick_until_sent(client: TestClient, deps: Deps, timeout: float = 15.0) -> None:
    """Run a tick in the app's event loop (where its Slack notifier lives) until delivered.

    The app's own scheduler may claim the occurrence first; either way it is sent once.
    """
    assert client.portal is not None
    client.portal.call(run_tick, app_scheduler(client))
    deadline = time.monotonic() + timeout
    while occurrence_state(deps)[0] != OccurrenceStatus.SENT:
        assert time.monotonic() < deadline, f"not sent: {occurrence_state(deps)}"
        time.sleep(0.05)


def posts_to_shared_channel(fake: FakeSlack) -> list[Call]:
    return [
        call for call in fake.calls_to("chat.postMessage") if call.params["channel"] == "C0SHARED"
    ]


def metric(client: TestClient, name: str, **labels: str) -> float:
    """The current value of one Prometheus sample (0 if it has not been recorded yet)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_rate_limited_post_waits_for_retry_after_and_is_sent_once(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    retries_before = metric(slack_http, "bridgebot_slack_api_retries_total", reason="rate_limited")
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    schedule_post(slack_deps, "hello", slack_deps.clock())

    tick_until_sent(slack_http, slack_deps)

    calls = posts_to_shared_channel(fake_slack)
    assert len(calls) == 2
    assert calls[1].at - calls[0].at >= 0.95  # Retry-After: 1 was honoured
    assert calls[1].params["text"] == "hello"
    # Delivered by the client's retry, not by a second delivery attempt of the tick.
    assert occurrence_state(slack_deps) == (OccurrenceStatus.SENT, 1)
    wait_until_idle(slack_http)
    assert len(posts_to_shared_channel(fake_slack)) == 2
    retries_after = metric(slack_http, "bridgebot_slack_api_retries_total", reason="rate_limited")
    assert retries_after >= retries_before + 1


def test_server_error_post_is_retried_and_sent_once(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.fail_next("chat.postMessage", status=500, error="internal_error")
    schedule_post(slack_deps, "after a 500", slack_deps.clock())

    tick_until_sent(slack_http, slack_deps)

    calls = posts_to_shared_channel(fake_slack)
    assert len(calls) == 2
    assert calls[1].params["text"] == "after a 500"
    assert occurrence_state(slack_deps) == (OccurrenceStatus.SENT, 1)


# -- operations endpoints -------------------------------------------------------------


def test_metrics_count_slash_commands(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    labels = {"platform": "slack", "kind": "command", "outcome": "ok"}
    before = metric(slack_http, "bridgebot_requests_total", **labels)
    fake_slack.add_user("U0ALICE")
    assert post_command(slack_http, fake_slack, "/bridge", "help") == 200
    fake_slack.wait_for("response_url")

    response = slack_http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert metric(slack_http, "bridgebot_requests_total", **labels) == before + 1


def test_healthz_reports_database_and_scheduler(slack_http: TestClient) -> None:
    response = slack_http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["scheduler"] == "running"


def test_shutdown_lets_a_delivery_in_progress_finish(
    slack_deps: Deps, fake_slack: FakeSlack
) -> None:
    """Stopping the server mid-delivery (waiting out a 429) neither loses nor repeats it."""
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    schedule_post(slack_deps, "in flight", slack_deps.clock())

    with TestClient(create_web_app(slack_deps)):
        fake_slack.wait_for("chat.postMessage")  # the start-up tick is now waiting to retry

    calls = posts_to_shared_channel(fake_slack)
    assert len(calls) == 2
    assert calls[1].params["text"] == "in flight"
    assert occurrence_state(slack_deps) == (OccurrenceStatus.SENT, 1)
