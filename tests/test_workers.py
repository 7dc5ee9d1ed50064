"""`bridgebot run` with several worker processes: how many, and that they act as one server.

Two real workers on one port and one PostgreSQL: every due scheduled message is sent
exactly once whichever worker claims it, and GET /metrics counts every worker's requests
whichever worker answers the scrape.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.deps import build_deps
from bot.models import Occurrence, OccurrenceStatus
from bot.settings import MAX_WORKERS, Settings, describe_validation_error, usable_cores
from handlers.cli import metrics_shared_by_workers
from tests.conftest import PG_URL
from tests.fake_slack import FakeSlack
from tests.processes import bridgebot_command, clean_env, free_port, stop
from tests.signing import SIGNING_SECRET, slack_headers, slash_command_body
from tests.test_chaos import prepare, unfinished

PG = "postgresql://bridgebot@db.internal/bridgebot"
STARTUP_DEADLINE = 90.0  # two workers starting on a busy shared machine


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, **values)  # type: ignore[arg-type]
    return describe_validation_error(caught.value)


def test_postgresql_serves_with_one_worker_per_core_unless_told() -> None:
    assert Settings(_env_file=None, database_url=PG).workers == min(usable_cores(), MAX_WORKERS)
    assert Settings(_env_file=None, database_url=PG, bridgebot_workers=3).workers == 3


def test_sqlite_serves_with_one_worker_and_refuses_more() -> None:
    assert Settings(_env_file=None).workers == 1
    assert Settings(_env_file=None, bridgebot_workers=1).workers == 1
    assert refusal(bridgebot_workers=2) == (
        "BRIDGEBOT_WORKERS: is 2, but SQLite serves with one worker; "
        "use PostgreSQL in DATABASE_URL for more"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "BRIDGEBOT_WORKERS: Input should be greater than or equal to 1 (got 0)"),
        (65, "BRIDGEBOT_WORKERS: Input should be less than or equal to 64 (got 65)"),
        ("many", "BRIDGEBOT_WORKERS: Input should be a valid integer"),
    ],
)
def test_a_bad_worker_count_is_refused_with_one_line(value: object, message: str) -> None:
    assert refusal(database_url=PG, bridgebot_workers=value).startswith(message)


def test_a_bad_worker_count_stops_start_up(tmp_path: Path) -> None:
    result = subprocess.run(
        [*bridgebot_command(), "run"],
        cwd=tmp_path,
        env=clean_env(
            DATABASE_URL=f"sqlite:///{tmp_path}/bridgebot.db",
            SLACK_BOT_TOKEN="xoxb-test-token",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            BRIDGEBOT_WORKERS="4",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bridgebot: bad setting: BRIDGEBOT_WORKERS: is 4, but SQLite serves with one "
        "worker; use PostgreSQL in DATABASE_URL for more"
    )


def test_the_workers_metrics_folder_is_fresh_and_removed_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/somewhere/else")
    with metrics_shared_by_workers() as folder:
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
        assert folder.is_dir() and not any(folder.iterdir())
        (folder / "counter_123.db").write_bytes(b"a worker's counts")
    assert not folder.exists()
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == "/somewhere/else"


def start_workers(url: str, fake: FakeSlack, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = clean_env(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN="xoxb-workers",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        BRIDGEBOT_HOST="127.0.0.1",
        BRIDGEBOT_PORT=str(port),
        BRIDGEBOT_WORKERS="2",
        LOG_LEVEL="INFO",
    )
    log = (workdir / "bridgebot.log").open("ab")
    return subprocess.Popen(
        [*bridgebot_command(), "run"], cwd=workdir, env=env, stdout=log, stderr=log
    )


def wait_for_both_workers(base_url: str, process: subprocess.Popen[bytes]) -> set[str]:
    """Ask /healthz until two different workers (instance ids) have answered."""
    seen: set[str] = set()
    deadline = time.monotonic() + STARTUP_DEADLINE
    while len(seen) < 2:
        assert process.poll() is None, f"bridgebot exited early with {process.returncode}"
        assert time.monotonic() < deadline, f"only {len(seen)} worker(s) answered in time"
        try:
            response = httpx.get(f"{base_url}/healthz", timeout=2.0)
            if response.status_code == 200:
                seen.add(response.json()["instance"])
                continue
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return seen


pg_only = pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")


@pytest.mark.slow  # a real bridgebot with two worker processes
@pg_only
def test_two_workers_send_each_due_message_once(
    pg_database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    deps = build_deps(Settings(_env_file=None, database_url=pg_database_url))
    expected = prepare(deps, datetime.now(UTC))
    fake_slack.latency = 0.02  # deliveries overlap, so both workers' claims are in flight
    port = free_port()
    process = start_workers(pg_database_url, fake_slack, tmp_path, port)
    try:
        wait_for_both_workers(f"http://127.0.0.1:{port}", process)
        deadline = time.monotonic() + 90
        while unfinished(deps) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert unfinished(deps) == 0, "some deliveries never finished"
        time.sleep(1)  # a duplicate would be a post after its row was marked sent
    finally:
        stop(process, timeout=20)
    posts = fake_slack.calls_to("chat.postMessage")
    delivered = Counter((call.params["channel"], call.params["text"]) for call in posts)
    with deps.session_factory() as session:
        rows = session.execute(
            select(Occurrence.status, Occurrence.claimed_by, func.count()).group_by(
                Occurrence.status, Occurrence.claimed_by
            )
        ).all()
    deps.engine.dispose()
    senders = {claimed_by for status, claimed_by, _ in rows if status == OccurrenceStatus.SENT}
    statuses: Counter[str] = Counter()
    for status, _, count in rows:
        statuses[status] += count
    # Both workers tick against the same rows; which claims what is theirs to race for
    # (usually both deliver some, and the first awake may take every row due).
    print(f"\ntwo workers: {len(posts)} posts of {expected}, delivered by {len(senders)} worker(s)")
    assert len(delivered) == expected, "a message was lost"
    assert len(posts) == expected, "a message was sent twice"
    assert statuses[OccurrenceStatus.FAILED.value] == statuses[OccurrenceStatus.MISSED.value] == 0


def command_count(metrics: str) -> float:
    found = re.search(
        r'^bridgebot_requests_total\{kind="command",outcome="ok",platform="slack"\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    return float(found.group(1)) if found else 0.0


@pytest.mark.slow  # a real bridgebot with two worker processes
@pg_only
def test_metrics_count_every_workers_requests(
    pg_database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.add_user("U0ALICE")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = start_workers(pg_database_url, fake_slack, tmp_path, port)
    commands = 12
    try:
        wait_for_both_workers(base_url, process)
        # New connections, so the kernel hands them to either worker.
        for _ in range(commands):
            body = slash_command_body("/bridge", "help", response_url=fake_slack.response_url())
            response = httpx.post(
                f"{base_url}/slack/events", content=body, headers=slack_headers(body), timeout=10
            )
            assert response.status_code == 200
        fake_slack.wait_for("response_url", count=commands, timeout=30)
        scrapes = []
        for _ in range(8):
            scrapes.append(command_count(httpx.get(f"{base_url}/metrics", timeout=5).text))
    finally:
        stop(process, timeout=20)
    log = (tmp_path / "bridgebot.log").read_text(errors="replace")
    assert "serving with 2 worker processes on one port" in log
    assert "Traceback" not in log, log
    # Whichever worker answered a scrape, it counted every worker's commands.
    assert scrapes == [float(commands)] * len(scrapes)
