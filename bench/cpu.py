"""Server CPU per glossary lookup: this tree, and optionally an older commit side by side.

Starts `bridgebot run` (HTTP mode, PostgreSQL, a fake Slack Web API and response_url sink
in this process) and sends `/jargon CAC` from a few clients in a closed loop, each sending
its next lookup once the answer arrived (in the acknowledgement, or at the response_url).
It prints the server's CPU time per lookup (user + system, every worker process), the
lookups a second and the acknowledgement and answer latency.

    python -m bench.cpu [--ref COMMIT] [--requests 2000] [--clients 4] [--workers 1]

With `--ref` the same load first runs against that commit (its files, taken with
`git archive`, run by this Python and its installed libraries), so "before" and "after"
are measured side by side in one run. Only 127.0.0.1 is used. The client shares the
machine with the server, so compare figures of one run, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bench.load import (
    SIGNING_SECRET,
    TEAM,
    cpu_seconds,
    create_database,
    drop_database,
    free_port,
    percentile,
    sign,
    wait_healthy,
)

REPO = Path(__file__).resolve().parent.parent
QUERY = "CAC"  # an alias of Customer acquisition cost in the starter glossary
EXPECTED = "Customer acquisition cost"


class Sink:
    """The fake Slack Web API and the response_url every answer is posted to."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[str]] = {}

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if request.path.startswith("/response/"):
            future = self.waiting.pop(request.path.rsplit("/", 1)[-1], None)
            if future is not None and not future.done():
                future.set_result(raw.decode(errors="replace"))
            return web.json_response({"ok": True})
        if request.path.endswith("auth.test"):
            return web.json_response(
                {"ok": True, "team_id": TEAM, "user_id": "U0BOT", "bot_id": "B0BOT", "team": "Cpu"}
            )
        return web.json_response({"ok": True, "user": {"id": "U", "is_admin": False}})


@dataclass
class Figures:
    label: str
    lookups: int
    seconds: float
    cpu_ms: float
    acks_ms: list[float]
    answers_ms: list[float]
    wrong: int

    def line(self) -> str:
        return (
            f"{self.label:<28} {self.cpu_ms / self.lookups:>8.3f} {self.lookups / self.seconds:>9.0f} "
            f"{percentile(self.acks_ms, 0.5):>8.1f} {percentile(self.acks_ms, 0.99):>8.1f} "
            f"{percentile(self.answers_ms, 0.5):>10.1f} {percentile(self.answers_ms, 0.99):>10.1f} "
            f"{self.wrong:>6}"
        )


HEADER = (
    f"{'server':<28} {'CPU ms':>8} {'lookups/s':>9} {'ack p50':>8} {'ack p99':>8} "
    f"{'answer p50':>10} {'answer p99':>10} {'wrong':>6}"
)


async def lookups(
    base: str, sink: Sink, sink_url: str, total: int, clients: int
) -> tuple[list[float], list[float], int, float]:
    """`clients` closed loops sharing `total` lookups; (acks, answers, wrong, seconds)."""
    acks: list[float] = []
    answers: list[float] = []
    wrong = 0
    remaining = iter(range(total))
    connector = aiohttp.TCPConnector(limit=clients * 2)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as client:

        async def one_client() -> None:
            nonlocal wrong
            for _ in remaining:
                rid = uuid.uuid4().hex[:12]
                body = urlencode(
                    {
                        "team_id": TEAM,
                        "user_id": "U0CPU",
                        "user_name": "cpu",
                        "command": "/jargon",
                        "text": QUERY,
                        "channel_id": "C0CPU",
                        "response_url": f"{sink_url}/response/{rid}",
                        "trigger_id": f"t.{rid}",
                    }
                )
                future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
                sink.waiting[rid] = future
                started = time.perf_counter()
                async with client.post(
                    f"{base}/slack/events", data=body, headers=sign(body)
                ) as response:
                    content = await response.text()
                acks.append((time.perf_counter() - started) * 1000)
                if content.strip():
                    sink.waiting.pop(rid, None)
                    answer = content
                else:
                    answer = await asyncio.wait_for(future, 30)
                answers.append((time.perf_counter() - started) * 1000)
                if EXPECTED not in answer:
                    wrong += 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        return acks, answers, wrong, time.perf_counter() - started


def checkout(ref: str) -> Path:
    """The files of commit `ref`, in a temporary folder (the repository is not touched)."""
    folder = Path(tempfile.mkdtemp(prefix="bridgebot-cpu-ref-"))
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=REPO, capture_output=True, check=True
    ).stdout
    archive_path = folder / "ref.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(folder, filter="data")
    archive_path.unlink()
    return folder


async def measure(
    label: str, tree: Path, args: argparse.Namespace, sink: Sink, sink_url: str
) -> Figures:
    db_url = create_database(args.database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = tempfile.mkdtemp(prefix="bridgebot-cpu-")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BRIDGEBOT_", "TEAMS_"))
    }
    env.update(
        PYTHONPATH=str(tree),
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN="xoxb-cpu",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{sink_url}/api/",
        BRIDGEBOT_HOST="127.0.0.1",
        BRIDGEBOT_PORT=str(port),
        BRIDGEBOT_WORKERS=str(args.workers),
        LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen([sys.executable, "-m", "handlers.cli", "run"], env=env, cwd=workdir)
    try:
        await wait_healthy(base, time.monotonic() + 90)
        # Warm up: the workspace and its starter glossary, each worker's index.
        await lookups(base, sink, sink_url, 200, args.clients)
        await asyncio.sleep(1)
        before = cpu_seconds(server.pid)
        acks, answers, wrong, seconds = await lookups(
            base, sink, sink_url, args.requests, args.clients
        )
        cpu_ms = (cpu_seconds(server.pid) - before) * 1000
        return Figures(label, args.requests, seconds, cpu_ms, acks, answers, wrong)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        drop_database(args.database_url, db_url)
        shutil.rmtree(workdir, ignore_errors=True)


async def main_async(args: argparse.Namespace) -> None:
    sink = Sink()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", sink.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sink_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", sink_port).start()
    sink_url = f"http://127.0.0.1:{sink_port}"
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.requests} lookups "
        f"of /jargon {QUERY} from {args.clients} clients, {args.workers} worker(s)",
        flush=True,
    )
    results = []
    try:
        if args.ref:
            ref_tree = checkout(args.ref)
            try:
                results.append(await measure(f"commit {args.ref}", ref_tree, args, sink, sink_url))
            finally:
                shutil.rmtree(ref_tree, ignore_errors=True)
        results.append(await measure("this tree", REPO, args, sink, sink_url))
    finally:
        await runner.cleanup()
    print(HEADER)
    for figures in results:
        print(figures.line())
    if len(results) == 2:
        before, after = (f.cpu_ms / f.lookups for f in results)
        print(
            f"server CPU per lookup: {before:.3f} ms before, {after:.3f} ms after ({after / before:.2f}x)"
        )
    print(
        f"load average at the end {os.getloadavg()[0]:.1f} (other work on the machine skews both)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--ref", help="also measure this commit first, for a before/after")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
