"""The weekly pulse on the clock with people away: no DM on time off or a holiday of one's
region, a DM on the first working day back while it is open, and it stays open for them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.deps import Deps
from bot.services import availability
from schedules import Scheduler
from tests.schedules.test_pulse_schedule import (
    IT,
    MARKETING,
    OPENS,
    WITH_A_SIDE,
    WS,
    Clock,
    RecordingNotifier,
    recorded,
    seed,
    the_poll,
    tick,
    wire,
)


@pytest.fixture
def clock() -> Clock:
    return Clock(OPENS)


@pytest.fixture
def scheduler(deps: Deps) -> Scheduler:
    return wire(deps, OPENS)


@pytest.fixture
def notifier(scheduler: Scheduler) -> RecordingNotifier:
    return recorded(scheduler)


def away(deps: Deps, user: str, first: date, last: date) -> None:
    with deps.session_factory.begin() as session:
        availability.add_time_off(
            session=session,
            workspace_id=WS,
            user_ref=user,
            first_day=first,
            last_day=last,
            today=date(2026, 3, 1),
            now=OPENS,
        )


def test_people_away_get_the_pulse_on_their_first_day_back_or_not_at_all(
    deps: Deps, notifier: RecordingNotifier, scheduler: Scheduler
) -> None:
    """Monday 2 March 2026, 10:00 Berlin, open 48 hours. One marketer is off on Monday
    (asked Tuesday 10:00); one IT person until Tuesday (to be asked Wednesday 10:00, so the
    pulse closes on Thursday 10:00 instead); another away all fortnight, never asked and
    not counted in the response rates."""
    seed(deps)
    away(deps, MARKETING[0], date(2026, 3, 2), date(2026, 3, 2))
    away(deps, IT[0], date(2026, 3, 2), date(2026, 3, 3))
    away(deps, IT[1], date(2026, 3, 2), date(2026, 3, 13))
    tick(scheduler, OPENS)
    tick(scheduler, OPENS + timedelta(minutes=1))
    first = sorted(post.conversation_ref for post in notifier.posts)
    assert first == sorted(set(WITH_A_SIDE) - {MARKETING[0], IT[0], IT[1]})
    poll = the_poll(deps)
    assert poll.closes_at == OPENS + timedelta(days=3)
    assert poll.invited == {"marketing": 3, "it": 2, "other": 1}

    tick(scheduler, OPENS + timedelta(days=1))
    assert [post.conversation_ref for post in notifier.posts[len(first) :]] == [MARKETING[0]]
    # IT[0] extends their time off on Tuesday evening: no DM on Wednesday after all.
    away(deps, IT[0], date(2026, 3, 4), date(2026, 3, 4))
    tick(scheduler, OPENS + timedelta(days=2))
    assert len(notifier.posts) == len(first) + 1
    tick(scheduler, OPENS + timedelta(days=2, hours=1))
    assert the_poll(deps).status == "open"  # open until Thursday, as set when it opened
    tick(scheduler, OPENS + timedelta(days=3))
    assert the_poll(deps).status == "closed"
    assert IT[1] not in [post.conversation_ref for post in notifier.posts]
