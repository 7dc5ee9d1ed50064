"""bridgebot against its peers, side by side, and the floor no Python server here can beat.

Runs the shared side-by-side benchmark (`peerbench.py`: bridgebot, codeforamerica's and
halkeye's glossary bots, each on its own PostgreSQL database, driven by one client), then
prints how bridgebot compares with codeforamerica/glossary-bot at 4 clients, answer-paced
(the target: 3x, with ack p99 under 50 ms and answer p99 under 100 ms), and finally the
floor: a bare uvicorn app (as many workers as bridgebot serves with) that answers every
lookup with the same card from memory, driven by the same client on the same cores.

    PEERBENCH_DIR=../shared/peerbench CFA_DIR=... CFA_PYTHON=... HALKEYE_DIR=... \\
    HALKEYE_PYTHON=... python -m bench.peers        # or: make peerbench

Settings are environment variables only (see the peerbench README for setting up the
peers once): PEERBENCH_DIR (the folder holding peerbench.py), and those peerbench.py
reads; BRIDGEBOT_DIR defaults to this checkout, ACCEPTANCE_DIR to PEERBENCH_DIR, OUT to a
temporary file. N (default 2000) lookups a cell. Nothing else should run meanwhile: the
client, the servers and PostgreSQL share the machine's cores, so the figures are ratios
of one run.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 3.0
TARGET_ACK_P99_MS = 50.0
TARGET_ANSWER_P99_MS = 100.0
PEER = "codeforamerica"


def _card() -> bytes:
    terms = yaml.safe_load((REPO / "bot" / "data" / "starter_glossary.yaml").read_text())["terms"]
    term = next(t for t in terms if t["name"] == "Customer acquisition cost")
    text = "\n".join(
        [term["name"], " ".join(term["definition"].split()), term.get("example") or ""]
    )
    return json.dumps({"response_type": "ephemeral", "text": text}).encode()


CARD = _card()


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Bare ASGI: read the request, answer with the card. No signature, database or Bolt."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(CARD)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": CARD})


def peerbench_module(folder: Path) -> Any:
    sys.path.insert(0, str(folder))
    import peerbench

    return peerbench


async def measure_floor(folder: Path, workers: int, n: int) -> dict[str, Any]:
    """The peerbench client against the bare app, 4 clients, answer-paced."""
    import aiohttp
    from aiohttp import web

    peerbench = peerbench_module(folder)
    port = peerbench.free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.peers:floor_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=REPO,
    )
    sink = peerbench.Sink()
    app = web.Application()
    app.router.add_post("/r/{rid}", sink.response_url)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sink_port = peerbench.free_port()
    await web.TCPSite(runner, "127.0.0.1", sink_port).start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        bot = peerbench.Bot("floor", f"http://127.0.0.1:{port}/slack/events", "/jargon")
        check = peerbench.definition_key(json.loads(CARD)["text"].splitlines()[1])
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as session:
            client = peerbench.Client(session, sink, f"http://127.0.0.1:{sink_port}")
            await peerbench.closed_loop(client, bot, "CAC", 200, 4, check)  # warm-up
            stats: dict[str, Any] = await peerbench.closed_loop(client, bot, "CAC", n, 4, check)
            return stats
    finally:
        await runner.cleanup()
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    folder = Path(os.environ.get("PEERBENCH_DIR", "")).resolve()
    if not (folder / "peerbench.py").exists():
        raise SystemExit("set PEERBENCH_DIR to the folder holding peerbench.py (see its README)")
    out = Path(os.environ.get("OUT") or tempfile.mkstemp(prefix="peerbench-", suffix=".json")[1])
    env = {
        **os.environ,
        "BRIDGEBOT_DIR": os.environ.get("BRIDGEBOT_DIR", str(REPO)),
        "ACCEPTANCE_DIR": os.environ.get("ACCEPTANCE_DIR", str(folder)),
        "OUT": str(out),
    }
    subprocess.run([sys.executable, str(folder / "peerbench.py")], env=env, check=True)
    results = json.loads(out.read_text())
    bots = results["bots"]
    ours, peer = bots.get("bridgebot", {}).get("lookup_c4"), bots.get(PEER, {}).get("lookup_c4")
    print()
    print(f"load average at start {results['loadavg_start']}, at end {results['loadavg_end']}")
    if ours and peer:
        ratio = ours["req_per_s"] / peer["req_per_s"]
        print(
            f"bridgebot {ours['req_per_s']:.0f} complete lookups/s vs {PEER} "
            f"{peer['req_per_s']:.0f} at 4 clients, answer-paced: {ratio:.2f}x "
            f"(target {TARGET_RATIO:.0f}x); ack p99 {ours['ack_p99']:.1f} ms "
            f"(target < {TARGET_ACK_P99_MS:.0f}), answer p99 {ours['answer_p99']:.1f} ms "
            f"(target < {TARGET_ANSWER_P99_MS:.0f})"
        )
    from bot.settings import usable_cores

    workers = int(os.environ.get("BRIDGEBOT_WORKERS") or usable_cores())
    n = int(os.environ.get("N", "2000"))
    floor = asyncio.run(measure_floor(folder, workers, n))
    print(
        f"floor: bare uvicorn ({workers} workers) answering from memory, same client: "
        f"{floor['req_per_s']:.0f} lookups/s at 4 clients, ack p99 {floor['ack_p99']:.1f} ms"
    )
    if peer:
        print(
            f"the most any server here could lead {PEER} by: "
            f"{floor['req_per_s'] / peer['req_per_s']:.2f}x (the client and the server share "
            f"{os.cpu_count()} cores)"
        )


if __name__ == "__main__":
    main()
