"""Bolt middleware: an event or click Slack sends twice (a retry) is handled once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
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


class SkipRepeats(AsyncMiddleware):
    """Acknowledges an event Slack sends again without handling it twice.

    A middleware class: Bolt builds every listener argument for a function middleware,
    on every request, which costs more than this check on most requests.
    """

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        key = request_key(req.body)
        # Clicks are checked after their acknowledgement, in the transaction of their
        # effect (see run_in_context's once_key): a burst of clicks is acknowledged at once.
        if key is not None and not key.startswith("action:"):
            fresh = await asyncio.to_thread(_first_time, self._deps, key)
            if not fresh:
                logger.info("skipping a repeated Slack request (%s)", key.split(":", 1)[0])
                return BoltResponse(status=200, body="")
        await next()
        return resp


def register(app: AsyncApp, deps: Deps) -> None:
    app.middleware(SkipRepeats(deps))


def _first_time(deps: Deps, key: str) -> bool:
    with deps.session_factory.begin() as session:
        return dedupe.first_time(session=session, key=key, now=deps.clock())
