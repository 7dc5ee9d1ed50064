"""`bridgebot run` with only Teams credentials: one server answering at /api/messages."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.processes import bridgebot_command, clean_env, free_port, stop
from tests.teams.activities import APP_ID, message, person, personal
from tests.test_run_subprocess import wait_until_healthy


@pytest.mark.slow  # a real bridgebot process
def test_run_serves_teams_with_token_validation_on(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/bridgebot.db",
        TEAMS_APP_ID=APP_ID,
        TEAMS_APP_PASSWORD="test-app-password-0123",
        BRIDGEBOT_HOST="127.0.0.1",
        BRIDGEBOT_PORT=str(port),
        # Teams loads card images from it: `run` refuses one that is not https.
        BRIDGEBOT_PUBLIC_URL="https://bridgebot.test",
        # The SDK's own switch must not turn validation off in a real run.
        DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS="true",
        LOG_LEVEL="INFO",
    )
    log = (tmp_path / "bridgebot.log").open("wb")
    process = subprocess.Popen(
        [*bridgebot_command(), "run"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        health = wait_until_healthy(base_url, process).json()
        assert health["scheduler"] == "running"
        alice = person("Alice", 1)
        activity = message("http://127.0.0.1:9", "help", alice, personal(alice))
        refused = httpx.post(f"{base_url}/api/messages", json=activity, timeout=10.0)
        assert refused.status_code == 401
        assert httpx.post(f"{base_url}/slack/events", content="x", timeout=5.0).status_code == 404
    finally:
        code = stop(process)
        log.close()
    output = (tmp_path / "bridgebot.log").read_text(errors="replace")
    assert code in (0, -signal.SIGTERM), output
    assert "bridgebot is up (teams" in output, output
    assert "Traceback" not in output, output
