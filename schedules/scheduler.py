"""The scheduler: what the tick delivers and where it posts, the clock that runs it, wake()."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.notify import Notifier
from bot.services.occurrences import ClaimedOccurrence
from schedules.jobs import run_tick

TICK_JOB_ID = "occurrence-tick"
# How long stopping waits for a tick in progress (e.g. one honouring a Slack Retry-After).
STOP_TIMEOUT_SECONDS = 10.0

Delivery = Callable[[ClaimedOccurrence, "Scheduler"], Awaitable[None]]
Planner = Callable[[Session, datetime], object]


class Scheduler(AsyncIOScheduler):
    """Runs the occurrence tick every minute, or at once when woken.

    Built with the core deps and the notifier of the platform(s) that run; each feature
    then registers its deliveries and planners (schedules.create_scheduler does it all)
    before the scheduler starts. Deliveries receive it for `deps`, `notifier` and `wake`.

    APScheduler keeps no state here (memory job store): the occurrences table is the
    source of truth, so every instance may run the same tick without duplicates.
    """

    def __init__(self, deps: Deps, notifier: Notifier) -> None:
        super().__init__(timezone="UTC")
        self.deps = deps
        self.notifier = notifier
        self._deliveries: dict[str, Delivery] = {}
        self._planners: list[Planner] = []
        self._persistent_kinds: set[str] = set()
        self._tick_started: list[Callable[[], None]] = []
        self._wake_requested = False
        self.jobs_in_progress = 0
        self.add_listener(
            self._count_jobs,
            EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED,
        )
        self.add_job(
            self.tick_until_settled,
            CronTrigger(second=0, timezone="UTC"),
            id=TICK_JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=50,
            next_run_time=datetime.now(UTC),  # catch up straight after a restart (real time)
        )

    # -- the registry, filled by each feature's register(scheduler) --------------------

    def add_delivery(self, kind: str, delivery: Delivery, *, persistent: bool = False) -> None:
        """Deliver occurrences of `kind` with `delivery`.

        A persistent kind is one a person waits for (their own post): never recorded as
        missed, retried until it goes out or the platform refuses it for good.
        """
        if kind in self._deliveries:
            raise ValueError(f"a delivery for {kind!r} is registered already")
        self._deliveries[kind] = delivery
        if persistent:
            self._persistent_kinds.add(kind)

    def add_planner(self, planner: Planner) -> None:
        """Run `planner` at the start of every tick, in one transaction with the others."""
        self._planners.append(planner)

    def on_tick_started(self, hook: Callable[[], None]) -> None:
        """Call `hook` as each tick starts (a delivery's per-tick cache starts afresh)."""
        self._tick_started.append(hook)

    def delivery_for(self, kind: str) -> Delivery | None:
        return self._deliveries.get(kind)

    @property
    def planners(self) -> tuple[Planner, ...]:
        return tuple(self._planners)

    @property
    def persistent_kinds(self) -> frozenset[str]:
        return frozenset(self._persistent_kinds)

    @property
    def tick_started_hooks(self) -> tuple[Callable[[], None], ...]:
        return tuple(self._tick_started)

    # -- running ---------------------------------------------------------------------

    def wake(self) -> None:
        """Run the tick now rather than at the next minute (a post was just queued).

        A tick in progress runs again when done; otherwise one starts now.
        """
        self._wake_requested = True
        if self.running and self.jobs_in_progress == 0:
            self.modify_job(TICK_JOB_ID, next_run_time=datetime.now(UTC))

    async def tick_until_settled(self) -> None:
        """The scheduled job: one tick, and another straight away if woken meanwhile."""
        while True:
            self._wake_requested = False
            await run_tick(self)
            if not self._wake_requested:
                return

    def _count_jobs(self, event: JobEvent) -> None:
        self.jobs_in_progress += 1 if event.code == EVENT_JOB_SUBMITTED else -1

    async def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Start no new tick, let the running one finish (at most `timeout`), shut down.

        Cancelling a tick mid-delivery leaves its occurrence claimed until the lease runs
        out, when another attempt sends it again: the duplicate the spec rules out.
        """
        if not self.running:
            return
        self.pause()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.jobs_in_progress > 0 and loop.time() < deadline:
            await asyncio.sleep(0.02)
        self.shutdown(wait=False)
