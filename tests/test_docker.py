"""Running in a container: compose listens beyond the container, and a bot with nothing to
connect to and no terminal says so and fails instead of quitting quietly."""

from __future__ import annotations

from pathlib import Path

import yaml
from dotenv import dotenv_values

from tests.processes import clean_env, run_bridgebot

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_compose_listens_on_every_interface_whatever_env_example_holds() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    bot = compose["services"]["bot"]
    assert bot["environment"]["BRIDGEBOT_HOST"] == "0.0.0.0"
    # A .env copied from the example passes nothing that would pin the server to loopback.
    assert "BRIDGEBOT_HOST" not in dotenv_values(REPO_ROOT / ".env.example")


def test_run_with_no_credentials_and_no_terminal_fails_with_a_clear_line(
    tmp_path: Path,
) -> None:
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/bridgebot.db")

    result = run_bridgebot("run", cwd=tmp_path, env=env, timeout=30)

    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "no Slack or Teams credentials are set and there is no terminal" in line
    assert "SLACK_BOT_TOKEN" in line and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    result = run_bridgebot("--version", cwd=tmp_path, env=clean_env(), timeout=30)

    assert result.returncode == 0
    assert result.stdout.strip().startswith("bridgebot ")
    assert result.stdout.split()[1][0].isdigit()
