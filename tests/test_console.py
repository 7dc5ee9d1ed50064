"""`bridgebot console`: the same commands in a terminal, scheduled messages printed as they fire."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bot.deps import Deps
from bot.models import Standup
from bot.services import occurrences, workspaces
from handlers.console import CONSOLE_WORKSPACE, ConsoleNotifier
from schedules import create_scheduler
from schedules.jobs import run_tick
from tests.processes import clean_env, run_bridgebot


def console(tmp_path: Path, lines: list[str]) -> str:
    """Pipe `lines` into `bridgebot console --user alice`; return what it printed."""
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/console.db", LOG_LEVEL="WARNING")
    result = run_bridgebot(
        "console", "--user", "alice", cwd=tmp_path, env=env, stdin="\n".join(lines) + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


@pytest.mark.slow  # a real console process
def test_console_runs_commands_and_prints_replies(tmp_path: Path) -> None:
    out = console(
        tmp_path,
        [
            "/bridge help",
            "/bridge side it",
            "/bridge side purple",
            "bridge frobnicate",
            "/nosuch thing",
        ],
    )
    lines = out.splitlines()

    assert "== bridgebot ==" in lines
    for command in ("/bridge side marketing|it|other", "/jargon TERM", "/standup", "/win TEXT"):
        assert any(line.startswith(command) for line in lines), command
    assert "Done: you are on the IT side." in lines
    assert "! “purple” is not a side. Choose marketing, it or other." in lines
    assert "  (Usage: /bridge side marketing|it|other)" in lines
    assert "! /bridge has no “frobnicate” option." in lines
    assert any(line.startswith("  (Usage: /bridge [help") for line in lines)
    assert any(line.startswith("! There is no /nosuch command here.") for line in lines)

    # The console works on the local database: the side is still there next time.
    again = console(tmp_path, ["/bridge side"])
    assert again.splitlines() == ["You are on the IT side."]


def test_scheduled_messages_are_printed_when_they_fire(deps: Deps) -> None:
    output = io.StringIO()
    # Every delivery registered, as run_console does; not started.
    scheduler = create_scheduler(deps, ConsoleNotifier(output))
    due = deps.clock().replace(microsecond=0) + timedelta(minutes=5)
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=CONSOLE_WORKSPACE, platform="console", timezone="UTC"
        )
        occurrences.schedule(
            session=session,
            workspace_id=CONSOLE_WORKSPACE,
            kind="post",
            subject_ref="hello",
            due_at=due,
            payload={"conversation_ref": "marketing-it", "text": "Stand-up in 15 minutes"},
        )

    early = asyncio.run(run_tick(scheduler, now=due - timedelta(minutes=1)))
    assert early.sent == 0
    assert output.getvalue() == ""

    on_time = asyncio.run(run_tick(scheduler, now=due))
    assert on_time.sent == 1
    assert output.getvalue() == "\n[posted to marketing-it]\nStand-up in 15 minutes\n"

    asyncio.run(run_tick(scheduler, now=due + timedelta(minutes=1)))
    assert output.getvalue().count("Stand-up in 15 minutes") == 1


def test_a_multi_line_form_field_continues_while_lines_end_with_a_backslash(
    tmp_path: Path,
) -> None:
    form = [
        "/standup",
        "Async check-in",  # name
        "#general",  # channel
        "weekdays",
        "10:00",
        "Europe/London",
        "async",  # mode
        "",  # call link
        "What shipped? \\",  # questions, three lines
        "What is blocked?\\",
        "  Who can help across sides?",
        "chosen",  # audience
        "alice",  # people
        "",  # lead: the default
        "30",  # minutes to answer
        "",  # and Enter for every field left: their defaults
        "",
        "",
    ]
    out = console(tmp_path, form)

    assert "Created stand-up 1: Async check-in." in out
    assert "async · 1 person" in out
    engine = create_engine(f"sqlite:///{tmp_path}/console.db")
    with engine.connect() as connection:
        stored = connection.execute(select(Standup.questions)).scalar_one()
    engine.dispose()
    assert stored == ["What shipped?", "What is blocked?", "Who can help across sides?"]
