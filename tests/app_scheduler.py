"""The scheduler a running app built in its lifespan: the one its adapters wake."""

from __future__ import annotations

from fastapi.testclient import TestClient
from starlette.applications import Starlette

from schedules import Scheduler


def app_scheduler(client: TestClient) -> Scheduler:
    assert isinstance(client.app, Starlette)
    scheduler = client.app.state.scheduler
    assert isinstance(scheduler, Scheduler)
    return scheduler
