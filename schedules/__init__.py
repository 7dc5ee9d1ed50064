"""The jobs bridgebot runs on a clock: the scheduler, built with every feature's deliveries."""

from __future__ import annotations

from bot.deps import Deps
from bot.notify import Notifier
from schedules import board, channel_posts, pairs, pulse, standups, sync
from schedules.jobs import register_builtin_deliveries, run_tick
from schedules.scheduler import TICK_JOB_ID, Delivery, Planner, Scheduler

__all__ = ["TICK_JOB_ID", "Delivery", "Planner", "Scheduler", "create_scheduler", "run_tick"]


def create_scheduler(deps: Deps, notifier: Notifier) -> Scheduler:
    """The scheduler (not started) with every feature's deliveries and planners.

    Built after the notifier of the platform(s) that run, and before the adapters, which
    receive its `wake` to send what a command queued at once.
    """
    scheduler = Scheduler(deps, notifier)
    register_builtin_deliveries(scheduler)
    channel_posts.register(scheduler)
    standups.register(scheduler)
    board.register(scheduler)
    pulse.register(scheduler)
    sync.register(scheduler)
    pairs.register(scheduler)
    return scheduler
