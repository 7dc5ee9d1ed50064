"""Counting the requests the server hands to Bolt (lookups answered without it are not)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def count_bolt_requests(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A one-item list counting the requests handed to Bolt from now on."""
    handler = client.app.state.slack_handler  # type: ignore[attr-defined]
    handle = handler.handle
    counted = [0]

    async def counting(request: Any) -> Any:
        counted[0] += 1
        return await handle(request)

    monkeypatch.setattr(handler, "handle", counting)
    return counted
