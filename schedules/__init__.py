"""APScheduler wiring: the jobs bridgebot runs on a clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.deps import Deps
from schedules import board, channel_posts, pulse, standups, sync
from schedules.jobs import register_builtin_deliveries, run_tick

__all__ = ["TICK_JOB_ID", "Scheduler", "create_scheduler", "run_tick", "tick_job"]

TICK_JOB_ID = "occurrence-tick"
# How long stopping waits for a tick in progress (e.g. one honouring a Slack Retry-After).
STOP_TIMEOUT_SECONDS = 10.0


class Scheduler(AsyncIOScheduler):
    """An AsyncIOScheduler that can stop without cancelling a tick in progress.

    Cancelling a tick mid-delivery leaves its occurrence claimed until the lease runs
    out, when another attempt sends it again: the duplicate the spec rules out.
    """

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self.jobs_in_progress = 0
        self.add_listener(
            self._count_jobs,
            EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED,
        )

    def _count_jobs(self, event: JobEvent) -> None:
        self.jobs_in_progress += 1 if event.code == EVENT_JOB_SUBMITTED else -1

    async def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Start no new tick, let the running one finish (at most `timeout`), shut down."""
        if not self.running:
            return
        self.pause()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.jobs_in_progress > 0 and loop.time() < deadline:
            await asyncio.sleep(0.02)
        self.shutdown(wait=False)


async def tick_job(deps: Deps) -> None:
    """The scheduled job: one tick, and another straight away if woken meanwhile."""
    while True:
        deps.wake_requested = False
        await run_tick(deps)
        if not deps.wake_requested:
            return


def create_scheduler(deps: Deps) -> Scheduler:
    """A scheduler (not started) with the per-minute tick registered.

    APScheduler keeps no state here (memory job store): the occurrences table is the
    source of truth, so every instance may run the same tick without duplicates.
    """
    register_builtin_deliveries(deps)
    channel_posts.register(deps)
    standups.register(deps)
    board.register(deps)
    pulse.register(deps)
    sync.register(deps)
    scheduler = Scheduler(timezone="UTC")
    scheduler.add_job(
        tick_job,
        CronTrigger(second=0, timezone="UTC"),
        args=[deps],
        id=TICK_JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=50,
        next_run_time=datetime.now(UTC),  # catch up straight after a restart (real time)
    )

    def wake() -> None:
        # A tick in progress runs again when done; otherwise one starts now.
        deps.wake_requested = True
        if scheduler.running and scheduler.jobs_in_progress == 0:
            scheduler.modify_job(TICK_JOB_ID, next_run_time=datetime.now(UTC))

    deps.wake = wake
    return scheduler
