"""Running the real `bridgebot` command: a clean environment, a free port, bounded waits."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

# Settings the developer may have exported; a test process must never inherit them.
SETTING_PREFIXES = ("SLACK_", "TEAMS_", "BRIDGEBOT_")
SETTING_NAMES = {"DATABASE_URL", "LOG_LEVEL"}
KEY_FILE = "BRIDGEBOT_SECRET_KEY_FILE"


def bridgebot_command() -> list[str]:
    """The installed console script next to this Python, else `python -m handlers.cli`."""
    script = Path(sys.executable).with_name("bridgebot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "handlers.cli"]


def clean_env(**settings: str) -> dict[str, str]:
    """os.environ without any bridgebot setting, plus `settings`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(SETTING_PREFIXES) and name not in SETTING_NAMES
    }
    # The run's key file (tests/conftest.py): a process on a database the tests use too
    # must have the key it was first used with. An empty value gives the default file.
    if KEY_FILE in os.environ:
        env[KEY_FILE] = os.environ[KEY_FILE]
    # Never the default port (3000): the console serves its dashboard there, and two
    # consoles at once (a parallel run's workers) would race for it.
    env["BRIDGEBOT_PORT"] = str(free_port())
    env.update(settings)
    return env


# Ports for servers a test starts as processes: below the kernel's ephemeral range
# (32768 and up by default), where no `bind(("127.0.0.1", 0))` or outgoing connection of
# this run lands while the process is still starting. Each worker of a parallel run
# (pytest-xdist) draws from its own residue class, so two workers never pick the same
# port, and a worker never hands out a port twice.
PORTS = range(20000, 32768)
_handed_out: set[int] = set()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, for a server started after this returns."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    ours = [
        port
        for port in PORTS
        if port % workers == int(worker) % workers and port not in _handed_out
    ]
    for port in random.sample(ours, len(ours)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:  # another program listens there
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port left in {PORTS}")


def run_bridgebot(
    *args: str, cwd: Path, env: dict[str, str], stdin: str = "", timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run `bridgebot ARGS` to completion and capture its output."""
    return subprocess.run(
        [*bridgebot_command(), *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stop(process: subprocess.Popen[Any], timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    return process.returncode
