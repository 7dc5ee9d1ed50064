"""Stand-up reminder fan-out against a rate-limited fake Slack, and the tick's own cost.

Run with `python -m bench.fanout` (`--standups 100` for a quick run). It prints figures
and asserts no timing. Part 1 takes about two minutes by default: what Slack's limits
allow for 1,200 messages.

Part 1, the fan-out. N meeting stand-ups (default 200), each in a channel of its own
(C0001...; `--channels K` has them share K channels instead, so that the per-channel
limit sets the pace) with 5 participants of their own (5·N distinct users), all with
their reminder due in the same minute T. A planning tick runs a minute before T; from
T, `run_tick` runs back to back (the real scheduler ticks once a minute; here the next
tick starts as soon as one ends, on a clock that runs from T in real time) until no
due delivery is left. Every reminder goes out through the real `SlackNotifier`
(slack_sdk's AsyncWebClient with bridgebot's retry handlers and pacer) to a fake Slack
Web API in a child process on 127.0.0.1 that, like Slack, answers after 100 ms
(`--slack-latency-ms`), accepts at most one chat.postMessage per second per channel
(HTTP 429 with Retry-After: 1 otherwise) and at most 600 a rolling minute across the
workspace (`--workspace-limit`; a 429 with Retry-After until the oldest leaves the
minute), and also answers about 1% of all calls with a 429 at random (fixed seed).
The bot's pacer keeps to the same workspace limit (`--workspace-limit 0` lifts both).

Measured: the time from T's first tick until the fake had accepted every expected
message (N channel posts and 5·N DMs), duplicates (a delivery key, channel and text,
accepted twice), losses (an expected message never accepted), 429s served and
retried, each tick's time, and the bot process's CPU time. It is compared with:

* the binding rate limit: the most messages one channel gets, times one second (1 s
  when every message has a channel of its own, N/K s with --channels K), or the
  workspace's: W messages a minute let W through at once and W more each minute
  after, so 6·N messages need (ceil(6·N / W) - 1) minutes; target: within 1.1x of
  the larger;
* the throughput bound: messages / (the notifier's MAX_IN_FLIGHT / median request
  latency of the bare floor's requests);
* the HTTP-only floor: the same messages posted through a `SlackNotifier` at the same
  concurrency to the same fake, with no scheduler and no database (and no workspace
  limit, in the fake or the pacer: the floors measure the machine, not the limit);
* the slack_sdk client floor: the same messages, rendered beforehand, through
  slack_sdk's AsyncWebClient.chat_postMessage alone (the bot's retry handlers, no
  pacing), MAX_IN_FLIGHT at once: what the client the notifier no longer uses for
  chat.postMessage costs;
* the bare-HTTP floor: the same JSON bodies, rendered beforehand, as bare aiohttp
  POSTs (no Slack client, pacing or retries), and the CPU time that the sender and
  the fake together spent on them, spread over the machine's CPUs: what any
  sender in Python on this machine needs at the very least. The bot's CPU time a
  message is compared with the bare sender's; target: at most 1.5x;
* the scheduler and database sending nothing: the same deliveries put back as they
  were at T and ticked again with a notifier that sends nothing (planning the DMs,
  claiming, reading the stand-ups, building the messages, recording them sent);
* the database bookkeeping alone: the same participants' delivery rows planned as a
  fan-out plans them, then every row claimed and recorded as sent, CLAIM_BATCH a
  transaction each, nothing else: what a durable exactly-once fan-out writes per
  message at the very least. Bare POST plus bookkeeping is the floor no
  sender that keeps its deliveries in a database goes under.

The CPU a message of each is printed side by side, as a multiple of the bare POST's.
Every figure is CPU time of this process (threads included), so the database's share
is counted on SQLite, which runs in the process, and only its client's on PostgreSQL.

The bot runs on the event loop `bridgebot run` gets from uvicorn (uvloop where it
is installed), and on the HTTP session it builds (which counts each call in
/metrics); so does the fake.

Part 2, the tick's own cost. 10,000 stand-ups (weekdays, a mix of meeting and async,
five time zones, start times spread over the day) are inserted in bulk. Ticks at
minute M plan them, each within a 100 ms planning budget plus one batch, one tick
straight after another as the scheduler runs them while new plans are left (the
longest tick is printed; before, one tick planned them all: 4.6 s on PostgreSQL); then 20
ticks at M+1...M+20 minutes, when nothing is due, are timed with a notifier that
sends nothing: p50 and p99 (target under 200 ms). Last, a day and an hour later
(everything before recorded as sent), every plan runs out within the day at once:
the ticks that re-plan them, batches at a time within a 100 ms planning budget, are
timed too (they are ticks, held to the same target).

Each part uses a new SQLite file in a temporary directory; with `--database-url
postgresql://user@host/db` each part creates a database of its own on that server and
drops it afterwards. Wall times depend on what else the machine runs: the load
average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import logging
import math
import multiprocessing
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from sqlalchemy import create_engine, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import make_url

from bot.commands.standup import reminder_message
from bot.db import sync_url
from bot.deps import Deps, build_deps
from bot.metrics import REDELIVERIES, SLACK_API_CALLS, SLACK_API_RETRIES
from bot.models import Occurrence, OccurrenceStatus, Standup
from bot.notify import DeliveryDeferred, Notifier
from bot.replies import Reply
from bot.services import occurrences, workspaces
from bot.services import standups as standup_service
from bot.services.recurrence import WEEKDAYS
from bot.settings import Settings
from handlers.slack.client import make_http_session, make_web_client
from handlers.slack.notifier import MAX_IN_FLIGHT, SlackNotifier
from handlers.slack.pacing import WORKSPACE_MESSAGES_PER_MINUTE, ConversationPacer
from handlers.slack.render import render_message
from schedules import Scheduler, jobs
from schedules import standups as standup_deliveries

WORKSPACE = "T0BENCH"
TOKEN = "xoxb-bench"
PARTICIPANTS_PER_STANDUP = 5
REMINDER_LEAD_MINUTES = 15
# The fake Slack: one message per second per channel, and a share of random 429s.
RATE_WINDOW_SECONDS = 1.0
INJECTED_429_RATE = 0.01
SEED = 20240611
# Hard limits: the fake stops by itself after this long or this many requests.
FAKE_MAX_SECONDS = 600.0
FAKE_MAX_REQUESTS = 200_000
# Part 1 stops ticking after this long (what is left is reported as lost, not hidden).
DELIVERY_TIMEBOX_SECONDS = 240.0
STEADY_TICKS = 20
# Targets: every message delivered within this multiple of the binding rate limit, and
# the bot's CPU a message within this multiple of the bare-HTTP floor's.
TARGET_OF_BOUND = 1.1
TARGET_OF_CPU_FLOOR = 1.5
FLOOR_RUNS = 3  # each floor's CPU is the median of this many runs
UNLIMITED = 10**9  # a pacer's workspace limit that never binds
UNFINISHED = (OccurrenceStatus.PENDING.value, OccurrenceStatus.CLAIMED.value)

Result = TypeVar("Result")
Run = TypeVar("Run")

try:  # `bridgebot run` gets uvloop from uvicorn wherever it is installed; so do we
    import uvloop

    LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvicorn falls back to asyncio the same way
    LOOP_FACTORY = None


def run_on_server_loop(main: Coroutine[Any, Any, Result]) -> Result:
    """Runs `main` on the kind of event loop the bot's server runs its scheduler on."""
    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        return runner.run(main)


