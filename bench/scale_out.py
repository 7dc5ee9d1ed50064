"""Glossary lookups through one `bridgebot run` instance, then two on the same PostgreSQL.

Run with `python -m bench.scale_out` (`--seconds 4` for a quick run). It prints figures
and asserts nothing; every phase is bounded in time and only 127.0.0.1 is used.

A fresh PostgreSQL database gets a generated glossary (5,000 terms, as bench.load). A
fake Slack Web API in a child process takes the answers at their response_url and lets
a client wait for the answer to its own request. First one instance runs (one worker
process: `BRIDGEBOT_WORKERS=1`), then a second starts on another port, on the same
database, as a second machine behind a load balancer would. In each phase C clients
(default 4) send signed `/jargon TERM` slash commands, each waiting for the answer at
its response_url before sending the next (answer-paced, as people are); with two
instances each client alternates between them, as a round-robin load balancer does.

Printed for each phase: answered lookups a second, acknowledgement and answer latency
(p50 and p99), commands shed at the acknowledgement ("bridgebot is busy"), errors, and
the servers' CPU time per lookup; then the ratio of two instances to one. On a machine
whose cores are shared by the clients, the fake and the servers, the second instance
competes for the same cores: the ratio shows what a second machine would add only as a
lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bench.load import (
    SIGNING_SECRET,
    TEAM,
    create_database,
    drop_database,
    load_glossary,
    sign,
)

STARTUP_SECONDS = 90.0
ANSWER_TIMEOUT_SECONDS = 10.0
WARM_UP_REQUESTS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_fake_slack(port: int) -> None:
    """The Web API (every call answered ok) and the response_url sink, with GET
    /wait/KEY answering once the answer to request KEY has arrived (its own process)."""
    arrived: dict[str, asyncio.Event] = {}

    def event(key: str) -> asyncio.Event:
        return arrived.setdefault(key, asyncio.Event())

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        path = request.path
        if path.startswith("/response/"):
            event(path.rsplit("/", 1)[-1]).set()
            return web.json_response({"ok": True})
        if path.startswith("/wait/"):
            key = path.rsplit("/", 1)[-1]
            try:
                await asyncio.wait_for(event(key).wait(), ANSWER_TIMEOUT_SECONDS)
            except TimeoutError:
                return web.json_response({"ok": False}, status=504)
            finally:
                arrived.pop(key, None)
            return web.json_response({"ok": True})
        if path.endswith("auth.test"):
            return web.json_response(
                {"ok": True, "team_id": TEAM, "user_id": "U0BOT", "bot_id": "B0BOT", "team": "x"}
            )
        if path.endswith("users.info"):
            return web.json_response({"ok": True, "user": {"id": "U", "is_admin": False}})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes so far (Linux /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Phase:
    seconds: float
    acks_ms: list[float] = field(default_factory=list)
    answers_ms: list[float] = field(default_factory=list)
    shed: int = 0
    errors: int = 0
    cpu: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.answers_ms) / self.seconds

    def row(self, label: str) -> str:
        per_lookup = self.cpu * 1000 / max(1, len(self.answers_ms))
        return (
            f"{label:<14} {self.per_second:>9.0f} {percentile(self.acks_ms, 0.5):>8.1f} "
            f"{percentile(self.acks_ms, 0.99):>8.1f} {percentile(self.answers_ms, 0.5):>10.1f} "
            f"{percentile(self.answers_ms, 0.99):>10.1f} {self.shed:>6} {self.errors:>6} "
            f"{per_lookup:>12.2f}"
        )


HEADER = (
    f"{'':<14} {'lookups/s':>9} {'ack p50':>8} {'ack p99':>8} {'answer p50':>10} "
    f"{'answer p99':>10} {'shed':>6} {'errors':>6} {'CPU ms/lookup':>12}"
)


def start_instance(db_url: str, slack: str, workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BRIDGEBOT_", "TEAMS_"))
    }
    env.update(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN="xoxb-scale-out",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{slack}/api/",
        BRIDGEBOT_HOST="127.0.0.1",
        BRIDGEBOT_PORT=str(port),
        BRIDGEBOT_WORKERS="1",
        BRIDGEBOT_SECRET_KEY="bench-scale-out-secret-key-of-enough-length-0123456789",
        LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen([sys.executable, "-m", "handlers.cli", "run"], env=env, cwd=workdir)
    return process, f"http://127.0.0.1:{port}"


async def wait_healthy(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"bridgebot at {base} did not become healthy in time")


async def lookups(
    session: aiohttp.ClientSession,
    bases: list[str],
    slack: str,
    names: list[str],
    clients: int,
    seconds: float,
    pids: list[int],
    label: str,
) -> Phase:
    """`clients` answer-paced clients for `seconds`, spread over `bases` in turn."""
    phase = Phase(seconds)
    ends = time.monotonic() + seconds
    counter = 0
    cpu_before = cpu_seconds(pids)

    async def client(number: int) -> None:
        nonlocal counter
        rng = random.Random(number)
        turn = number
        while time.monotonic() < ends:
            counter += 1
            key = f"{label}-{number}-{counter}"
            body = urlencode(
                {
                    "team_id": TEAM,
                    "user_id": f"U{number:04d}",
                    "user_name": "bench",
                    "command": "/jargon",
                    "text": rng.choice(names),
                    "channel_id": "C0SCALE",
                    "response_url": f"{slack}/response/{key}",
                    "trigger_id": key,
                }
            )
            base = bases[turn % len(bases)]
            turn += 1
            began = time.perf_counter()
            try:
                async with session.post(
                    f"{base}/slack/events", data=body, headers=sign(body)
                ) as response:
                    text = await response.read()
                    phase.acks_ms.append((time.perf_counter() - began) * 1000)
                    if response.status != 200:
                        phase.errors += 1
                        continue
                    if b"bridgebot is busy" in text:
                        phase.shed += 1
                        continue
                    if json.loads(text or b"{}").get("blocks"):  # answered in the ack
                        phase.answers_ms.append((time.perf_counter() - began) * 1000)
                        continue
                async with session.get(f"{slack}/wait/{key}") as answered:
                    if answered.status != 200:
                        phase.errors += 1
                        continue
                phase.answers_ms.append((time.perf_counter() - began) * 1000)
            except (TimeoutError, aiohttp.ClientError, ValueError):
                phase.errors += 1

    await asyncio.gather(*(client(n) for n in range(clients)))
    phase.cpu = cpu_seconds(pids) - cpu_before
    return phase


async def run(args: argparse.Namespace) -> None:
    db_url = create_database(args.database_url)
    slack_port = free_port()
    fake = multiprocessing.Process(target=run_fake_slack, args=(slack_port,), daemon=True)
    fake.start()
    slack = f"http://127.0.0.1:{slack_port}"
    processes: list[subprocess.Popen[bytes]] = []
    workdir = tempfile.mkdtemp(prefix="bridgebot-scale-out-")
    try:
        print(
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; loading "
            f"{args.terms:,} terms into a fresh PostgreSQL database...",
            flush=True,
        )
        names = load_glossary(db_url, args.terms)
        timeout = aiohttp.ClientTimeout(total=ANSWER_TIMEOUT_SECONDS + 5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            first, first_url = start_instance(db_url, slack, workdir)
            processes.append(first)
            await wait_healthy(session, first_url)
            await lookups(session, [first_url], slack, names, 1, 1.0, [first.pid], "warm-1")
            one = await lookups(
                session, [first_url], slack, names, args.clients, args.seconds, [first.pid], "one"
            )
            second, second_url = start_instance(db_url, slack, workdir)
            processes.append(second)
            await wait_healthy(session, second_url)
            await lookups(session, [second_url], slack, names, 1, 1.0, [second.pid], "warm-2")
            two = await lookups(
                session,
                [first_url, second_url],
                slack,
                names,
                args.clients,
                args.seconds,
                [first.pid, second.pid],
                "two",
            )
        print(
            f"{args.clients} answer-paced clients, {args.seconds:g} s a phase, "
            f"{args.terms:,} terms; load average {os.getloadavg()[0]:.1f}"
        )
        print(HEADER)
        print(one.row("one instance"))
        print(two.row("two instances"))
        print(
            f"two instances / one: {two.per_second / max(one.per_second, 1e-9):.2f}x the "
            "lookups a second (the clients, the fake and both instances share this "
            "machine's cores)"
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        fake.terminate()
        drop_database(args.database_url, db_url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_out", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--terms", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.terms < 1:
        raise SystemExit("--clients and --terms must be at least 1, --seconds above 0")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
