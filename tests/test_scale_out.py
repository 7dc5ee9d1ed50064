"""Two `bridgebot run` instances on one PostgreSQL, as behind a load balancer.

Each is a process of its own on its own port (127.0.0.1), sharing nothing but the
database: every due scheduled message is sent once whichever instance claims it, and a
glossary change made through one instance is in the other's lookups as soon as that
instance hears of it (a notice over its listening connection: milliseconds).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.deps import build_deps
from bot.models import Occurrence, OccurrenceStatus
from bot.settings import Settings
from tests.conftest import PG_URL
from tests.fake_slack import FakeSlack
from tests.processes import bridgebot_command, clean_env, free_port, stop
from tests.signing import (
    SIGNING_SECRET,
    modal_submission_body,
    slack_headers,
    slash_command_body,
)
from tests.test_chaos import TEAM, prepare, unfinished

STARTUP_DEADLINE = 90.0  # two instances starting on a busy shared machine
DELIVERY_DEADLINE = 90.0
HEARING_DEADLINE = 5.0  # for a change notice to reach the other instance on a busy machine
ALICE = "U0ALICE"

pytestmark = [
    pytest.mark.slow,  # two real bridgebot processes
    pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)"),
]


class Instance:
    """One `bridgebot run` (one worker process) on a port of its own."""

    def __init__(self, name: str, url: str, fake: FakeSlack, workdir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        env = clean_env(
            DATABASE_URL=url,
            SLACK_BOT_TOKEN="xoxb-scale-out",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.api_url,
            BRIDGEBOT_HOST="127.0.0.1",
            BRIDGEBOT_PORT=str(self.port),
            BRIDGEBOT_WORKERS="1",
            LOG_LEVEL="INFO",
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*bridgebot_command(), "run"], cwd=workdir, env=env, stdout=log, stderr=log
            )
        self.fake = fake
        self.id = ""

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            assert self.process.poll() is None, f"exited early: {self.log()}"
            try:
                response = httpx.get(f"{self.base_url}/healthz", timeout=2.0)
                if response.status_code == 200:
                    self.id = response.json()["instance"]
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "an instance did not become healthy in time"
            time.sleep(0.1)

    def post(self, body: str) -> httpx.Response:
        response = httpx.post(
            f"{self.base_url}/slack/events", content=body, headers=slack_headers(body), timeout=10
        )
        assert response.status_code == 200, response.text
        return response

    def jargon(self, text: str) -> str:
        """`/jargon TEXT` through this instance; the reply's text and blocks, as JSON."""
        before = len(self.fake.calls_to("response_url"))
        response = self.post(
            slash_command_body(
                "/jargon", text, response_url=self.fake.response_url(), user_id=ALICE
            )
        )
        if response.content and response.json().get("blocks"):
            return json.dumps(response.json(), ensure_ascii=False)
        reply = self.fake.wait_for("response_url", before + 1, timeout=20)[before].params
        return json.dumps(reply, ensure_ascii=False)

    def jargon_form(self, text: str) -> dict[str, Any]:
        """`/jargon add ...` or `edit ...` through this instance: the modal it opens."""
        before = len(self.fake.calls_to("views.open"))
        self.post(
            slash_command_body(
                "/jargon", text, response_url=self.fake.response_url(), user_id=ALICE
            )
        )
        view = self.fake.wait_for("views.open", before + 1, timeout=20)[before].params["view"]
        return json.loads(view) if isinstance(view, str) else dict(view)

    def submit(self, view: dict[str, Any], answers: dict[str, str | list[str]]) -> None:
        response = self.post(modal_submission_body(view, answers, user_id=ALICE, team_id=TEAM))
        assert not response.content, response.text  # an empty ack: the modal closed

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def answers_soon(instance: Instance, query: str, expected: str) -> bool:
    """Whether a lookup through `instance` answers with `expected` within HEARING_DEADLINE."""
    deadline = time.monotonic() + HEARING_DEADLINE
    while expected not in instance.jargon(query):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_two_instances_deliver_once_and_see_each_others_glossary_edits(
    pg_database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    deps = build_deps(Settings(_env_file=None, database_url=pg_database_url))
    expected = prepare(deps, datetime.now(UTC))  # stand-ups and a pulse, due now
    fake_slack.add_user(ALICE)
    fake_slack.latency = 0.02  # deliveries overlap, so both instances claim some
    first = Instance("first", pg_database_url, fake_slack, tmp_path)
    second = Instance("second", pg_database_url, fake_slack, tmp_path)
    try:
        first.wait_until_healthy()
        second.wait_until_healthy()
        assert first.id != second.id

        # The second instance has its index (built on this first lookup, or at start-up).
        assert "No term" in second.jargon("Zorblax")
        # A new term through the first instance: the second's next lookup finds it.
        view = first.jargon_form("add Zorblax")
        first.submit(view, {"definition": "A made-up word that only this test uses."})
        assert answers_soon(second, "Zorblax", "A made-up word that only this test uses.")
        # An alias added through the second: the first's lookups by it find the term.
        view = second.jargon_form("edit Zorblax")
        second.submit(view, {"aliases": "ZBX"})
        assert "A made-up word that only this test uses." in second.jargon("ZBX")
        assert answers_soon(first, "ZBX", "A made-up word that only this test uses.")

        deadline = time.monotonic() + DELIVERY_DEADLINE
        while unfinished(deps) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert unfinished(deps) == 0, "some deliveries never finished"
        time.sleep(1)  # a duplicate would be a post after its row was marked sent
    finally:
        stop(first.process, timeout=20)
        stop(second.process, timeout=20)

    posts = fake_slack.calls_to("chat.postMessage")
    delivered = Counter((call.params["channel"], call.params["text"]) for call in posts)
    with deps.session_factory() as session:
        rows = session.execute(
            select(Occurrence.status, Occurrence.claimed_by, func.count()).group_by(
                Occurrence.status, Occurrence.claimed_by
            )
        ).all()
    deps.engine.dispose()
    statuses: Counter[str] = Counter()
    for status, _, count in rows:
        statuses[status] += count
    assert len(delivered) == expected, "a message was lost"
    assert len(posts) == expected, "a message was sent twice"
    assert statuses[OccurrenceStatus.FAILED.value] == statuses[OccurrenceStatus.MISSED.value] == 0
    for instance in (first, second):
        assert "Traceback" not in instance.log(), instance.log()
    # Each instance built its index once; the other's changes were applied term by term.
    for instance in (first, second):
        assert instance.log().count(f"glossary index of {TEAM} built whole") == 1
        assert f"glossary index of {TEAM} brought to revision" in instance.log()
