"""Pulse benchmark: results over 1,000,000 stored answers, and 500 concurrent vote clicks.

    .venv/bin/python -m bench.pulse [--database-url postgresql://postgres@127.0.0.1:5432/test]

(1) Creates a temporary PostgreSQL database, bulk-loads a workspace whose weekly pulse has
    1,000,000 answers (plus last week's pulse and other workspaces as noise) with COPY,
    VACUUM ANALYZE, then times bot.services.pulse.results() (from the counts a closed pulse
    keeps), then again counted from the answers, and prints EXPLAIN ANALYZE of every
    query that runs on pulse_answers.
(2) Starts the real app (handlers.server.create_web_app) with uvicorn on 127.0.0.1, its Slack
    Web API pointed at a small fake Slack on 127.0.0.1, and fires concurrent signed
    block_actions clicks from different people: votes in the weekly pulse DM, then votes
    on a quick poll. Prints ack latency and throughput, then checks in the database that
    every vote was stored exactly once (and that the quick poll's last update shows them all).

Everything stays on loopback; the temporary database is dropped at the end. Prints figures,
asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import io
import json
import logging
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import httpx
import uvicorn
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, event, func, select, text, update
from sqlalchemy.engine import make_url

from bot.db import sync_url
from bot.deps import Deps, build_deps
from bot.models import PulseAnswer, PulsePoll, Side, WorkspaceSettings
from bot.services import people, pulse, workspaces
from bot.settings import Settings

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
WORKSPACE = "T0BENCH"
SIDES = (Side.MARKETING.value, Side.IT.value, Side.OTHER.value)
SIDE_WEIGHTS = (45, 40, 15)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


# -- a temporary database ----------------------------------------------------------------


@contextmanager
def temporary_database(server_url: str) -> Iterator[str]:
    name = f"bridgebot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- (1) aggregation over a million answers ------------------------------------------------


@dataclass
class LoadedPoll:
    workspace_id: str
    poll_id: int
    answers: int


def _hash(poll_id: int, voter: int) -> str:
    return hashlib.blake2b(f"{poll_id}:{voter}".encode(), digest_size=20).hexdigest()


def _copy_answers(engine: Engine, workspace_id: str, poll_id: int, answers: int, seed: int) -> None:
    """COPY `answers` rows: every voter answers the three questions (the last maybe fewer).

    Each voter also gets their pulse_respondents row, as their first vote would write it.
    """
    rng = random.Random(seed)
    stamp = "2026-03-02 10:00:00+00"
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        # A bulk load of rows known to be consistent: skip the per-row foreign key triggers.
        cursor.execute("SET session_replication_role = replica")
        columns = "workspace_id, poll_id, voter_hash, side, question, value, updated_at"
        voters = io.StringIO()
        with cursor.copy(f"COPY pulse_answers ({columns}) FROM STDIN") as copy:
            buffer = io.StringIO()
            written = 0
            voter = 0
            while written < answers:
                voter_hash = _hash(poll_id, voter)
                side = rng.choices(SIDES, SIDE_WEIGHTS)[0]
                voters.write(f"{poll_id}\t{voter_hash}\t{workspace_id}\t{side}\n")
                lean = {"marketing": 2, "it": 3, "other": 3}[side]
                for question in range(3):
                    if written == answers:
                        break
                    value = min(5, max(1, lean + rng.randint(-1, 2)))
                    buffer.write(
                        f"{workspace_id}\t{poll_id}\t{voter_hash}\t{side}\t{question}\t"
                        f"{value}\t{stamp}\n"
                    )
                    written += 1
                voter += 1
                if buffer.tell() > 4_000_000:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        columns = "poll_id, voter_hash, workspace_id, side"
        with cursor.copy(f"COPY pulse_respondents ({columns}) FROM STDIN") as copy:
            copy.write(voters.getvalue())
        cursor.execute("SET session_replication_role = DEFAULT")
        raw.commit()
    finally:
        raw.close()


BULK_TABLES = ("pulse_answers", "pulse_respondents")


@contextmanager
def indexes_dropped(engine: Engine, tables: tuple[str, ...] = BULK_TABLES) -> Iterator[None]:
    """Drop the tables' secondary indexes and unique constraints for a bulk load, then
    rebuild them from their own definitions (as read from the catalog)."""
    constraints: list[tuple[str, str, str]] = []
    indexes: list[tuple[str, str]] = []
    with engine.begin() as connection:
        for table in tables:
            for name, definition in connection.execute(
                text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = CAST(:table AS regclass) AND contype = 'u'"
                ),
                {"table": table},
            ):
                constraints.append((table, name, definition))
            for name, definition in connection.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :table "
                    "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                    "WHERE conrelid = CAST(:table AS regclass))"
                ),
                {"table": table},
            ):
                indexes.append((name, definition))
        for table, name, _ in constraints:
            connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for table, name, definition in constraints:
                connection.execute(
                    text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                )
            for _, definition in indexes:
                connection.execute(text(definition))


def _weekly_poll(deps: Deps, workspace_id: str, slot: datetime, invited: dict[str, int]) -> int:
    with deps.session_factory.begin() as session:
        poll, _ = pulse.open_weekly(
            session=session,
            workspace_id=workspace_id,
            slot=slot,
            now=slot,
            open_for=timedelta(hours=48),
        )
        session.execute(update(PulsePoll).where(PulsePoll.id == poll.id).values(invited=invited))
        pulse.close(
            session=session,
            workspace_id=workspace_id,
            poll_id=poll.id,
            now=slot + timedelta(hours=48),
        )
    return poll.id


def load(deps: Deps, answers: int, noise_workspaces: int, noise_answers: int) -> LoadedPoll:
    slot = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with deps.session_factory.begin() as session:
        for index in range(noise_workspaces + 1):
            workspace_id = WORKSPACE if index == 0 else f"T0NOISE{index:03d}"
            workspaces.ensure_workspace(
                session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
            )
        # Keep the app's scheduler quiet during the click benchmark.
        session.execute(update(WorkspaceSettings).values(pulse_enabled=False))
    voters = answers // 3 + 1
    invited = {
        side: voters * weight // 100 + 1 for side, weight in zip(SIDES, SIDE_WEIGHTS, strict=True)
    }
    started = time.perf_counter()
    with indexes_dropped(deps.engine):
        previous = _weekly_poll(deps, WORKSPACE, slot - timedelta(days=7), invited)
        _copy_answers(deps.engine, WORKSPACE, previous, noise_answers, seed=1)
        for index in range(1, noise_workspaces + 1):
            noise = _weekly_poll(deps, f"T0NOISE{index:03d}", slot, invited)
            _copy_answers(deps.engine, f"T0NOISE{index:03d}", noise, noise_answers, seed=index + 1)
        main = _weekly_poll(deps, WORKSPACE, slot, invited)
        _copy_answers(deps.engine, WORKSPACE, main, answers, seed=0)
        copied = time.perf_counter() - started
    # The answers came after the pulses closed: keep their counts as a close would have.
    with deps.session_factory.begin() as session:
        polls = session.execute(select(PulsePoll.id)).scalars().all()
        pulse.write_tallies(session, list(polls))
    loaded = time.perf_counter() - started
    with deps.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        vacuum_started = time.perf_counter()
        for table in (*BULK_TABLES, "pulse_polls"):
            connection.execute(text(f"VACUUM ANALYZE {table}"))
        vacuumed = time.perf_counter() - vacuum_started
        total = connection.execute(text("SELECT count(*) FROM pulse_answers")).scalar_one()
        size = connection.execute(
            text(
                "SELECT pg_size_pretty(pg_total_relation_size('pulse_answers') "
                "+ pg_total_relation_size('pulse_respondents'))"
            )
        ).scalar_one()
    print(
        f"loaded {total:,} answers ({answers:,} in the measured pulse, {noise_answers:,} in last "
        f"week's and in each of {noise_workspaces} other workspaces) in {loaded:.1f} s "
        f"(COPY {copied:.1f} s, then the indexes rebuilt); "
        f"VACUUM ANALYZE {vacuumed:.1f} s; tables + indexes {size}"
    )
    return LoadedPoll(WORKSPACE, main, answers)


@contextmanager
def captured_statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def bench_results(deps: Deps, loaded: LoadedPoll, runs: int) -> None:
    def one() -> pulse.PollResults:
        with deps.session_factory() as session:
            return pulse.results(
                session=session, workspace_id=loaded.workspace_id, poll_id=loaded.poll_id
            )

    found = one()  # warm the cache, as a running bot's would be
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        one()
        timings.append((time.perf_counter() - started) * 1000)
    first = found.questions[0]
    print(
        f"results() of a pulse with {loaded.answers:,} answers "
        f"({sum(found.respondents_by_side.values()):,} respondents), {runs} runs: "
        f"p50 {statistics.median(timings):.0f} ms, p99 {percentile(timings, 0.99):.0f} ms, "
        f"min {min(timings):.0f} ms (target: under 300 ms)"
    )
    print(
        f"  question 1: marketing {first.by_side['marketing'].agree_pct}% agree, "
        f"IT {first.by_side['it'].agree_pct}% agree, gap {first.gap} points; "
        f"change since last week (overall) {found.change(0, 'overall')} points"
    )

    # The same pulse counted from its million answers, as before closed pulses kept their
    # counts (and as a pulse is counted while it is open).
    with deps.session_factory.begin() as session:
        session.execute(update(PulsePoll).where(PulsePoll.id == loaded.poll_id).values(tally=None))
    one()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        one()
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"the same counted from its {loaded.answers:,} answers, {runs} runs: "
        f"p50 {statistics.median(timings):.0f} ms, p99 {percentile(timings, 0.99):.0f} ms, "
        f"min {min(timings):.0f} ms (target: under 300 ms)"
    )
    with captured_statements(deps.engine) as statements:
        one()
    with deps.engine.connect() as connection:
        for statement, parameters in statements:
            if "pulse_answers" not in statement and "pulse_respondents" not in statement:
                continue
            plan = connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters
            ).scalars()
            print("\n  " + " ".join(statement.split())[:160] + " ...")
            for line in plan:
                print(f"    {line}")


# -- (2) concurrent clicks through HTTP --------------------------------------------------


@dataclass
class FakeSlack:
    """The few Web API methods the app calls, answered at once; counts what it received."""

    port: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    last_update: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        method = "response_url" if path.startswith("/response/") else path.removeprefix("/api/")
        body = await request.read()
        params: dict[str, Any] = dict(request.query)
        if body and request.content_type == "application/json":
            params.update(json.loads(body))
        elif body:
            params.update(dict(await request.post()))
        with self.lock:
            self.calls[method] += 1
            self._ts += 1
            ts = f"1700000000.{self._ts:06d}"
            if method == "chat.update":
                self.last_update = params
        answer: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            answer |= {"team_id": WORKSPACE, "user_id": "U0BOT", "bot_id": "B0BOT", "user": "bot"}
        elif method == "users.info":
            user = params.get("user", "")
            answer |= {"user": {"id": user, "team_id": WORKSPACE, "name": user.lower()}}
        elif method.startswith("chat."):
            answer |= {"channel": params.get("channel"), "ts": ts}
        return web.json_response(answer)

    def count(self, method: str) -> int:
        with self.lock:
            return self.calls[method]


@contextmanager
def running_fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", fake.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        fake.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        runner_box.append(runner)
        started.set()

    thread = threading.Thread(target=loop.run_forever, name="fake-slack", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop)
    if not started.wait(10):
        raise RuntimeError("the fake Slack did not start")
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_healthy(base: str, alive: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if not alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start within 60 s")
        time.sleep(0.1)


@contextmanager
def running_app(settings: Settings, *, in_process: bool) -> Iterator[tuple[str, int]]:
    """The real app on 127.0.0.1: `bridgebot run` in its own process (its own interpreter,
    as in production), or create_web_app under uvicorn in a thread of this one."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if in_process:
        from handlers.server import create_web_app

        deps = build_deps(settings)
        config = uvicorn.Config(
            create_web_app(deps), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="bridgebot", daemon=True)
        thread.start()
        try:
            _wait_until_healthy(base, thread.is_alive)
            yield base, os.getpid()
        finally:
            server.should_exit = True
            thread.join(30)
        return
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env |= {
        "DATABASE_URL": settings.database_url,
        "SLACK_BOT_TOKEN": "xoxb-bench-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": settings.slack_api_url,
        "BRIDGEBOT_HOST": "127.0.0.1",
        "BRIDGEBOT_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryDirectory() as workdir, open(f"{workdir}/app.log", "w+b") as log:
        # Its own working directory: no developer .env is read.
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, cwd=workdir, stdout=log, stderr=log
        )
        try:
            _wait_until_healthy(base, lambda: process.poll() is None)
            yield base, process.pid
        except BaseException:
            log.seek(0)
            print(log.read().decode(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def signed(body: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(
        SIGNING_SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256
    ).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def click_body(user: str, action_id: str, value: str, channel: str, response_url: str) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": WORKSPACE, "domain": "bench"},
        "user": {"id": user, "username": user.lower(), "team_id": WORKSPACE},
        "api_app_id": "A0BENCH",
        "token": "unused",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.{uuid.uuid4().hex[:10]}",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": channel},
        "channel": {"id": channel, "name": "bench"},
        "message": {"type": "message", "ts": "1700000000.000001", "text": "", "blocks": []},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b0",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


@dataclass
class ClickReport:
    acks_ms: list[float]
    wall_s: float
    statuses: Counter[int]


async def fire(base: str, bodies: list[str], concurrency: int) -> ClickReport:
    """Send every click, `concurrency` at a time, signed beforehand.

    aiohttp, so the sender stays light: a heavier client (httpx was tried) shares this
    process with the fake Slack and became the bottleneck it was meant to measure.
    """
    limiter = asyncio.Semaphore(concurrency)
    acks: list[float] = []
    statuses: Counter[int] = Counter()
    requests = [(body, signed(body)) for body in bodies]
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:

        async def one(body: str, headers: dict[str, str]) -> None:
            async with limiter:
                started = time.perf_counter()
                async with client.post("/slack/events", data=body, headers=headers) as response:
                    await response.read()
                acks.append((time.perf_counter() - started) * 1000)
                statuses[response.status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(body, headers) for body, headers in requests))
        wall = time.perf_counter() - started
    return ClickReport(acks, wall, statuses)


def wait_for(condition: Any, timeout: float) -> float:
    started = time.perf_counter()
    deadline = started + timeout
    while not condition():
        if time.perf_counter() > deadline:
            break
        time.sleep(0.05)
    return time.perf_counter() - started


def print_clicks(
    label: str, report: ClickReport, settled_s: float, concurrency: int, cpu_s: float
) -> None:
    acks = report.acks_ms
    print(
        f"{label}: {len(acks)} clicks, concurrency {concurrency}: ack p50 "
        f"{statistics.median(acks):.0f} ms, p99 {percentile(acks, 0.99):.0f} ms, "
        f"max {max(acks):.0f} ms; {len(acks) / report.wall_s:.0f} clicks/s acked "
        f"({report.wall_s:.2f} s); all handled {settled_s:.2f} s after the last ack; "
        f"app CPU {1000 * cpu_s / len(acks):.1f} ms per click; "
        f"HTTP statuses {dict(report.statuses)}"
    )


def bench_clicks(url: str, clicks: int, concurrency: int, *, in_process: bool) -> None:
    with running_fake_slack() as fake:
        settings = Settings(
            _env_file=None,
            database_url=url,
            slack_bot_token=SecretStr("xoxb-bench-token"),
            slack_signing_secret=SecretStr(SIGNING_SECRET),
            slack_api_url=f"http://127.0.0.1:{fake.port}/api/",
            log_level="WARNING",
        )
        deps = build_deps(settings)
        users = [f"U0V{n:04d}" for n in range(clicks)]
        now = deps.clock()
        with deps.session_factory.begin() as session:
            for n, user in enumerate(users):
                side = Side(SIDES[n % 3])
                people.set_side(session=session, workspace_id=WORKSPACE, user_ref=user, side=side)
            weekly, _ = pulse.open_weekly(
                session=session,
                workspace_id=WORKSPACE,
                slot=now,
                now=now,
                open_for=timedelta(hours=48),
            )
        expected = Counter((n % 5) + 1 for n in range(clicks))
        response_url = f"http://127.0.0.1:{fake.port}/response/click"

        with running_app(settings, in_process=in_process) as (base, pid):
            bodies = [
                click_body(
                    user,
                    f"pulse_vote:{value - 1}",
                    f"{weekly.id}:0:{value}",
                    f"D{user}",
                    response_url,
                )
                for user, value in ((u, (n % 5) + 1) for n, u in enumerate(users))
            ]
            before, cpu_before = fake.count("response_url"), cpu_seconds(pid)
            report = asyncio.run(fire(base, bodies, concurrency))
            settled = wait_for(lambda: fake.count("response_url") - before >= clicks, 120)
            cpu = cpu_seconds(pid) - cpu_before
            print_clicks("weekly pulse votes (DM)", report, settled, concurrency, cpu)

            with deps.session_factory() as session:
                rows = session.execute(
                    select(
                        PulseAnswer.value,
                        func.count(),
                        func.count(func.distinct(PulseAnswer.voter_hash)),
                    )
                    .where(PulseAnswer.poll_id == weekly.id, PulseAnswer.question == 0)
                    .group_by(PulseAnswer.value)
                ).all()
            stored = Counter({value: count for value, count, _ in rows})
            distinct = sum(voters for _, _, voters in rows)
            verdict = "OK" if stored == expected and distinct == clicks else "MISMATCH"
            print(
                f"  stored answers: {sum(stored.values())} (expected {clicks}), distinct voters "
                f"{distinct}, per value {dict(sorted(stored.items()))} -> {verdict}"
            )

            # A quick poll: every vote also re-renders the channel message (chat.update).
            with deps.session_factory.begin() as session:
                quick = pulse.create_adhoc(
                    session=session,
                    workspace_id=WORKSPACE,
                    question="Which day for the joint demo?",
                    options=["Tuesday", "Wednesday", "Thursday", "Friday"],
                    author_ref=users[0],
                    channel_ref="C0BENCH",
                    now=now,
                )
                pulse.record_message(
                    session=session,
                    workspace_id=WORKSPACE,
                    poll_id=quick.id,
                    channel_ref="C0BENCH",
                    message_ref="1700000000.000001",
                )
            expected_quick = Counter(n % 4 for n in range(clicks))
            bodies = [
                click_body(
                    user, f"pulse_ask_vote:{n % 4}", f"{quick.id}:{n % 4}", "C0BENCH", response_url
                )
                for n, user in enumerate(users)
            ]
            before, cpu_before = fake.count("chat.update"), cpu_seconds(pid)
            report = asyncio.run(fire(base, bodies, concurrency))
            # Updates are coalesced (a burst costs a few): settled when the last one shows all.
            settled = wait_for(
                lambda: f"{clicks} votes" in str(fake.last_update.get("text", "")), 120
            )
            cpu = cpu_seconds(pid) - cpu_before
            print_clicks("quick poll votes (channel)", report, settled, concurrency, cpu)
            with deps.session_factory() as session:
                counts = pulse.option_counts(
                    session=session, workspace_id=WORKSPACE, poll_id=quick.id
                )
            shown = str(fake.last_update.get("text", ""))
            total_shown = f"{clicks} votes" in shown
            verdict = (
                "OK"
                if counts == [expected_quick[n] for n in range(4)] and total_shown
                else "MISMATCH"
            )
            print(
                f"  stored votes per option {counts} (expected "
                f"{[expected_quick[n] for n in range(4)]}); "
                f"{fake.count('chat.update') - before} chat.update calls; "
                f"the last one shows '{clicks} votes': {total_shown} -> {verdict}"
            )
        deps.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pulse", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL server URL")
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--noise-workspaces", type=int, default=10)
    parser.add_argument("--noise-answers", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--clicks", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--skip-results", action="store_true", help="only the HTTP part")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the app under uvicorn in a thread of this process (default: its own process)",
    )
    args = parser.parse_args(argv)
    if make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url must be a postgresql:// URL")
    logging.basicConfig(level=logging.WARNING)

    with temporary_database(args.database_url) as url:
        deps = build_deps(Settings(_env_file=None, database_url=url))
        load_1m = os.getloadavg()[0]
        print(
            f"temporary database {make_url(url).database} on {make_url(url).host}; "
            f"{os.cpu_count()} CPUs, load average {load_1m:.1f} (other work skews the figures)"
        )
        if args.skip_results:
            with deps.session_factory.begin() as session:
                workspaces.ensure_workspace(
                    session=session, workspace_id=WORKSPACE, platform="slack", timezone="UTC"
                )
                session.execute(update(WorkspaceSettings).values(pulse_enabled=False))
        else:
            loaded = load(deps, args.answers, args.noise_workspaces, args.noise_answers)
            bench_results(deps, loaded, args.runs)
        deps.engine.dispose()
        print()
        bench_clicks(url, args.clicks, args.concurrency, in_process=args.in_process)


if __name__ == "__main__":
    main()