Message = tuple[str, str, float, str]  # channel, delivery key, accepted at, text


# -- the fake Slack Web API: a child process, so it takes no CPU from the bot's GIL ------


@dataclass(frozen=True)
class FakeConfig:
    seed: int
    inject_rate: float  # share of calls answered 429 at random
    latency: float  # seconds before each answer
    workspace_limit: int | None = None  # chat.postMessage per rolling minute, if any


@dataclass
class FakeSlackState:
    """What the fake has served; only its event loop touches it."""

    config: FakeConfig
    rng: random.Random
    requests: int = 0
    injected_429: int = 0
    rate_limited_429: int = 0
    workspace_429: int = 0
    accepted: list[Message] = field(default_factory=list)
    last_post: dict[str, float] = field(default_factory=dict)
    posted_this_minute: deque[float] = field(default_factory=deque)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    cpu_at_reset: float = field(default_factory=time.process_time)

    def reset(self) -> None:
        self.requests = self.injected_429 = self.rate_limited_429 = self.workspace_429 = 0
        self.cpu_at_reset = time.process_time()
        self.accepted.clear()
        self.last_post.clear()
        self.posted_this_minute.clear()


def _json(body: dict[str, Any], status: int = 200, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response(body, status=status, headers=headers)


async def _request_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update((await request.post()).items())
    return params


def _post_message(state: FakeSlackState, params: dict[str, Any]) -> web.Response:
    channel = str(params.get("channel", ""))
    now = time.monotonic()
    if (limit := state.config.workspace_limit) is not None:
        recent = state.posted_this_minute
        while recent and recent[0] <= now - 60:
            recent.popleft()
        if len(recent) >= limit:
            state.workspace_429 += 1
            wait = math.ceil(recent[0] + 60 - now)
            return _json({"ok": False, "error": "ratelimited"}, status=429, retry_after=wait)
    last = state.last_post.get(channel)
    if last is not None and now - last < RATE_WINDOW_SECONDS:
        state.rate_limited_429 += 1
        return _json({"ok": False, "error": "ratelimited"}, status=429, retry_after=1)
    state.last_post[channel] = now
    state.posted_this_minute.append(now)
    message = str(params.get("text", ""))
    key = hashlib.sha1(f"{channel}\n{message}".encode()).hexdigest()[:16]
    state.accepted.append((channel, key, now, message))
    conversation = "D" + channel[1:] if channel.startswith("U") else channel
    return _json(
        {"ok": True, "channel": conversation, "ts": f"{int(time.time())}.{len(state.accepted):06d}"}
    )


def _fake_slack_app(state: FakeSlackState) -> web.Application:
    async def api(request: web.Request) -> web.Response:
        state.requests += 1
        if state.requests > FAKE_MAX_REQUESTS:
            return _json({"ok": False, "error": "bench_request_limit"}, status=503)
        params = await _request_params(request)
        if state.config.latency:
            await asyncio.sleep(state.config.latency)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _json({"ok": False, "error": "invalid_auth"})
        if state.rng.random() < state.config.inject_rate:
            state.injected_429 += 1
            return _json({"ok": False, "error": "ratelimited"}, status=429, retry_after=1)
        match request.match_info["method"]:
            case "auth.test":
                return _json(
                    {"ok": True, "team_id": WORKSPACE, "user_id": "U0BOT", "bot_id": "B0BOT"}
                )
            case "conversations.open":
                user = str(params.get("users", "")).split(",")[0]
                return _json({"ok": True, "channel": {"id": "D" + user[1:]}})
            case "chat.postMessage":
                return _post_message(state, params)
        return _json({"ok": True})

    async def stats(_request: web.Request) -> web.Response:
        return _json(
            {
                "requests": state.requests,
                "cpu_seconds": time.process_time() - state.cpu_at_reset,
                "injected_429": state.injected_429,
                "rate_limited_429": state.rate_limited_429,
                "workspace_429": state.workspace_429,
                "accepted": state.accepted,
            }
        )

    async def reset(_request: web.Request) -> web.Response:
        state.reset()
        return _json({"ok": True})

    async def workspace_limit(request: web.Request) -> web.Response:
        """Change (or lift, with null) the workspace-wide limit: the floors run without it."""
        limit = (await request.json()).get("limit")
        state.config = replace(state.config, workspace_limit=limit)
        return _json({"ok": True})

    async def stop(_request: web.Request) -> web.Response:
        state.stopped.set()
        return _json({"ok": True})

    app = web.Application(client_max_size=1 << 20)
    app.router.add_route("*", "/api/{method}", api)
    app.router.add_get("/_bench/stats", stats)
    app.router.add_post("/_bench/reset", reset)
    app.router.add_post("/_bench/workspace_limit", workspace_limit)
    app.router.add_post("/_bench/stop", stop)
    return app


async def _serve_fake_slack(conn: Connection, config: FakeConfig) -> None:
    state = FakeSlackState(config=config, rng=random.Random(config.seed))
    runner = web.AppRunner(_fake_slack_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    conn.send(runner.addresses[0][1])
    try:
        await asyncio.wait_for(state.stopped.wait(), FAKE_MAX_SECONDS)
    except TimeoutError:
        pass
    finally:
        await runner.cleanup()


def _fake_slack_process(conn: Connection, config: FakeConfig) -> None:
    run_on_server_loop(_serve_fake_slack(conn, config))


@contextmanager
def fake_slack(config: FakeConfig) -> Iterator[str]:
    """The fake Slack in a child process; yields its root URL, http://127.0.0.1:PORT/.

    The Web API is under `api/`; `_bench/` has the fake's own controls.
    """
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_fake_slack_process, args=(child, config), daemon=True)
    process.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the fake Slack did not start")
        yield f"http://127.0.0.1:{parent.recv()}/"
    finally:
        process.terminate()
        process.join(10)


async def _control(
    session: aiohttp.ClientSession, root: str, action: str, body: Any = None
) -> dict[str, Any]:
    method = session.get if action == "stats" else session.post
    async with method(f"{root}_bench/{action}", json=body) as response:
        return dict(await response.json())


# -- databases and helpers ------------------------------------------------------------------


@contextmanager
def database(server_url: str | None, label: str) -> Iterator[str]:
    """A new empty database: a SQLite file, or a database of its own on a PostgreSQL server."""
    if server_url is None:
        with tempfile.TemporaryDirectory(prefix="bench-fanout-") as directory:
            yield f"sqlite:///{directory}/{label}.db"
        return
    name = f"bridgebot_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class DeliveryClock:
    """Real time until the delivery starts; then the due minute plus the time since."""

    def __init__(self) -> None:
        self._from: tuple[datetime, float] | None = None

    def start_at(self, due: datetime) -> None:
        self._from = (due, time.monotonic())

    def __call__(self) -> datetime:
        if self._from is None:
            return datetime.now(UTC)
        due, started = self._from
        return due + timedelta(seconds=time.monotonic() - started)


def make_deps(database_url: str, api_url: str) -> Deps:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token=SecretStr(TOKEN),
        slack_signing_secret=SecretStr("x"),
        slack_api_url=api_url,
    )
    deps = build_deps(settings, clock=DeliveryClock())
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=WORKSPACE, platform="slack", timezone="UTC"
        )
    return deps


