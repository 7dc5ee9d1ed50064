"""`bridgebot demo`: a generated workspace lives its weeks through the real commands,
buttons and scheduler, in a database of its own."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import GlossaryTerm, Side, StandupAnswer
from bot.replies import Heading
from bot.services import board, pulse
from handlers.console_clock import ConsoleClock
from handlers.demo.cast import PEOPLE, STANDUP_NAME
from handlers.demo.simulation import WORKSPACE, DemoNotifier, live_weeks
from schedules import create_scheduler
from tests.processes import clean_env, run_bridgebot

START = datetime(2026, 10, 24, 8, 0, tzinfo=UTC)  # a Saturday
WEEKS = 4


@pytest.fixture
def clock() -> ConsoleClock:
    """The demo's clock, from a fixed Saturday; it moves only when the demo moves it."""
    return ConsoleClock(lambda: START)


def side_of(user_ref: str) -> Side:
    return next(person.side for person in PEOPLE if person.user_ref == user_ref)


@pytest.mark.slow  # four simulated weeks take a few seconds
def test_the_demo_workspace_lives_its_weeks(deps: Deps, clock: ConsoleClock) -> None:
    notifier = DemoNotifier(clock)
    scheduler = create_scheduler(deps, notifier)
    story: list[str] = []
    tally = asyncio.run(
        live_weeks(deps, clock, scheduler, notifier, weeks=WEEKS, seed=15, narrate=story.append)
    )

    assert clock() >= START + timedelta(weeks=WEEKS)
    # The async stand-up ran Monday, Wednesday and Friday, but on the holiday it skipped.
    digest_days = [
        posted.at.date()
        for posted in tally.channel_posts
        if isinstance(heading := posted.reply.blocks[0], Heading)
        and heading.text.startswith(STANDUP_NAME)
    ]
    skipped = [line for line in story if "skipped the stand-up" in line]
    assert len(skipped) == 1
    holiday = next(
        day
        for day in (START.date() + timedelta(days=n) for n in range(WEEKS * 7))
        if f"{day:%A %d %B}" in skipped[0]
    )
    assert holiday.weekday() in (0, 2, 4)
    assert holiday not in digest_days
    assert len(digest_days) == 3 * WEEKS - 1
    assert all(day.weekday() in (0, 2, 4) for day in digest_days)

    with deps.session_factory() as session:
        # People of both sides answered every stand-up.
        answered = session.execute(
            select(StandupAnswer.local_date, StandupAnswer.user_ref).where(
                StandupAnswer.workspace_id == WORKSPACE
            )
        ).all()
        for day in digest_days:
            sides = {side_of(user_ref) for local_date, user_ref in answered if local_date == day}
            assert {Side.MARKETING, Side.IT} <= sides, day
        assert not [row for row in answered if row.local_date == holiday]

        # Wins were celebrated; every challenge found help on the other side and was resolved.
        wins = board.recent(session=session, workspace_id=WORKSPACE, kind="win", limit=100)
        challenges = board.recent(
            session=session, workspace_id=WORKSPACE, kind="challenge", limit=100
        )
        assert len(wins) >= WEEKS and all(win.celebrators for win in wins)
        assert len(challenges) >= WEEKS
        for challenge in challenges:
            assert challenge.author_side is not None
            assert challenge.helpers, challenge.text
            assert all(
                side not in (challenge.author_side, Side.OTHER) for _, side in challenge.helpers
            )
        assert all(challenge.status == board.RESOLVED for challenge in challenges[2:])

        # Each side looked up the other side's words in the starter glossary.
        looked_up = session.execute(
            select(func.sum(GlossaryTerm.view_count)).where(GlossaryTerm.workspace_id == WORKSPACE)
        ).scalar_one()
        assert looked_up == tally.counts["glossary lookup"] > 0

        # A weekly pulse each Monday; the gap between the sides narrows from first to last.
        history = pulse.trend(session=session, workspace_id=WORKSPACE, weeks=WEEKS)
    assert [result.poll.opened_at.date() for result in history] == [
        date(2026, 10, 26) + timedelta(weeks=n) for n in range(WEEKS)
    ]

    def mean_gap(index: int) -> float:
        gaps = [question.gap for question in history[index].questions]
        assert None not in gaps  # both sides answered enough to show
        return sum(gap for gap in gaps if gap is not None) / len(gaps)

    assert mean_gap(0) < -30  # marketing far less convinced than IT at first
    assert abs(mean_gap(-1)) < abs(mean_gap(0)) - 10


def demo(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/real.db",
        BRIDGEBOT_FILES_DIR=str(tmp_path / "files"),
        LOG_LEVEL="WARNING",
    )
    result = run_bridgebot("demo", *args, cwd=tmp_path, env=env, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


@pytest.mark.slow  # a real process living two weeks
def test_piped_demo_prints_the_results_and_writes_the_chart(tmp_path: Path) -> None:
    code, out, _ = demo(tmp_path, "--weeks", "2")

    assert code == 0
    assert "30 made-up people" in out and "generated" in out
    assert "Pulse trend: % agree by side, last 2 pulses" in out
    assert "Perception gap" in out
    assert "stand-up answers" in out and "challenges resolved" in out
    assert (tmp_path / "files" / "pulse-trend.png").read_bytes().startswith(b"\x89PNG")
    # Piped, it stops there rather than reading console commands.
    assert "bridgebot>" not in out
    # Its own database, deleted at the end: the real one was never made.
    assert not (tmp_path / "real.db").exists()
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.slow  # real processes
def test_the_demo_replaces_only_a_demo_database(tmp_path: Path) -> None:
    real = tmp_path / "team.db"
    with sqlite3.connect(real) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('keep me')")
    code, out, err = demo(tmp_path, "--weeks", "1", "--database", str(real))
    assert code == 2
    assert "is not a demo database" in err and out == ""
    with sqlite3.connect(real) as db:
        assert db.execute("SELECT text FROM notes").fetchall() == [("keep me",)]

    code, out, err = demo(tmp_path, "--weeks", "1", "--database", str(real / "inside.db"))
    assert code == 2
    assert f"cannot make the demo database {real / 'inside.db'}" in err

    kept = tmp_path / "demo.db"
    for _ in range(2):  # the second run replaces the first one's database
        code, out, err = demo(tmp_path, "--weeks", "1", "--database", str(kept))
        assert code == 0, err
    with sqlite3.connect(kept) as db:
        weekly = db.execute("SELECT count(*) FROM pulse_polls").fetchone()[0]
        people = db.execute("SELECT count(*) FROM people").fetchone()[0]
    assert weekly == 1 and people == len(PEOPLE)
