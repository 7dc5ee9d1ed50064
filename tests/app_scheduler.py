"""The scheduler a running app built in its lifespan: the one its adapters wake."""

from __future__ import annotations

from fastapi.testclient import TestClient

from schedules import Scheduler


def app_scheduler(client: TestClient) -> Scheduler:
    scheduler = client.app.state.scheduler  # type: ignore[attr-defined]
    assert isinstance(scheduler, Scheduler)
    return scheduler