def make_scheduler(deps: Deps, notifier: Notifier) -> Scheduler:
    """Plain posts and stand-ups only, as the bot delivers them; not started."""
    scheduler = Scheduler(deps, notifier)
    jobs.register_builtin_deliveries(scheduler)
    standup_deliveries.register(scheduler)
    return scheduler


def count_unfinished(deps: Deps, now: datetime) -> int:
    """Deliveries still pending or claimed whose time has come."""
    with deps.session_factory() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(Occurrence)
                .where(Occurrence.status.in_(UNFINISHED), Occurrence.due_at <= now)
            ).scalar_one()
        )


def status_counts(deps: Deps) -> dict[str, int]:
    with deps.session_factory() as session:
        rows = session.execute(select(Occurrence.status, func.count()).group_by(Occurrence.status))
        return {status: int(count) for status, count in rows}


def unplanned(deps: Deps, now: datetime) -> int:
    """Stand-ups that a tick at `now` would still plan."""
    due = or_(
        Standup.planned_until.is_(None),
        Standup.planned_until < now + standup_service.PLANNING_HORIZON / 2,
    )
    with deps.session_factory() as session:
        return int(
            session.execute(select(func.count()).select_from(Standup).where(due)).scalar_one()
        )


def metric_total(counter: Any) -> float:
    return sum(
        sample.value
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} CPUs"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# -- part 1: the fan-out ----------------------------------------------------------------------


def calls_by_status() -> Counter[str]:
    """chat.postMessage requests so far by HTTP status, as /metrics counts them."""
    counts: Counter[str] = Counter()
    for metric in SLACK_API_CALLS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels["method"] == "chat.postMessage":
                counts[sample.labels["status"]] += int(sample.value)
    return counts


def channel_ref(index: int, channels: int) -> str:
    """Stand-up `index`'s channel: its own, or one of `channels` shared round-robin."""
    return f"C{(index - 1) % channels + 1:04d}"


def user_ref(index: int) -> str:
    return f"U{index:05d}"


def standup_name(index: int) -> str:
    return f"Bench stand-up {index:04d}"


def participants_of(index: int) -> list[str]:
    first = (index - 1) * PARTICIPANTS_PER_STANDUP + 1
    return [user_ref(first + j) for j in range(PARTICIPANTS_PER_STANDUP)]


Expected = list[tuple[str, str]]  # (conversation, stand-up name): each exactly once


def expected_messages(count: int, channels: int) -> Expected:
    """The messages that must arrive once each: where, and the stand-up each names."""
    expected = []
    for i in range(1, count + 1):
        expected.append((channel_ref(i, channels), standup_name(i)))
        expected += [(user, standup_name(i)) for user in participants_of(i)]
    return expected


def create_meeting_standups(
    deps: Deps, count: int, channels: int, start: datetime, now: datetime
) -> None:
    """`count` meeting stand-ups through the service, in `channels` channels."""
    with deps.session_factory.begin() as session:
        for i in range(1, count + 1):
            people = participants_of(i)
            draft = standup_service.StandupDraft(
                name=standup_name(i),
                channel_ref=channel_ref(i, channels),
                weekdays=WEEKDAYS[start.weekday()],
                local_time=f"{start:%H:%M}",
                timezone="UTC",
                mode="meeting",
                call_link="https://meet.example/bench",
                participants=",".join(people),
                reminder_lead_minutes=str(REMINDER_LEAD_MINUTES),
            )
            standup_service.create(
                session=session,
                workspace_id=WORKSPACE,
                draft=draft,
                creator_ref=people[0],
                now=now,
                secret_key=deps.secret_key,
            )


def same_messages(deps: Deps, start: datetime) -> list[tuple[str, Reply]]:
    """The replies the tick sends: each channel's reminder and each participant's DM."""
    with deps.session_factory() as session:
        views = standup_service.list_standups(session=session, workspace_id=WORKSPACE)
    messages = []
    for view in views:
        messages.append((view.channel_ref, reminder_message(view, start, direct=False)))
        direct = reminder_message(view, start, direct=True)
        messages += [(person, direct) for person in view.participants]
    return messages


