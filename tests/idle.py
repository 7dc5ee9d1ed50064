"""Waiting until the app is idle, before asserting that something did NOT happen.

A sleep before such an assertion either wastes time or, on a slow machine, passes
while the work it should have caught is still under way. Waiting for the app to have
nothing left to do does neither.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.base import STATE_RUNNING
from fastapi.testclient import TestClient
from starlette.applications import Starlette

from schedules import TICK_JOB_ID

IDLE_TIMEOUT_SECONDS = 10.0


def wait_until_idle(client: TestClient, timeout: float = IDLE_TIMEOUT_SECONDS) -> None:
    """Block until the app behind `client` (inside its `with`) has no work left after the
    answers it gave, and its scheduler no tick running or due (a wake() it was given)."""
    assert client.portal is not None, "use the client inside `with TestClient(...)`"
    assert isinstance(client.app, Starlette)
    client.portal.call(_idle, client.app.state, timeout)


async def _idle(state: Any, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            await state.background.wait_idle()
            # Checked with no await since the work drained: none can have started meanwhile.
            if _scheduler_idle(getattr(state, "scheduler", None)):
                return
            await asyncio.sleep(0.01)  # a tick is under way or about to start: let it run


def _scheduler_idle(scheduler: Any) -> bool:
    if scheduler is None or scheduler.state != STATE_RUNNING:  # paused or stopped: runs none
        return True
    if scheduler.jobs_in_progress:
        return False
    job = scheduler.get_job(TICK_JOB_ID)
    # A wake() moves the tick's next run to now: until it has run, the tick is due.
    return job is None or job.next_run_time is None or job.next_run_time > datetime.now(UTC)
