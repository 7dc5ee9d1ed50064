"""`bridgebot run` as a real process in Slack HTTP mode, answering a signed slash command."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.fake_slack import FakeSlack
from tests.processes import bridgebot_command, clean_env, free_port, stop
from tests.signing import SIGNING_SECRET, slack_headers, slash_command_body

STARTUP_DEADLINE = 60.0  # generous: a busy shared machine starts Python slowly


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while True:
        assert process.poll() is None, f"bridgebot exited early with {process.returncode}"
        try:
            response = httpx.get(f"{base_url}/healthz", timeout=2.0)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "bridgebot did not become healthy in time"
        time.sleep(0.1)


@pytest.mark.slow  # a real bridgebot process
def test_run_serves_slack_over_http_and_stops_on_sigterm(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0ALICE")
    port = free_port()
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/bridgebot.db",
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        BRIDGEBOT_HOST="127.0.0.1",
        BRIDGEBOT_PORT=str(port),
        LOG_LEVEL="INFO",
    )
    log = (tmp_path / "bridgebot.log").open("wb")
    process = subprocess.Popen(
        [*bridgebot_command(), "run"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        health = wait_until_healthy(base_url, process).json()
        assert (health["database"], health["scheduler"]) == ("ok", "running")

        body = slash_command_body("/bridge", "help", response_url=fake_slack.response_url())
        response = httpx.post(
            f"{base_url}/slack/events", content=body, headers=slack_headers(body), timeout=5.0
        )
        assert response.status_code == 200

        reply = fake_slack.wait_for("response_url", timeout=10.0)[0].params
        assert reply["response_type"] == "ephemeral"
        assert "bridgebot" in reply["text"]
        assert "/bridge side marketing|it|other" in reply["text"]
    finally:
        code = stop(process)
        log.close()
    output = (tmp_path / "bridgebot.log").read_text(errors="replace")
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells it.
    assert code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output, output
    assert "serving with one worker process: SQLite lets one process write at a time" in output
    assert process.poll() is not None
    assert "Traceback" not in output, output