@dataclass
class TickTiming:
    at: float  # seconds after the first delivery tick started
    seconds: float
    report: jobs.TickReport


@dataclass
class Delivery:
    """What a delivery run left behind, read from the fake and the database."""

    started: float
    finished: float
    cpu: float
    stats: dict[str, Any]
    ticks: list[TickTiming] = field(default_factory=list)
    collections: Counter[str] = field(default_factory=Counter)  # see GarbageCollections


class GarbageCollections:
    """The garbage collector's runs meanwhile, by generation, and the CPU they took."""

    def __init__(self, into: Counter[str]) -> None:
        self.into = into
        self._began = 0.0

    def __enter__(self) -> GarbageCollections:
        gc.callbacks.append(self._observe)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.thread_time()
            return
        self.into[f"gen{info['generation']}"] += 1
        # In microseconds: a young collection takes well under a millisecond.
        self.into["cpu_us"] += round((time.thread_time() - self._began) * 1_000_000)


async def deliver_with_ticks(scheduler: Scheduler, due: datetime) -> Delivery:
    """Tick from T, one tick after another, until nothing due is left (or the time box)."""
    deps = scheduler.deps
    started = time.monotonic()
    cpu = time.process_time()
    assert isinstance(deps.clock, DeliveryClock)
    deps.clock.start_at(due)
    run = Delivery(started=started, finished=0.0, cpu=0.0, stats={})
    with GarbageCollections(run.collections):
        while time.monotonic() - started < DELIVERY_TIMEBOX_SECONDS:
            began = time.monotonic()
            report = await jobs.run_tick(scheduler, now=deps.clock())
            run.ticks.append(TickTiming(began - started, time.monotonic() - began, report))
            if not await asyncio.to_thread(count_unfinished, deps, deps.clock()):
                break
            if report.claimed == 0:
                await asyncio.sleep(0.5)  # what is left waits for its retry time
    run.finished = time.monotonic() - started
    run.cpu = time.process_time() - cpu
    return run


async def deliver_without_scheduler(
    notifier: SlackNotifier, messages: list[tuple[str, Reply]], concurrency: int
) -> tuple[float, float]:
    """Post `messages` straight through the notifier; (wall seconds, CPU seconds)."""
    limiter = asyncio.Semaphore(concurrency)

    async def post(conversation_ref: str, reply: Reply) -> None:
        async with limiter:
            try:
                await notifier.post(WORKSPACE, conversation_ref, reply)
            except (SlackApiError, DeliveryDeferred):
                pass  # a busy shared channel: without a scheduler to retry, counted as lost

    started, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(post(ref, reply) for ref, reply in messages))
    return time.monotonic() - started, time.process_time() - cpu


async def deliver_with_client(
    settings: Settings,
    session: aiohttp.ClientSession,
    messages: list[tuple[str, Reply]],
    concurrency: int,
) -> tuple[float, float]:
    """The same messages, rendered beforehand, through slack_sdk's AsyncWebClient alone (its
    retry handlers as the bot configures them; no pacing, scheduler or database).
    (wall seconds, CPU seconds)"""
    client = make_web_client(settings, token=TOKEN, session=session, retry_rate_limits=False)
    rendered = [(ref, render_message(reply)) for ref, reply in messages]
    limiter = asyncio.Semaphore(concurrency)

    async def post(conversation_ref: str, message: dict[str, Any]) -> None:
        async with limiter:
            try:
                await client.chat_postMessage(channel=conversation_ref, **message)
            except SlackApiError:
                pass  # an injected 429: not retried here, counted as lost

    started, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(post(ref, message) for ref, message in rendered))
    return time.monotonic() - started, time.process_time() - cpu


async def deliver_bare(
    api_url: str, messages: list[tuple[str, Reply]], concurrency: int
) -> tuple[float, float, list[float]]:
    """The machine's own floor: the same bodies as bare aiohttp POSTs, rendered beforehand.

    No Slack client, pacing, rendering or retries: what any Python client of this kind
    would need at least. (wall seconds, CPU seconds, each request's latency)
    """
    bodies = [{"channel": ref, **render_message(reply)} for ref, reply in messages]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    limiter = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    async with aiohttp.ClientSession(base_url=api_url, headers=headers) as session:

        async def post(body: dict[str, Any]) -> None:
            async with limiter:
                began = time.perf_counter()
                async with session.post("chat.postMessage", json=body) as response:
                    await response.read()
                latencies.append(time.perf_counter() - began)

        started, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(post(body) for body in bodies))
        return time.monotonic() - started, time.process_time() - cpu, latencies


