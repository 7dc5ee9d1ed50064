"""A real `bridgebot run` SIGKILLed in the middle of a burst of /win commands, then restarted.

Every acknowledged command's win is stored and posted exactly once, or its author was told
by direct message that it failed; every win its author was told is on its way was stored,
and nothing else is posted. The figures are printed so a run shows where the kill fell
(commands confirmed, stored only, run again after the restart, or given up).
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.deps import Deps, build_deps
from bot.models import BoardPost, InboxCommand, Occurrence, OccurrenceStatus
from bot.router import Caller, RequestScope, run_command
from bot.services.outbox import CHANNEL_POST
from bot.settings import Settings
from handlers.slack.inbox_recovery import RERUN_KIND
from handlers.slack.slash_text import resolve_channel
from tests.conftest import PG_URL
from tests.fake_slack import FakeSlack
from tests.processes import bridgebot_command, clean_env, free_port, stop
from tests.signing import SIGNING_SECRET, slack_headers, slash_command_body
from tests.test_run_subprocess import wait_until_healthy

TEAM = "T0BRIDGE"
SHARED = "C0SHARED"
BURST = 30
KILL_AFTER = 15  # acknowledged commands before the SIGKILL
LEASE_SECONDS = 3
pytestmark = [
    pytest.mark.slow,  # real instances, one killed mid-burst
    pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)"),
]


@pytest.fixture
def fake(fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """The fake Slack, naming each response_url call by its path (which command it answers)."""
    plain = FakeSlack._method_name

    def named(path: str) -> str:
        return path.strip("/") if path.startswith("/response/") else plain(path)

    monkeypatch.setattr(FakeSlack, "_method_name", staticmethod(named))
    for n in range(BURST):
        fake_slack.add_user(author(n))
    fake_slack.latency = 0.1  # posts stay in flight long enough for the kill to catch some
    return fake_slack


def start(url: str, fake: FakeSlack, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = clean_env(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN="xoxb-crash",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        BRIDGEBOT_HOST="127.0.0.1",
        BRIDGEBOT_PORT=str(port),
        BRIDGEBOT_CLAIM_LEASE_SECONDS=str(LEASE_SECONDS),
        LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [*bridgebot_command(), "run"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_until_healthy(base_url, process)
    return process, base_url


def author(n: int) -> str:
    """One author per command: the per-person posting limit is not under test here."""
    return f"U{n:04d}"


def send_win(base_url: str, fake: FakeSlack, n: int) -> bool:
    """One signed /win; True if bridgebot acknowledged it."""
    body = slash_command_body(
        "/win",
        f"Win number {n:02d}",
        response_url=fake.response_url(f"win{n:02d}"),
        user_id=author(n),
    )
    try:
        response = httpx.post(
            f"{base_url}/slack/events", content=body, headers=slack_headers(body), timeout=5.0
        )
    except httpx.TransportError:
        return False
    return response.status_code == 200


def unfinished(deps: Deps) -> int:
    """Commands not yet run or given up, and wins not yet posted."""
    with deps.session_factory() as session:
        pending_commands = session.execute(
            select(func.count()).select_from(InboxCommand).where(InboxCommand.outcome.is_(None))
        ).scalar_one()
        return (
            pending_commands
            + session.execute(
                select(func.count())
                .select_from(Occurrence)
                .where(
                    Occurrence.kind == CHANNEL_POST,
                    Occurrence.status.in_(
                        [OccurrenceStatus.PENDING.value, OccurrenceStatus.CLAIMED.value]
                    ),
                )
            ).scalar_one()
        )


def test_a_kill_mid_burst_loses_no_stored_win_and_posts_none_twice(
    pg_database_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    deps = build_deps(Settings(_env_file=None, database_url=pg_database_url))
    admin = Caller(workspace_id=TEAM, user_ref="U0ADMIN", platform="slack", is_admin=True)
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=admin,
        now=datetime.now(UTC),
        default_timezone="UTC",
        resolve_channel=resolve_channel,
    )
    chosen = run_command(scope, "bridge", f"channel <#{SHARED}|shared>")
    assert not chosen.is_error
    processes: list[subprocess.Popen[bytes]] = []
    acknowledged: list[int] = []
    try:
        first, base_url = start(pg_database_url, fake, tmp_path)
        processes.append(first)
        for n in range(KILL_AFTER):
            if send_win(base_url, fake, n):
                acknowledged.append(n)
        first.kill()  # right after the last acknowledgement: work is still under way
        first.wait(timeout=10)
        posted_before_kill = len(fake.calls_to("chat.postMessage"))

        second, base_url = start(pg_database_url, fake, tmp_path)
        processes.append(second)
        for n in range(KILL_AFTER, BURST):
            if send_win(base_url, fake, n):
                acknowledged.append(n)
        # Commands the first instance acknowledged and never ran are run again once their
        # lease (LEASE_SECONDS) is out, at a tick: one a command wakes, or the next minute's.
        deadline = time.monotonic() + 90
        while unfinished(deps) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert unfinished(deps) == 0, "a command was never run or a queued win never delivered"
        # Stopping waits for the tick and the work under way: a second post, if there were
        # one, has been made when it exits.
        stop(second)
    finally:
        for process in processes:
            stop(process)

    with deps.session_factory() as session:
        stored = {post.text: post for post in session.execute(select(BoardPost)).scalars()}
        statuses = Counter(
            session.execute(
                select(Occurrence.status).where(Occurrence.kind == CHANNEL_POST)
            ).scalars()
        )
        run_again = session.execute(
            select(func.count()).where(Occurrence.kind == RERUN_KIND)
        ).scalar_one()
    deps.engine.dispose()
    posted = Counter(
        call.params["text"].split("\n")[1]  # the win, under "Win from" and above its number
        for call in fake.calls_to("chat.postMessage")
        if call.params["channel"] == SHARED
    )
    told_failed = [
        n
        for n in range(BURST)
        if any(
            call.params["channel"] == author(n) and "nothing was saved" in call.params["text"]
            for call in fake.calls_to("chat.postMessage")
        )
    ]
    confirmed = [
        n
        for n in range(BURST)
        if any(
            "on its way" in call.params["text"] for call in fake.calls_to(f"response/win{n:02d}")
        )
    ]
    print(
        f"\ncrash: {len(acknowledged)} acknowledged, {len(confirmed)} confirmed, "
        f"{posted_before_kill} posted before the kill, "
        f"{len(stored)} stored, {run_again} run again after the restart, "
        f"{len(told_failed)} told it failed, "
        f"{sum(posted.values())} posts for {len(posted)} wins, deliveries {dict(statuses)}"
    )
    assert len(acknowledged) >= BURST - 1  # the kill falls between requests, not during one
    for n in acknowledged:  # acknowledged: stored (so posted once, below), or told it failed
        assert (f"Win number {n:02d}" in stored) != (n in told_failed), n
    for n in confirmed:  # told "on its way": it was stored
        assert f"Win number {n:02d}" in stored, n
    for text, post in stored.items():  # stored: posted exactly once, and recorded
        assert posted[text] == 1, (text, posted[text], list(posted)[:3])
        assert post.message_ref is not None, text
    assert set(posted) == set(stored), "something was posted that was never stored"
    assert statuses == {OccurrenceStatus.SENT.value: len(stored)}
    # The second process handled its share from start to end.
    assert all(n in confirmed for n in acknowledged if n >= KILL_AFTER)
