"""Lookups answered from the signed request without Bolt's dispatch (lookups_in_ack):
the same answer as Bolt's path gives, and nothing else taken that way."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.deps import Deps
from bot.metrics import REQUESTS
from bot.models import Person
from bot.router import Caller, NeedsDatabase, RequestScope, run_command
from handlers.slack import lookups_in_ack
from handlers.slack.lookups_in_ack import LOOKUP_THREADS_AT_ONCE, LookupsInAck
from tests.bolt_requests import count_bolt_requests
from tests.fake_slack import FakeSlack
from tests.idle import wait_until_idle
from tests.signing import slack_headers, slash_command_body


def post(client: TestClient, fake: FakeSlack, command: str, text: str, **fields: Any) -> Any:
    body = slash_command_body(command, text, response_url=fake.response_url(), **fields)
    return client.post("/slack/events", content=body, headers=slack_headers(body))


def without_views(message: dict[str, Any]) -> str:
    return re.sub(r"\d+ views?", "N views", json.dumps(message, sort_keys=True))


def test_after_the_first_request_lookups_skip_bolt_with_the_same_answer(
    slack_http: TestClient, fake_slack: FakeSlack, monkeypatch: Any
) -> None:
    fake_slack.add_user("U0ALICE")
    through_bolt = count_bolt_requests(slack_http, monkeypatch)
    # The first request goes through Bolt, which confirms whose token it is (auth.test).
    first = post(slack_http, fake_slack, "/jargon", "CAC")
    assert through_bolt == [1]
    calls = len(fake_slack.calls)
    second = post(slack_http, fake_slack, "/jargon", "CAC")
    assert through_bolt == [1], "the second lookup was answered without Bolt"

    assert second.status_code == 200
    assert second.headers["content-type"] == "application/json"
    assert without_views(second.json()) == without_views(first.json())
    assert "2 views" in second.text
    assert len(fake_slack.calls) == calls  # no Web API call, no response_url post
    wait_until_idle(slack_http)


def test_what_a_lookup_cannot_answer_alone_goes_through_bolt(
    slack_http: TestClient, fake_slack: FakeSlack, monkeypatch: Any
) -> None:
    fake_slack.add_user("U0ALICE")
    post(slack_http, fake_slack, "/jargon", "CAC")
    through_bolt = count_bolt_requests(slack_http, monkeypatch)
    commands_before = REQUESTS.labels(platform="slack", kind="command", outcome="ok")._value.get()

    # Another workspace's lookup: refused by Bolt's own-workspace check, not answered.
    other = post(slack_http, fake_slack, "/jargon", "CAC", team_id="T0OTHER")
    assert "not installed in your workspace" in other.text
    # A command that changes something: stored, acknowledged empty, answered after.
    shared = post(slack_http, fake_slack, "/jargon", "share CAC")
    assert shared.text == ""
    assert "Shared by" in fake_slack.wait_for("response_url")[0].params["text"]
    # Slack's certificate check carries ssl_check: Bolt answers it with an empty 200.
    body = "ssl_check=1&token=x&command=%2Fjargon&text=CAC&team_id=T0BRIDGE&user_id=U0ALICE"
    checked = slack_http.post("/slack/events", content=body, headers=slack_headers(body))
    assert (checked.status_code, checked.text) == (200, "")
    wait_until_idle(slack_http)
    after = REQUESTS.labels(platform="slack", kind="command", outcome="ok")._value.get()
    assert after - commands_before == 3  # each still counted as a command
    assert through_bolt == [3]


def test_a_lookup_that_fails_is_reported_by_the_one_error_path(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps, monkeypatch: Any
) -> None:
    fake_slack.add_user("U0ALICE")
    post(slack_http, fake_slack, "/jargon", "CAC")

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the glossary index is corrupt")

    monkeypatch.setattr(slack_deps.router, "dispatch", broken)
    response = post(slack_http, fake_slack, "/jargon", "CAC")
    assert response.status_code == 200
    told = fake_slack.wait_for("response_url")[0].params["text"]
    assert "went wrong" in told.lower() or "error" in told.lower(), told
    wait_until_idle(slack_http)


def test_a_lookup_that_needs_the_database_counts_its_view_once(
    slack_http: TestClient, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0ALICE")
    post(slack_http, fake_slack, "/jargon", "CAC")
    # A card not read before: from memory it cannot be answered, so it is run again
    # with the database (on PostgreSQL, where lookups first try memory alone).
    assert "· 1 view" in post(slack_http, fake_slack, "/jargon", "Attribution").text
    assert "· 2 views" in post(slack_http, fake_slack, "/jargon", "Attribution").text
    assert "· 2 views" in post(slack_http, fake_slack, "/jargon", "CAC").text
    wait_until_idle(slack_http)


def test_a_memory_only_run_that_reaches_for_the_database_changes_nothing(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    fake_slack.add_user("U0ALICE")
    post(slack_http, fake_slack, "/jargon", "CAC")
    scope = RequestScope(
        session_factory=slack_deps.session_factory,
        router=slack_deps.router,
        caller=Caller(workspace_id="T0BRIDGE", user_ref="U0ALICE", platform="slack"),
        now=slack_deps.clock(),
        default_timezone="UTC",
        memory_only=True,
    )
    with pytest.raises(NeedsDatabase):
        run_command(scope, "bridge", "side it")
    with slack_deps.session_factory() as session:
        assert session.execute(select(func.count()).select_from(Person)).scalar_one() == 0
    wait_until_idle(slack_http)


def test_lookups_that_need_the_database_take_a_few_threads_and_show_their_queue(
    slack_http: TestClient, fake_slack: FakeSlack, monkeypatch: Any
) -> None:
    fake_slack.add_user("U0ALICE")
    post(slack_http, fake_slack, "/jargon", "CAC")  # through Bolt: the workspace is known
    lookups: LookupsInAck = slack_http.app.state.lookups  # type: ignore[attr-defined]
    lag = slack_http.app.state.background.lag  # type: ignore[attr-defined]
    running, most, queued = [0], [0], []
    guard = threading.Lock()
    real_run = lookups_in_ack.run_command

    def slow_lookup(scope: RequestScope, name: str, args: str) -> Any:
        if scope.memory_only:
            raise NeedsDatabase("a card not kept")
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        queued.append(lag.under_way)
        time.sleep(0.05)
        with guard:
            running[0] -= 1
        return real_run(scope, name, args)

    monkeypatch.setattr(lookups_in_ack, "run_command", slow_lookup)
    bodies = [
        slash_command_body("/jargon", "CAC", response_url=fake_slack.response_url()).encode()
        for _ in range(12)
    ]

    async def all_at_once() -> list[Any]:
        return await asyncio.gather(*(lookups.answer(body) for body in bodies))

    answers = asyncio.run(all_at_once())
    assert all(answer is not None and b"CAC" in answer.body for answer in answers)
    assert most[0] == LOOKUP_THREADS_AT_ONCE
    # Those waiting for a thread count as work under way: a queue the busy check sees.
    assert max(queued) > LOOKUP_THREADS_AT_ONCE
    assert lag.under_way == 0
    wait_until_idle(slack_http)
