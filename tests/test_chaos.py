"""Two real `bridgebot run` processes on one PostgreSQL; one is SIGKILLed mid fan-out.

Every scheduled message must still arrive, and a message may arrive twice only if its
delivery needed a second attempt (the crash window the specification allows). The
numbers are printed so a run shows how many duplicates the kill caused.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.commands.pulse import open_and_plan
from bot.deps import Deps, build_deps
from bot.models import Occurrence, OccurrenceStatus, Side, Standup
from bot.services import occurrences, people, standups, workspaces
from bot.settings import Settings
from tests.conftest import PG_URL
from tests.fake_slack import FakeSlack
from tests.processes import bridgebot_command, clean_env, free_port, stop
from tests.signing import SIGNING_SECRET
from tests.test_run_subprocess import wait_until_healthy

TEAM = "T0BRIDGE"
PEOPLE = 30
STANDUPS = 12
LEASE_SECONDS = 3
pytestmark = [
    pytest.mark.slow,  # real instances, one killed, and a lease to wait out
    pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)"),
]


def prepare(deps: Deps, now: datetime) -> int:
    """People on both sides, stand-ups whose reminders are due now, and a pulse opened now.

    Returns how many messages must arrive.
    """
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM, platform="slack", timezone="UTC"
        )
        for n in range(PEOPLE):
            side = Side.MARKETING if n % 2 else Side.IT
            people.set_side(session=session, workspace_id=TEAM, user_ref=f"U{n:04d}", side=side)
        for n in range(STANDUPS):
            view = standups.create(
                session=session,
                workspace_id=TEAM,
                secret_key="k",
                creator_ref="U0000",
                now=now,
                draft=standups.StandupDraft(
                    name=f"Stand-up {n}",
                    channel_ref=f"C{n:04d}",
                    weekdays="daily",
                    local_time="09:00",
                    timezone="UTC",
                    both_sides=True,
                ),
            )
            payload = {
                "standup_id": view.id,
                "local_date": now.date().isoformat(),
                "start": now.isoformat(),
            }
            for kind in (standups.REMINDER_POST, standups.REMINDER_FANOUT):
                occurrences.schedule(
                    session=session,
                    workspace_id=TEAM,
                    kind=kind,
                    subject_ref=f"standup:{view.id}",
                    due_at=now,
                    payload=payload,
                )
            # Keep the planner from planning other days during the test.
            session.execute(
                update(Standup)
                .where(Standup.id == view.id)
                .values(planned_until=now + timedelta(days=2))
            )
        open_and_plan(session, TEAM, slot=now, now=now, hours=48)
    return STANDUPS * (1 + PEOPLE) + PEOPLE


def start_instance(url: str, fake: FakeSlack, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`bridgebot run` on `url`: the process, and its base URL to wait on for /healthz."""
    port = free_port()
    env = clean_env(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN="xoxb-chaos",
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
    return process, f"http://127.0.0.1:{port}"


def unfinished(deps: Deps) -> int:
    with deps.session_factory() as session:
        return session.execute(
            select(func.count())
            .select_from(Occurrence)
            .where(
                Occurrence.status.in_(
                    [OccurrenceStatus.PENDING.value, OccurrenceStatus.CLAIMED.value]
                ),
                Occurrence.due_at <= datetime.now(UTC),
            )
        ).scalar_one()


def test_killing_an_instance_mid_fan_out_loses_nothing(
    pg_database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, database_url=pg_database_url)
    deps = build_deps(settings)
    rng = random.Random(7)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        expected = prepare(deps, datetime.now(UTC))
        fake_slack.latency = 0.02
        (first, first_url), (second, second_url) = (
            start_instance(pg_database_url, fake_slack, tmp_path),
            start_instance(pg_database_url, fake_slack, tmp_path),
        )
        processes += [first, second]
        # Starting takes seconds on a loaded machine: the waits below begin once both serve.
        wait_until_healthy(first_url, first)
        wait_until_healthy(second_url, second)
        # Kill one instance at a random moment while messages are going out.
        fake_slack.wait_for("chat.postMessage", count=rng.randint(20, 120), timeout=30)
        first.kill()
        first.wait(timeout=10)
        # Its claims expire after the lease; a restarted instance takes them over.
        time.sleep(LEASE_SECONDS + 0.5)
        restarted, restarted_url = start_instance(pg_database_url, fake_slack, tmp_path)
        processes.append(restarted)
        wait_until_healthy(restarted_url, restarted)
        deadline = time.monotonic() + 60
        while unfinished(deps) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert unfinished(deps) == 0, "some deliveries never finished"
    finally:
        for process in processes:
            stop(process)

    posts = fake_slack.calls_to("chat.postMessage")
    delivered = Counter((call.params["channel"], call.params["text"]) for call in posts)
    with deps.session_factory() as session:
        retried = session.execute(
            select(func.count()).select_from(Occurrence).where(Occurrence.attempts > 1)
        ).scalar_one()
        statuses = Counter(session.execute(select(Occurrence.status)).scalars())
    deps.engine.dispose()
    duplicates = sum(count - 1 for count in delivered.values())
    print(
        f"\nchaos: {len(delivered)} distinct messages of {expected} expected, "
        f"{duplicates} duplicates, {retried} deliveries needed a second attempt, statuses {dict(statuses)}"
    )
    assert len(delivered) == expected, "a message was lost"
    assert statuses.get(OccurrenceStatus.FAILED.value, 0) == 0
    # A duplicate can only come from a delivery that was attempted again after the kill.
    assert duplicates <= retried
