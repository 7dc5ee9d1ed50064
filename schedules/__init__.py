"""APScheduler wiring: the jobs bridgebot runs on a clock."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.deps import Deps
from schedules import board, pulse, standups
from schedules.jobs import register_builtin_deliveries, run_tick

TICK_JOB_ID = "occurrence-tick"


def create_scheduler(deps: Deps) -> AsyncIOScheduler:
    """A scheduler (not started) with the per-minute tick registered.

    APScheduler keeps no state here (memory job store): the occurrences table is the
    source of truth, so every instance may run the same tick without duplicates.
    """
    register_builtin_deliveries(deps)
    standups.register(deps)
    board.register(deps)
    pulse.register(deps)
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        run_tick,
        CronTrigger(second=0, timezone="UTC"),
        args=[deps],
        id=TICK_JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=50,
        next_run_time=deps.clock(),  # catch up straight after a restart
    )
    return scheduler