def deliver_again(deps: Deps) -> int:
    """Put the run's deliveries back as they were before T: the fan-outs and channel
    posts pending again, the DMs the fan-outs made gone. Returns the rows put back."""
    with deps.session_factory.begin() as session:
        session.execute(delete(Occurrence).where(Occurrence.kind == standup_service.REMINDER_DM))
        return int(
            session.execute(
                update(Occurrence)
                .values(
                    status=OccurrenceStatus.PENDING.value,
                    claimed_by=None,
                    lease_until=None,
                    finished_at=None,
                    attempts=0,
                )
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        )


def claim_and_record(deps: Deps, now: datetime) -> tuple[int, float]:
    """The least a durable exactly-once fan-out writes for its messages: each participant's
    delivery row planned (as many to a transaction as a claim of fan-outs makes), then
    every row claimed and recorded sent, CLAIM_BATCH at a time, one transaction each, and
    nothing else (every row pending again). (rows, CPU seconds)"""
    dm = Occurrence.kind == standup_service.REMINDER_DM
    with deps.session_factory.begin() as session:
        planned = [
            occurrences.PlannedDelivery(*row)
            for row in session.execute(
                select(
                    Occurrence.workspace_id,
                    Occurrence.kind,
                    Occurrence.subject_ref,
                    Occurrence.due_at,
                    Occurrence.recipient_ref,
                    Occurrence.payload,
                ).where(dm)
            )
        ]
        session.execute(delete(Occurrence).where(dm))
        session.execute(
            update(Occurrence)
            .values(status=OccurrenceStatus.PENDING.value, claimed_by=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    rows = 0
    cpu = time.process_time()
    per_transaction = jobs.CLAIM_BATCH * PARTICIPANTS_PER_STANDUP
    for first in range(0, len(planned), per_transaction):
        with deps.session_factory.begin() as session:
            occurrences.schedule_many(
                session=session, deliveries=planned[first : first + per_transaction]
            )
    while True:
        with deps.session_factory.begin() as session:
            claimed = occurrences.claim_due(
                session=session,
                now=now,
                instance_id=deps.instance_id,
                grace=timedelta(hours=1),
                limit=jobs.CLAIM_BATCH,
            ).claimed
        if not claimed:
            return rows, time.process_time() - cpu
        with deps.session_factory.begin() as session:
            occurrences.mark_all_sent(
                session=session,
                occurrence_ids=[c.id for c in claimed],
                instance_id=deps.instance_id,
                now=now,
            )
        rows += len(claimed)


@dataclass
class Outcome:
    accepted: int
    duplicates: int
    losses: int
    unexpected: int
    delivered_at: list[float]  # seconds after the start, per expected message

    @property
    def all_delivered(self) -> float:
        return max(self.delivered_at) if self.delivered_at and not self.losses else float("nan")


NAMED = re.compile(r"Bench stand-up \d{4}")


def judge(expected: Expected, accepted: list[Message], started: float) -> Outcome:
    """Match what the fake accepted against what was expected, by conversation and name."""
    wanted = set(expected)
    seen: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], float] = {}
    unexpected = 0
    for channel, _, at, message in accepted:
        named = NAMED.search(message)
        pair = (channel, named.group(0) if named else "")
        if pair not in wanted:
            unexpected += 1
            continue
        seen[pair] += 1
        first.setdefault(pair, at - started)
    return Outcome(
        accepted=len(accepted),
        duplicates=sum(n - 1 for n in seen.values() if n > 1),
        losses=sum(1 for pair in expected if pair not in first),
        unexpected=unexpected,
        delivered_at=[first[pair] for pair in expected if pair in first],
    )


@dataclass
class Floors:
    """The same messages without the scheduler: through the notifier, through slack_sdk's
    client alone, and bare; and the scheduler and database without sending."""

    wall: float
    cpu: float
    stats: dict[str, Any]
    client_wall: float
    client_cpu: float
    client_stats: dict[str, Any]
    bare_wall: float
    bare_cpu: float
    bare_stats: dict[str, Any]
    latencies: list[float]  # each bare request's
    silent: Delivery  # the same ticks with a notifier that sends nothing
    bookkeeping_rows: int
    bookkeeping_cpu: float  # claiming and recording those rows, CLAIM_BATCH at a time
    # Each floor is measured FLOOR_RUNS times, interleaved; the run of median CPU is kept,
    # and the lowest and highest CPU seconds of its runs shown beside it.
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    def report(self, expected: Expected, took: float, rate_bound: float) -> None:
        floor = judge(expected, [tuple(m) for m in self.stats["accepted"]], 0.0)
        print(
            f"HTTP-only floor          {self.wall:>9.2f} s  (the same {len(expected):,} messages "
            f"through the notifier to the fake, no scheduler or database: CPU {self.cpu:.1f} s, "
            f"the fake's {self.stats['cpu_seconds']:.1f} s, "
            f"accepted {floor.accepted:,}, lost {floor.losses}) -> {took / self.wall:.1f}x"
        )
        print(
            f"slack_sdk client floor   {self.client_wall:>9.2f} s  (the same messages, rendered "
            f"beforehand, through AsyncWebClient.chat_postMessage alone: CPU "
            f"{self.client_cpu:.1f} s, the fake's {self.client_stats['cpu_seconds']:.1f} s)"
        )
        print(
            f"bare-HTTP floor          {self.bare_wall:>9.2f} s  (the same bodies, prebuilt, as "
            f"bare aiohttp POSTs, {MAX_IN_FLIGHT} at once: CPU {self.bare_cpu:.1f} s, the fake's "
            f"{self.bare_stats['cpu_seconds']:.1f} s, {self.bare_stats['requests']:,} requests) "
            f"-> {took / self.bare_wall:.1f}x"
        )
        machine = (self.bare_cpu + self.bare_stats["cpu_seconds"]) / (os.cpu_count() or 1)
        print(
            f"  on {os.cpu_count()} CPUs the bare sender and the fake alone need "
            f"{machine:.2f} s = {machine / rate_bound:.1f}x the rate-limit bound"
        )

    def report_cpu(self, bot_cpu: float, total: int) -> None:
        """CPU a message, side by side: what each layer costs over the bare POST."""
        bare = self.bare_cpu / total * 1000
        # Per message: the rows (channel posts, fan-outs, DMs) outnumber the messages.
        bookkeeping = self.bookkeeping_cpu / total * 1000

        def spread(name: str, per: int = total) -> str:
            low, high = self.ranges[name]
            return f"{low / per * 1000:.3f}-{high / per * 1000:.3f} ms in {FLOOR_RUNS} runs"

        rows = [
            ("bare aiohttp POST, JSON prebuilt", self.bare_cpu / total * 1000, spread("bare")),
            (
                "slack_sdk AsyncWebClient alone",
                self.client_cpu / total * 1000,
                spread("client"),
            ),
            (
                "the notifier alone (render, pace, post)",
                self.cpu / total * 1000,
                spread("notifier"),
            ),
            (
                "scheduler and database, sending nothing",
                self.silent.cpu / total * 1000,
                f"the same ticks, plan to record; {spread('silent')}",
            ),
            (
                "database bookkeeping alone",
                bookkeeping,
                f"{self.bookkeeping_rows:,} rows: the DMs' planned, then all claimed and "
                f"recorded sent, {jobs.CLAIM_BATCH} a transaction; {spread('bookkeeping')}",
            ),
            (
                "floor: bare POST + bookkeeping",
                bare + bookkeeping,
                "no durable exactly-once sender goes under it",
            ),
            ("the bot (bench above)", bot_cpu / total * 1000, ""),
        ]
        print(
            f"CPU a message, side by side (ms; x the bare POST's {bare:.3f} ms; each floor "
            f"the median of {FLOOR_RUNS} runs):"
        )
        for label, value, note in rows:
            print(f"  {label:<42} {value:>6.3f} ms {value / bare:>5.1f}x  {note}")
        bot = bot_cpu / total * 1000
        print(
            f"bot CPU a message        {bot:>9.2f} ms  (bare-HTTP floor {bare:.2f} ms) -> "
            f"{bot / bare:.1f}x (target <= {TARGET_OF_CPU_FLOOR}x); against the floor with the "
            f"bookkeeping {bare + bookkeeping:.2f} ms: {bot / (bare + bookkeeping):.1f}x"
        )
        # What the target leaves for everything but the POST and the bookkeeping.
        room = TARGET_OF_CPU_FLOOR * bare - (bare + bookkeeping)
        print(
            f"  the {TARGET_OF_CPU_FLOOR}x target leaves {room:.3f} ms a message above the floor "
            f"of a durable sender ({(bare + bookkeeping) / bare:.2f}x) for all else: reading "
            "the stand-ups and who is away, building the messages, pacing them (the "
            f"notifier alone takes {self.cpu / total * 1000 - bare:.3f} ms more than a bare "
            "POST) and running the tick"
        )


async def measure_floors(
    deps: Deps,
    messages: list[tuple[str, Reply]],
    session: aiohttp.ClientSession,
    control: aiohttp.ClientSession,
    root_url: str,
    due: datetime,
) -> Floors:
    """Every floor on the same messages, one after another (the workspace limit lifted)."""

    async def tokens(_workspace_id: str) -> str | None:
        return TOKEN

    unpaced = SlackNotifier(
        deps.settings,
        tokens=tokens,
        session=session,
        pacer=ConversationPacer(workspace_per_minute=UNLIMITED),
    )
    notifier_runs: list[tuple[float, float, dict[str, Any]]] = []
    client_runs: list[tuple[float, float, dict[str, Any]]] = []
    bare_runs: list[tuple[float, float, list[float], dict[str, Any]]] = []
    silent_runs: list[Delivery] = []
    bookkeeping_runs: list[tuple[int, float]] = []
    for _ in range(FLOOR_RUNS):  # interleaved, so that each sees the machine alike
        await _control(control, root_url, "reset")
        wall, cpu = await deliver_without_scheduler(unpaced, messages, jobs.DELIVERY_CONCURRENCY)
        notifier_runs.append((wall, cpu, await _control(control, root_url, "stats")))
        await _control(control, root_url, "reset")
        wall, cpu = await deliver_with_client(deps.settings, session, messages, MAX_IN_FLIGHT)
        client_runs.append((wall, cpu, await _control(control, root_url, "stats")))
        await _control(control, root_url, "reset")
        wall, cpu, latencies = await deliver_bare(root_url + "api/", messages, MAX_IN_FLIGHT)
        bare_runs.append((wall, cpu, latencies, await _control(control, root_url, "stats")))
        # The scheduler's share: the same deliveries again, with nothing sent.
        await asyncio.to_thread(deliver_again, deps)
        silent_runs.append(await deliver_with_ticks(make_scheduler(deps, SilentNotifier()), due))
        bookkeeping_runs.append(await asyncio.to_thread(claim_and_record, deps, deps.clock()))

    def median(runs: list[Run], cpu: Callable[[Run], float]) -> Run:
        return sorted(runs, key=cpu)[len(runs) // 2]

    def extremes(cpus: list[float]) -> tuple[float, float]:
        return min(cpus), max(cpus)

    wall, cpu, stats = median(notifier_runs, lambda run: run[1])
    client_wall, client_cpu, client_stats = median(client_runs, lambda run: run[1])
    bare_wall, bare_cpu, latencies, bare_stats = median(bare_runs, lambda run: run[1])
    rows, bookkeeping = median(bookkeeping_runs, lambda run: run[1] / run[0])
    return Floors(
        wall,
        cpu,
        stats,
        client_wall,
        client_cpu,
        client_stats,
        bare_wall,
        bare_cpu,
        bare_stats,
        latencies,
        median(silent_runs, lambda run: run.cpu),
        rows,
        bookkeeping,
        ranges={
            "notifier": extremes([run[1] for run in notifier_runs]),
            "client": extremes([run[1] for run in client_runs]),
            "bare": extremes([run[1] for run in bare_runs]),
            "silent": extremes([run.cpu for run in silent_runs]),
            "bookkeeping": extremes([run[1] for run in bookkeeping_runs]),
        },
    )


async def run_fanout(
    count: int, channels: int, database_url: str, root_url: str, workspace_limit: int | None
) -> None:
    print(
        f"== Part 1: fan-out of {count:,} stand-ups x {PARTICIPANTS_PER_STANDUP} participants "
        f"in {channels:,} channels =="
    )
    deps = make_deps(database_url, root_url + "api/")
    # The session `bridgebot run` shares between its Slack clients (it counts each call).
    http = make_http_session()
    control = aiohttp.ClientSession()

    async def tokens(_workspace_id: str) -> str | None:
        return TOKEN

    # The bot keeps to the workspace's limit as it would to Slack's (600 a minute); with
    # the limit lifted (--workspace-limit 0) it sends as fast as the machine allows.
    notifier = SlackNotifier(
        deps.settings,
        tokens=tokens,
        session=http,
        pacer=ConversationPacer(workspace_per_minute=workspace_limit or UNLIMITED),
    )
    scheduler = make_scheduler(deps, notifier)
    gc.collect()  # as `bridgebot run` does once it is up
    gc.freeze()
    try:
        # T: the minute every reminder is due; the stand-ups start 15 minutes later.
        due = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=2)
        start = due + timedelta(minutes=REMINDER_LEAD_MINUTES)
        began = time.perf_counter()
        await asyncio.to_thread(
            create_meeting_standups, deps, count, channels, start, due - timedelta(hours=1)
        )
        print(
            f"created {count:,} stand-ups through the service "
            f"in {time.perf_counter() - began:.2f} s"
        )

        planning: list[float] = []
        before_due = due - timedelta(minutes=1)
        while await asyncio.to_thread(unplanned, deps, before_due) and len(planning) < 2_000:
            began = time.perf_counter()
            report = await jobs.run_tick(scheduler, now=before_due)
            planning.append(time.perf_counter() - began)
            assert report.claimed == 0, report
        due_count = await asyncio.to_thread(count_unfinished, deps, due)
        print(
            f"planning ticks at T-1 min: {len(planning)} ({', '.join(ms(s) for s in planning)}); "
            f"{due_count:,} deliveries due at T"
        )

        await _control(control, root_url, "reset")
        retries_before = metric_total(SLACK_API_RETRIES)
        redeliveries_before = metric_total(REDELIVERIES)
        calls_before = calls_by_status()
        print(f"delivering...            ({load_average()})")
        run = await deliver_with_ticks(scheduler, due)
        run.stats = await _control(control, root_url, "stats")
        retries = metric_total(SLACK_API_RETRIES) - retries_before
        redeliveries = metric_total(REDELIVERIES) - redeliveries_before
        calls_seen = calls_by_status() - calls_before
        statuses = await asyncio.to_thread(status_counts, deps)
        after_delivery = load_average()

        # The floors measure the machine, not the limit: it is lifted for them.
        await _control(control, root_url, "workspace_limit", {"limit": None})
        messages = await asyncio.to_thread(same_messages, deps, start)
        floors = await measure_floors(deps, messages, http, control, root_url, due)
    finally:
        await http.close()
        await control.close()
        deps.engine.dispose()

    expected = expected_messages(count, channels)
    outcome = judge(expected, [tuple(m) for m in run.stats["accepted"]], run.started)
    total = len(expected)
    latencies = floors.latencies
    latency = statistics.median(latencies) if latencies else float("nan")
    # One message per second per conversation: the busiest conversation sets the bound;
    # a workspace-wide limit of W a minute lets W through at once, then W a minute later.
    rate_bound = max(Counter(where for where, _ in expected).values()) * RATE_WINDOW_SECONDS
    if workspace_limit:
        rate_bound = max(rate_bound, (math.ceil(total / workspace_limit) - 1) * 60.0)
    throughput_bound = total / (MAX_IN_FLIGHT / latency)
    took = outcome.all_delivered
    served_429 = sum(
        run.stats[kind] for kind in ("injected_429", "rate_limited_429", "workspace_429")
    )

    print(
        f"messages expected        {total:>9,}  ({count:,} channel posts + {total - count:,} DMs)"
    )
    print(f"accepted by the fake     {outcome.accepted:>9,}")
    print(f"duplicates               {outcome.duplicates:>9,}")
    print(f"losses                   {outcome.losses:>9,}")
    print(f"unexpected / misrouted   {outcome.unexpected:>9,}")
    print(
        f"requests to the fake     {run.stats['requests']:>9,}  (the bot's metrics counted "
        f"{sum(calls_seen.values()):,}: {dict(sorted(calls_seen.items()))}; "
        f"the fake's CPU {run.stats['cpu_seconds']:.1f} s)"
    )
    print(
        f"429s served              {served_429:>9,}  (injected {run.stats['injected_429']}, "
        f"per-channel limit {run.stats['rate_limited_429']}, "
        f"workspace limit {run.stats['workspace_429']})"
    )
    print(
        f"Slack client retries     {retries:>9,.0f}  (second delivery attempts: {redeliveries:.0f})"
    )
    print(f"occurrence rows          {statuses}")
    print(f"DELIVERY_CONCURRENCY     {jobs.DELIVERY_CONCURRENCY:>9}")
    print(
        f"request latency          p50 {latency * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms (the bare floor's requests)"
    )
    print(
        f"50% / 99% delivered at   {percentile(outcome.delivered_at, 0.5):>9.2f} s / "
        f"{percentile(outcome.delivered_at, 0.99):.2f} s"
    )
    print(
        f"all delivered at         {took:>9.2f} s  (ticks done at {run.finished:.2f} s; "
        f"bot CPU {run.cpu:.1f} s, {run.cpu / total * 1000:.1f} ms a message; {after_delivery})"
    )
    gen = run.collections
    print(
        f"  garbage collector      {gen['cpu_us'] // 1000:>9,} ms of that CPU ({gen['gen0']} young, "
        f"{gen['gen1']} middle and {gen['gen2']} full collections of {len(gc.get_objects()):,} "
        f"objects tracked)"
    )
    print(
        f"rate-limit bound         {rate_bound:>9.2f} s  (most messages in one channel x 1 s"
        f"{'' if not workspace_limit else f', or {workspace_limit:,} a minute in all'}) "
        f"-> {took / rate_bound:.2f}x (target <= {TARGET_OF_BOUND}x)"
    )
    print(
        f"throughput bound         {throughput_bound:>9.2f} s  ({total:,} / "
        f"({MAX_IN_FLIGHT} / {latency * 1000:.1f} ms)) "
        f"-> {took / throughput_bound:.1f}x"
    )
    floors.report(expected, took, rate_bound)
    floors.report_cpu(run.cpu, total)
    print(f"ticks                    {len(run.ticks):>9}")
    for number, tick in enumerate(run.ticks, start=1):
        r = tick.report
        print(
            f"  tick {number:>2} at {tick.at:6.2f} s took {tick.seconds:6.2f} s: "
            f"claimed {r.claimed:,}, sent {r.sent:,}, failed {r.failed}, missed {r.missed}"
        )
    print()


# -- part 2: the tick's own cost --------------------------------------------------------------


class SilentNotifier:
    """Accepts every message and sends nothing."""

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        return None


ZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata")


def insert_standups(deps: Deps, count: int, now: datetime) -> None:
    """`count` stand-ups in one statement, starting between 1 h and 23 h after `now`."""
    rows = []
    for i in range(1, count + 1):
        start = now + timedelta(minutes=60 + (i * 7) % (22 * 60))
        zone = ZONES[i % len(ZONES)]
        rows.append(
            {
                "workspace_id": WORKSPACE,
                "number": i,
                "name": standup_name(i),
                "channel_ref": f"C{i:05d}",
                "weekdays": "mon,tue,wed,thu,fri",
                "local_time": start.astimezone(ZoneInfo(zone)).time().replace(second=0),
                "timezone": zone,
                "mode": "async" if i % 5 == 0 else "meeting",
                "call_link": None,
                "questions": list(standup_service.DEFAULT_QUESTIONS),
                "participants": participants_of(i),
                "both_sides": False,
                "reminder_lead_minutes": REMINDER_LEAD_MINUTES,
                "deadline_minutes": 120,
                "paused": False,
                "creator_ref": participants_of(i)[0],
                "calendar_token": standup_service.calendar_token(
                    deps.secret_key, WORKSPACE, i, now
                ),
                "planned_until": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    with deps.session_factory.begin() as session:
        session.execute(insert(Standup), rows)


async def run_tick_cost(count: int, database_url: str) -> None:
    print(f"== Part 2: the tick with {count:,} stand-ups in the database ==")
    deps = make_deps(database_url, "http://127.0.0.1:9/api/")
    scheduler = make_scheduler(deps, SilentNotifier())
    try:
        # A Wednesday: the whole two-day planning horizon falls on weekdays.
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        now += timedelta(days=(2 - now.weekday()) % 7)
        began = time.perf_counter()
        await asyncio.to_thread(insert_standups, deps, count, now)
        print(f"inserted {count:,} stand-ups in bulk in {time.perf_counter() - began:.2f} s")

        # New to the plan, all of them: something may be due at once, so the ticks follow
        # one another at once (the scheduler is woken) until every plan is made.
        first = await planning_ticks(scheduler, now)
        statuses = await asyncio.to_thread(status_counts, deps)
        print(
            f"first plan (all new)     {len(first):>9} tick(s), {ms(sum(first))} in all; "
            f"longest tick {ms(max(first))}, p50 {ms(percentile(first, 0.5))} (target < 200 ms)"
        )
        print(f"occurrence rows planned  {sum(statuses.values()):>9,}  {statuses}")

        steady: list[float] = []
        claimed = 0
        for minute in range(1, STEADY_TICKS + 1):
            began = time.perf_counter()
            report = await jobs.run_tick(scheduler, now=now + timedelta(minutes=minute))
            steady.append(time.perf_counter() - began)
            claimed += report.claimed + report.missed
        print(
            f"steady ticks             {STEADY_TICKS:>9}  "
            f"(nothing due; deliveries claimed {claimed})"
        )
        print(
            f"steady tick p50 / p99    {percentile(steady, 0.5) * 1000:>6.1f} ms / "
            f"{percentile(steady, 0.99) * 1000:.1f} ms  (max {max(steady) * 1000:.1f} ms; "
            f"target < 200 ms; {load_average()})"
        )

        # A day on, every plan runs out within the day at once: those can wait their turn.
        later = now + timedelta(days=1, hours=1)
        await asyncio.to_thread(mark_sent_until, deps, later)
        again = await planning_ticks(scheduler, later)
        print(
            f"re-planning ticks        {len(again):>9}  (a day on, all {count:,} at once; "
            f"total {sum(again):.2f} s; p50 {ms(percentile(again, 0.5))}, "
            f"p99 {ms(percentile(again, 0.99))}, max {ms(max(again))}; target < 200 ms)"
        )
    finally:
        deps.engine.dispose()
    print()


async def planning_ticks(scheduler: Scheduler, now: datetime) -> list[float]:
    """Ticks at `now` until no stand-up is left to plan; the time of each."""
    seconds: list[float] = []
    while await asyncio.to_thread(unplanned, scheduler.deps, now) and len(seconds) < 2_000:
        began = time.perf_counter()
        report = await jobs.run_tick(scheduler, now=now)
        seconds.append(time.perf_counter() - began)
        assert report.claimed == 0, report
    return seconds


def mark_sent_until(deps: Deps, moment: datetime) -> None:
    """Record everything due before `moment` as sent, as if the days between went well."""
    with deps.session_factory.begin() as session:
        session.execute(
            update(Occurrence)
            .where(Occurrence.due_at <= moment)
            .values(status=OccurrenceStatus.SENT.value, finished_at=moment)
        )


# -- entry point ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--standups",
        type=int,
        default=200,
        help="stand-ups in the fan-out (200: 1,200 messages, two minutes' worth at 600 a minute)",
    )
    parser.add_argument(
        "--tick-standups",
        type=int,
        default=10_000,
        help="stand-ups in the database for the tick's cost (10000)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server; each part creates (and drops) a database of its own on it",
    )
    parser.add_argument(
        "--channels",
        type=int,
        default=None,
        help="stand-ups share this many channels round-robin (default: one channel each)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the injected 429s")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="try another DELIVERY_CONCURRENCY (CLAIM_BATCH keeps its ratio to it)",
    )
    parser.add_argument(
        "--slack-latency-ms",
        type=float,
        default=100.0,
        help="make the fake answer each call this much later (100, as Slack; 0: at once)",
    )
    parser.add_argument(
        "--workspace-limit",
        type=int,
        default=WORKSPACE_MESSAGES_PER_MINUTE,
        help="chat.postMessage across the workspace per rolling minute, in the fake and the "
        "bot's pacer (600, as Slack; 0: no limit)",
    )
    parser.add_argument("--skip-fanout", action="store_true", help="run only part 2")
    parser.add_argument("--skip-tick", action="store_true", help="run only part 1")
    return parser.parse_args(argv)


def try_concurrency(concurrency: int) -> None:
    claim_batch = getattr(jobs, "CLAIM_BATCH", None)
    if isinstance(claim_batch, int):
        jobs.CLAIM_BATCH = max(1, claim_batch * concurrency // jobs.DELIVERY_CONCURRENCY)
    jobs.DELIVERY_CONCURRENCY = concurrency


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.concurrency:
        try_concurrency(args.concurrency)
    print(
        f"python {sys.version.split()[0]}, {'uvloop' if LOOP_FACTORY else 'asyncio'} event loop, "
        f"{'PostgreSQL' if args.database_url else 'SQLite (a temporary file)'}, "
        f"DELIVERY_CONCURRENCY {jobs.DELIVERY_CONCURRENCY}, fake Slack latency "
        f"{args.slack_latency_ms:.0f} ms, {load_average()}"
    )
    if not args.skip_fanout:
        with (
            fake_slack(
                FakeConfig(
                    args.seed,
                    INJECTED_429_RATE,
                    args.slack_latency_ms / 1000,
                    args.workspace_limit or None,
                )
            ) as root_url,
            database(args.database_url, "fanout") as url,
        ):
            run_on_server_loop(
                run_fanout(
                    args.standups,
                    args.channels or args.standups,
                    url,
                    root_url,
                    args.workspace_limit,
                )
            )
    if not args.skip_tick:
        with database(args.database_url, "tick") as url:
            run_on_server_loop(run_tick_cost(args.tick_standups, url))


if __name__ == "__main__":
    main()
