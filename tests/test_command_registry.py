"""A command declares itself once: Slack's listeners, both app manifests and help come from
the router, so a new feature module reaches every platform with no other edit."""

from __future__ import annotations

import io
import json
import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import bot.commands
from bot import replies
from bot.commands import FeatureConfig
from bot.deps import Deps, build_deps
from bot.router import Command, CommandContext, CommandRouter
from bot.settings import Settings
from handlers.cli import cli
from handlers.server import create_web_app
from handlers.slack.render import escape
from tests.fake_slack import FakeSlack
from tests.handlers.test_slack_http import post_command
from tests.signing import slack_headers, slash_command_body
from tests.teams.activities import APP_ID

CONTROL_CHARACTER = "\x07"  # refused by every command, with its usage line, before it runs


def slack_manifest_commands() -> list[dict[str, Any]]:
    """The slash commands of the manifest `bridgebot manifest` prints."""
    result = CliRunner().invoke(cli, ["manifest", "--socket-mode"])
    assert result.exit_code == 0, result.output
    commands: list[dict[str, Any]] = yaml.safe_load(result.stdout)["features"]["slash_commands"]
    return commands


def teams_menu(tmp_path: Path) -> list[dict[str, str]]:
    """The compose-box menu of the app package `bridgebot teams-manifest` writes."""
    target = tmp_path / "teams.zip"
    result = CliRunner().invoke(
        cli,
        [
            "teams-manifest",
            "--app-id",
            APP_ID,
            "--url",
            "https://bridge.example.com",
            "-o",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as package:
        data = json.loads(package.read("manifest.json"))
    menu: list[dict[str, str]] = data["bots"][0]["commandLists"][0]["commands"]
    return menu


def slack_help(client: TestClient, fake: FakeSlack, replies_before: int) -> str:
    """What `/bridge help` shows in Slack (the Teams card and the console show the same reply)."""
    assert post_command(client, fake, "/bridge", "help") == 200
    reply = fake.wait_for("response_url", count=replies_before + 1)[-1].params
    return json.dumps(reply["blocks"], ensure_ascii=False)


def test_manifests_listeners_and_help_agree_with_the_router(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps, tmp_path: Path
) -> None:
    commands = slack_deps.router.commands()
    assert {command.name for command in commands} >= {"bridge", "jargon", "pulse", "win"}

    # Slack's manifest: one slash command per router command, with its own hints.
    listed = slack_manifest_commands()
    assert [entry["command"] for entry in listed] == [f"/{c.name}" for c in commands]
    for entry, command in zip(listed, commands, strict=True):
        assert entry["description"] == command.listed_description()
        assert entry.get("usage_hint", "") == command.usage_hint
        assert entry["should_escape"] is command.slack_escape
    # Only /bridge takes #channel, so only /bridge asks Slack for ids.
    assert [entry["command"] for entry in listed if entry["should_escape"]] == ["/bridge"]

    # Teams' menu: the adapter's own `help`, then each command's lines, each one typing a
    # command the router knows.
    menu = teams_menu(tmp_path)
    expected = [entry for command in commands for entry in command.teams_entries()]
    assert menu[1:] == [{"title": e.title, "description": e.description} for e in expected]
    assert menu[0]["title"] == "help"
    assert all(slack_deps.router.get(item["title"].split()[0]) for item in menu[1:])
    assert {item["title"].split()[0] for item in menu[1:]} == {c.name for c in commands}

    # Bolt listens for every one of them: each answers with its own usage line.
    answers = []
    for command in commands:
        body = slash_command_body(
            f"/{command.name}", CONTROL_CHARACTER, response_url=fake_slack.response_url()
        )
        response = slack_http.post("/slack/events", content=body, headers=slack_headers(body))
        assert response.status_code == 200
        if response.content:  # a command that only reads answers in its acknowledgement
            answers.append(response.json()["text"])
    later = len(commands) - len(answers)
    answers += [call.params["text"] for call in fake_slack.wait_for("response_url", later)]
    for command in commands:
        assert any(escape(command.usage) in answer for answer in answers), command.name
    # ...and for nothing else.
    assert post_command(slack_http, fake_slack, "/nosuch", "thing") == 404

    # Help shows every command's summary and help lines.
    shown = slack_help(slack_http, fake_slack, replies_before=later)
    for command in commands:
        assert escape(command.summary) in shown, command.name
        for line in command.help_lines:
            assert escape(line) in shown, line


# -- a new feature: its module and one line in FEATURES, nothing else ------------------------


def kudos(ctx: CommandContext, args: str) -> replies.Reply:
    return replies.message(replies.text("Kudos sent: ", args))


def register_kudos(router: CommandRouter, config: FeatureConfig) -> None:
    router.register(
        Command(
            name="kudos",
            summary="Thank someone on the other side",
            usage="/kudos @PERSON TEXT",
            help_lines=("/kudos @PERSON TEXT: thank someone for their help",),
            handler=kudos,
            description="Thank someone on the other side",
            usage_hint="@PERSON TEXT",
        )
    )


@pytest.fixture
def with_kudos(monkeypatch: pytest.MonkeyPatch) -> None:
    """bot/commands/kudos.py with only a register(), listed in FEATURES."""
    module = types.ModuleType("bot.commands.kudos")
    module.register = register_kudos  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.commands.kudos", module)
    monkeypatch.setattr(bot.commands, "FEATURES", (*bot.commands.FEATURES, "kudos"))


@pytest.fixture
def kudos_app(with_kudos: None, slack_settings: Settings) -> Iterator[TestClient]:
    """The whole app, built as it is at start-up, with the kudos feature in it."""
    deps = build_deps(slack_settings, upgrade_schema=False)
    try:
        with TestClient(create_web_app(deps)) as client:
            yield client
    finally:
        deps.engine.dispose()


def test_a_new_feature_module_reaches_both_manifests_slack_and_help(
    kudos_app: TestClient, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    slack_entry = {
        "command": "/kudos",
        "description": "Thank someone on the other side",
        "usage_hint": "@PERSON TEXT",
        "should_escape": False,
    }
    assert slack_entry in slack_manifest_commands()
    teams_entry = {"title": "kudos", "description": "Thank someone on the other side"}
    assert teams_entry in teams_menu(tmp_path)

    assert post_command(kudos_app, fake_slack, "/kudos", "Ada for the launch") == 200
    answer = fake_slack.wait_for("response_url")[0].params
    assert answer["response_type"] == "ephemeral"
    assert "Kudos sent: Ada for the launch" in answer["text"]

    shown = slack_help(kudos_app, fake_slack, replies_before=1)
    assert "Thank someone on the other side" in shown
    assert "/kudos @PERSON TEXT: thank someone for their help" in shown
