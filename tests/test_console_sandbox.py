"""The console as a sandbox: several people, each with their own inbox and rights, a clock
that `:advance` moves on, one console per database delivering the scheduled messages."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import PulseAnswer
from handlers.console import SECOND_CONSOLE, run_console
from handlers.console_clock import DurationError, parse_duration
from handlers.console_files import save_file
from handlers.console_lock import SchedulerLock
from tests.clock import Clock
from tests.processes import bridgebot_command, clean_env, run_bridgebot, stop

# A Wednesday noon ahead of the real clock: nothing is due until the console moves on.
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def console(deps: Deps, lines: list[str], user: str = "alice") -> list[str]:
    """Type `lines` into a console started as `user`; return the printed lines."""
    output = io.StringIO()
    source = io.StringIO("\n".join(lines) + "\n")
    asyncio.run(
        asyncio.wait_for(
            run_console(deps, input_stream=source, output=output, user_ref=user), timeout=60
        )
    )
    return output.getvalue().splitlines()


def after(lines: list[str], marker: str, occurrence: int = 1) -> list[str]:
    """The lines printed after the `occurrence`-th line that starts with `marker`."""
    starts = [i for i, line in enumerate(lines) if line.startswith(marker)]
    assert len(starts) >= occurrence, f"{marker!r} printed too few times:\n" + "\n".join(lines)
    return lines[starts[occurrence - 1] + 1 :]


TEAM = ["/bridge channel #marketing-it", ":as bob marketing", ":as carol it", ":as alice"]


def test_a_direct_message_waits_for_its_recipient_whose_clicks_are_their_own(
    deps: Deps,
) -> None:
    lines = console(deps, [*TEAM, "/pulse now", "4", ":as bob", "4", ":as carol", ":who"])

    # Alice (no side) is not asked; she sees that messages arrived, never their content.
    assert "[a message for @bob: `:as bob` to read it]" in lines
    assert "[a message for @carol: `:as carol` to read it]" in lines
    bob_at = [i for i, line in enumerate(lines) if line == "You are @bob (Marketing)."][1]
    sent = lines[lines.index("Pulse sent to 2 people; it closes Fri 08 Mar 12:00 UTC.") : bob_at]
    assert not any(line.startswith("Weekly pulse") for line in sent)
    assert "! There is no button with that number on the last reply." in sent  # alice's "4"

    # Bob reads his inbox; his click answers as him.
    bob = after(lines, "You are @bob (Marketing).", 2)
    assert bob[0] == "1 message arrived for you:"
    assert bob[2] == "[direct message]"
    assert bob[3].startswith("Weekly pulse")
    carol = after(lines, "You are @carol (IT).", 2)
    assert carol[0] == "1 message arrived for you:"  # bob's click read nothing of hers
    assert "@alice: no side yet, admin" in lines
    assert "@bob: Marketing" in lines
    assert "@carol: IT  ← you" in lines

    with deps.session_factory() as session:
        answers = session.execute(select(func.count()).select_from(PulseAnswer)).scalar_one()
    assert answers == 1


def test_only_the_first_person_and_those_made_admins_have_admin_rights(deps: Deps) -> None:
    lines = console(
        deps,
        [
            ":as bob",
            "/bridge channel #bob-chat",
            ":as carol it admin",
            "/bridge channel #marketing-it",
            ":as alice",
            "/bridge channel #alice-chat",
            ":who",
        ],
    )
    assert lines.count("! Only workspace admins can choose the shared channel.") == 1
    assert any(
        line.startswith("Wins, challenges and digests will be posted in #marketing-it")
        for line in lines
    )
    assert any(
        line.startswith("Wins, challenges and digests will be posted in #alice-chat")
        for line in lines
    )
    assert "@bob: no side yet" in lines
    assert "@carol: IT, admin" in lines


def test_advance_delivers_what_falls_due_on_the_way_in_order_stamped_with_its_time(
    deps: Deps,
) -> None:
    lines = console(deps, [*TEAM, ":advance 1w", ":time", ":as bob"])

    stamps = [line for line in lines if line.startswith("[") and " · " in line]
    # Friday's board digest, then Monday's pulse (for Bob and Carol, told only that
    # something arrived), then its results on Wednesday.
    assert stamps[0] == "[Fri 08 Mar 16:00 · posted to marketing-it]"
    assert "board" in lines[lines.index(stamps[0]) + 1]  # the weekly board digest
    assert "[a message for @bob: `:as bob` to read it]" in lines
    assert stamps[1] == "[Wed 13 Mar 10:00 · posted to marketing-it]"  # the results
    assert "It is now Wednesday 13 March 2030, 12:00 (UTC)." in lines
    assert (
        "It is Wednesday 13 March 2030, 12:00 (UTC) in the console; 7d ahead of real time." in lines
    )
    bob = after(lines, "You are @bob (Marketing).", 2)
    assert bob[:3] == ["1 message arrived for you:", "", "[Mon 11 Mar 10:00 · direct message]"]


def test_odd_meta_commands_are_refused_with_the_way_to_write_them(deps: Deps) -> None:
    lines = console(
        deps,
        [
            "/bridge channel #marketing-it",
            ":as marketing-it",
            ":advance soon",
            ":advance",
            ":advance 0m",
            ":as",
            ":as 1bob",
            ":as eve purple",
            ":frob",
            ":time",
        ],
    )
    assert (
        "! “soon” is not a duration. Write minutes, hours, days or weeks such as 90m, 2h, 1d, 1w or 1d12h."
        in lines
    )
    assert "! How far? (Usage: :advance DURATION, e.g. :advance 90m, 1d, 1w)" in lines
    assert "! Advance by at least a minute (for example 1m)." in lines
    assert "! Whom should the console act as?" in lines
    assert "! #marketing-it is the shared channel; pick another name." in lines
    assert any(line.startswith("! “1bob” cannot be a name here") for line in lines)
    assert any(
        line.startswith("! “purple” is not a side (marketing, it, other) or admin")
        for line in lines
    )
    assert any(line.startswith("! There is no :frob here.") for line in lines)
    assert "It is Wednesday 06 March 2030, 12:00 (UTC) in the console." in lines  # not moved


def test_help_and_a_question_mark_list_every_command(deps: Deps) -> None:
    lines = console(deps, ["help", "?", "/help", ":help"])
    assert lines.count("== bridgebot ==") == 3
    assert any(line.startswith("  :advance DURATION") for line in lines)


def test_every_command_answers_help(deps: Deps) -> None:
    names = [command.name for command in deps.router.commands()]
    lines = console(deps, [f"/{name} help" for name in names])
    assert len(names) >= 6
    assert not [line for line in lines if line.startswith("!")]  # "/pulse has no help"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("1w", timedelta(weeks=1)),
        ("1d 12h", timedelta(days=1, hours=12)),
        ("1D2H30M", timedelta(hours=26, minutes=30)),
    ],
)
def test_durations_are_read_as_written(written: str, expected: timedelta) -> None:
    assert parse_duration(written) == expected


@pytest.mark.parametrize("written", ["", "5", "1y", "-1d", "1d-", "100w"])
def test_odd_durations_are_refused(written: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(written)


def test_a_file_is_saved_in_its_folder_and_never_overwrites_another(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    first = save_file(folder, "pulse.csv", b"first")
    second = save_file(folder, "pulse.csv", b"second")
    outside = save_file(folder, "../../escape.csv", b"third")

    assert first == (folder / "pulse.csv").resolve()
    assert first.read_bytes() == b"first"
    assert second == (folder / "pulse-2.csv").resolve()
    assert outside == (folder / "escape.csv").resolve()
    assert not (tmp_path / "escape.csv").exists()


def test_a_second_console_on_one_database_leaves_the_schedule_to_the_first(
    deps: Deps,
) -> None:
    first = SchedulerLock(deps.engine)
    try:
        assert first.held
        assert not SchedulerLock(deps.engine).held
        lines = console(deps, ["/bridge channel #marketing-it", "/win Shipped it", ":advance 1d"])
    finally:
        first.release()
    assert lines[0] == SECOND_CONSOLE
    assert not any(line.startswith("[posted to") for line in lines)  # the first one shows it
    assert any(line.startswith("! Another console on this database delivers") for line in lines)

    again = SchedulerLock(deps.engine)  # the first one gone, the next console owns it
    assert again.held
    again.release()


@pytest.mark.slow  # a real console process
def test_console_logs_go_to_a_file_and_ctrl_c_quits_at_once(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/console.db", LOG_LEVEL="INFO")
    process = subprocess.Popen(
        [*bridgebot_command(), "console", "--user", "alice"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("/bridge side purple\n")
        process.stdin.flush()
        assert process.stdout.readline().startswith("! “purple” is not a side.")
        # The console now waits for a line that never comes; Ctrl-C ends it all the same.
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    finally:
        stop(process)
    assert stderr == ""
    log = (tmp_path / "bridgebot-files" / "bridgebot-console.log").read_text()
    assert "INFO bot.router: refused: /bridge" in log


@pytest.mark.slow  # a real console process
def test_the_console_s_files_go_to_the_files_folder(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/console.db", LOG_LEVEL="WARNING")
    lines = ["/bridge side it", "/pulse export", "/pulse export"]
    result = run_bridgebot("console", cwd=tmp_path, env=env, stdin="\n".join(lines) + "\n")
    saved = sorted(path.name for path in (tmp_path / "bridgebot-files").glob("*.csv"))
    assert result.returncode == 0, result.stderr
    assert len(saved) == 2, result.stdout
    assert not list(tmp_path.glob("*.csv"))
