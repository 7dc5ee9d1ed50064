"""Posting limits: per person and per workspace, counted from the database, exact under races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db import make_engine, make_session_factory
from bot.deps import Deps
from bot.models import BoardPost
from bot.services import board, posting_limits, pulse, workspaces
from bot.services.posting_limits import PostingLimitReached, PostingLimits

WS, OTHER_WS = "T0LIMITS", "T0ELSEWHERE"
ANN, BEN = "U0ANN", "U0BEN"
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
LIMITS = PostingLimits(per_person_minute=3, per_person_day=5, per_workspace_hour=8)


@pytest.fixture(autouse=True)
def _workspaces(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        for workspace_id in (WS, OTHER_WS):
            workspaces.ensure_workspace(
                session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
            )


def post_win(deps: Deps, author: str, at: datetime, workspace_id: str = WS) -> None:
    """A win posted the way commands do: the limit checked in the transaction that stores it."""
    with deps.session_factory.begin() as session:
        posting_limits.check(
            session=session, workspace_id=workspace_id, author_ref=author, now=at, limits=LIMITS
        )
        board.create_post(
            session=session,
            workspace_id=workspace_id,
            kind="win",
            author_ref=author,
            text="Shipped it",
            channel_ref="C0SHARED",
            now=at,
        )


def refusal(deps: Deps, author: str, at: datetime) -> str:
    with pytest.raises(PostingLimitReached) as refused:
        post_win(deps, author, at)
    return str(refused.value)


def stored(deps: Deps) -> int:
    with deps.session_factory() as session:
        return session.scalar(select(func.count()).select_from(BoardPost)) or 0


def test_over_the_minute_limit_the_person_is_told_when_they_can_post_again(deps: Deps) -> None:
    for seconds in (50, 30, 10):
        post_win(deps, ANN, NOW - timedelta(seconds=seconds))

    message = refusal(deps, ANN, NOW)
    assert "You have posted 3 times in the last minute" in message
    assert "this one was not posted" in message
    assert "You can post again in 10 seconds." in message  # when the post of 50 s ago expires
    assert stored(deps) == 3

    post_win(deps, BEN, NOW)  # someone else is not held back
    post_win(deps, ANN, NOW + timedelta(seconds=10))  # and Ann can, once a post leaves the minute
    assert stored(deps) == 5


def test_the_day_limit_counts_the_last_24_hours(deps: Deps) -> None:
    for hours in (20, 15, 10, 5, 1):
        post_win(deps, ANN, NOW - timedelta(hours=hours))

    message = refusal(deps, ANN, NOW)
    assert "You have posted 5 times in the last 24 hours" in message
    assert "You can post again in 4 hours." in message
    post_win(deps, ANN, NOW + timedelta(hours=4))


def test_quick_polls_count_with_wins_and_challenges(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        for seconds in (40, 20):
            pulse.create_adhoc(
                session=session,
                workspace_id=WS,
                question="Lunch?",
                options=["Yes", "No"],
                author_ref=ANN,
                channel_ref="C0TEAM",
                now=NOW - timedelta(seconds=seconds),
            )
    post_win(deps, ANN, NOW - timedelta(seconds=5))

    assert "3 times in the last minute" in refusal(deps, ANN, NOW)


def test_the_workspace_limit_holds_for_everyone_together(deps: Deps) -> None:
    people = [f"U0P{n}" for n in range(4)]
    for n in range(8):
        post_win(deps, people[n % 4], NOW - timedelta(minutes=50 - n))

    message = refusal(deps, BEN, NOW)  # Ben has not posted at all
    assert "This workspace has had 8 posts in the last hour" in message
    assert "Anyone can post again in 10 minutes." in message
    post_win(deps, BEN, NOW, workspace_id=OTHER_WS)  # other workspaces are not affected
    post_win(deps, BEN, NOW + timedelta(minutes=10))


def test_the_limit_is_exact_when_many_processes_post_at_once(deps: Deps) -> None:
    """Each poster has its own engine, as separate processes would: the limit is not raced."""
    attempts = 12
    start = threading.Barrier(attempts)
    outcomes: list[str] = []

    def attempt() -> None:
        engine = make_engine(deps.settings.database_url)
        try:
            factory = make_session_factory(engine)
            start.wait()
            with factory.begin() as session:
                posting_limits.check(
                    session=session, workspace_id=WS, author_ref=ANN, now=NOW, limits=LIMITS
                )
                board.create_post(
                    session=session,
                    workspace_id=WS,
                    kind="win",
                    author_ref=ANN,
                    text="Burst",
                    channel_ref="C0SHARED",
                    now=NOW,
                )
            outcomes.append("posted")
        except PostingLimitReached:
            outcomes.append("refused")
        finally:
            engine.dispose()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["posted"] * 3 + ["refused"] * (attempts - 3)
    assert stored(deps) == 3
