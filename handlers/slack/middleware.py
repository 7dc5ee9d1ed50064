"""Bolt middleware that measures how fast each kind of request is acknowledged."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.metrics import HANDLER_SECONDS, REQUESTS


def request_kind(body: dict[str, object]) -> str:
    if "command" in body:
        return "command"
    kind = body.get("type")
    return str(kind) if kind else "unknown"


async def measure_requests(
    req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
) -> BoltResponse:
    kind = request_kind(req.body)
    started = time.perf_counter()
    response = await next()
    HANDLER_SECONDS.labels(platform="slack", kind=kind).observe(time.perf_counter() - started)
    outcome = "ok" if response.status < 400 else str(response.status)
    REQUESTS.labels(platform="slack", kind=kind, outcome=outcome).inc()
    return response
