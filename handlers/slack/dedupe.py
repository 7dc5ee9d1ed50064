"""Bolt middleware: an event or click Slack sends twice (a retry) is handled once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.deps import Deps
from bot.services import dedupe

logger = logging.getLogger(__name__)


def request_key(body: dict[str, Any]) -> str | None:
    """A stable id for an event (event_id) or a click (its trigger_id); None for the rest."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("type") == "block_actions" and body.get("trigger_id"):
        return f"action:{body['trigger_id']}"
    return None


def register(app: AsyncApp, deps: Deps) -> None:
    async def skip_repeats(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        key = request_key(body)
        # Clicks are checked after their acknowledgement, in the transaction of their
        # effect (see run_in_context's once_key): a burst of clicks is acknowledged at once.
        if key is not None and not key.startswith("action:"):
            fresh = await asyncio.to_thread(_first_time, deps, key)
            if not fresh:
                logger.info("skipping a repeated Slack request (%s)", key.split(":", 1)[0])
                return BoltResponse(status=200, body="")
        await next()
        return None

    app.middleware(skip_repeats)


def _first_time(deps: Deps, key: str) -> bool:
    with deps.session_factory.begin() as session:
        return dedupe.first_time(session=session, key=key, now=deps.clock())
