"""Running the real `bridgebot` command: a clean environment, a free port, bounded waits."""

from __future__ import annotations

import os
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
    env.update(settings)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
