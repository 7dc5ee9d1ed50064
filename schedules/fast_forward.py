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
# Ticks at one moment while each makes more due at once (open, plan, deliver); past that,
# what stays due could not be delivered, and is tried again a RETRY_STEP later.
TICKS_AT_ONE_MOMENT = 3


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
    max_step: timedelta = MAX_STEP,
) -> int:
    """Move `clock` forward to `until`, running the tick at every moment something of the
    workspace falls due on the way, in order, as a scheduler running all along would have.

    `fired` is awaited after each tick that delivered anything, before time moves on; if
    it answers True (someone will act on what arrived), the clock stops there. No step
    is longer than `max_step`. Returns how many deliveries were made.
    """
    sent = 0
    now = clock()
    ticks_here = 1
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
        if upcoming is not None and upcoming <= now and ticks_here < TICKS_AT_ONE_MOMENT:
            # Made due by this very tick (a pulse opens, then its DMs are planned): they go
            # out stamped with this moment, as a scheduler running all along would send them.
            ticks_here += 1
            continue
        ticks_here = 1
        if upcoming is None:
            soonest = until
        elif upcoming > now:
            soonest = upcoming  # the next due time, or a put-off message's "not before"
        else:  # still due after several ticks here: not deliverable now, try a minute on
            soonest = now + RETRY_STEP
        now = min(soonest, now + max_step, until)


def _next_due(scheduler: Scheduler, workspace_id: str, after: datetime) -> datetime | None:
    with scheduler.deps.session_factory() as session:
        return occurrences.next_due(session=session, workspace_id=workspace_id, now=after)
