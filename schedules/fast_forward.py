"""Simulated time: a clock moved by hand, and running everything due on the way forward."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.services import occurrences
from schedules.jobs import TickReport, run_tick
from schedules.scheduler import Scheduler

# Planners look a day or two ahead (pulses and digests one day, stand-ups two), so a
# jump never skips past a planning run that would have planned something on the way.
MAX_STEP = timedelta(hours=6)
RETRY_STEP = timedelta(minutes=1)


class MovableClock(Protocol):
    """A clock that time can be moved forward on (the console's, a demo's, a test's)."""

    def __call__(self) -> datetime: ...

    def move_to(self, moment: datetime) -> None: ...


Fired = Callable[[datetime, TickReport], Awaitable[bool]]


async def advance(
    scheduler: Scheduler,
    clock: MovableClock,
    until: datetime,
    *,
    workspace_id: str,
    fired: Fired | None = None,
) -> int:
    """Move `clock` forward to `until`, running the tick at every moment something of the
    workspace falls due on the way, in order, as a scheduler running all along would have.

    `fired` is awaited after each tick that delivered anything, before time moves on; if
    it answers True (someone will act on what arrived), the clock stops there.
    Returns how many deliveries were made.
    """
    sent = 0
    now = clock()
    while True:
        clock.move_to(now)
        now = clock()  # a clock that keeps flowing may be a little past it
        report = await run_tick(scheduler, now=now)
        sent += report.sent
        if report.claimed and fired is not None and await fired(now, report):
            return sent
        if now >= until:
            return sent
        upcoming = await asyncio.to_thread(_next_due, scheduler, workspace_id, now)
        # Something still due now was not deliverable this tick: try again a minute on.
        soonest = max(upcoming, now + RETRY_STEP) if upcoming else until
        now = min(soonest, now + MAX_STEP, until)


def _next_due(scheduler: Scheduler, workspace_id: str, after: datetime) -> datetime | None:
    with scheduler.deps.session_factory() as session:
        return occurrences.next_due(session=session, workspace_id=workspace_id, now=after)
