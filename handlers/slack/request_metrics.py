"""Counts and times every request Slack sends, by kind (command, block_actions, event, ...)."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

from fastapi import Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

from bot.metrics import HANDLER_SECONDS, REQUESTS


def request_kind(body: bytes) -> str:
    """The kind of Slack request, read from its body without trusting it for anything else."""
    raw = body.decode("utf-8", errors="replace")
    if raw.startswith("{"):
        try:
            return str(json.loads(raw).get("type", "unknown"))
        except (ValueError, AttributeError):
            return "unknown"
    form = parse_qs(raw)
    if "command" in form:
        return "command"
    if "payload" in form:
        try:
            return str(json.loads(form["payload"][0]).get("type", "unknown"))
        except (ValueError, AttributeError):
            return "unknown"
    return "unknown"


async def handle_measured(handler: AsyncSlackRequestHandler, request: Request) -> Response:
    """Pass the request to Bolt, recording how long the acknowledgement took."""
    kind = request_kind(await request.body()) if request.method == "POST" else "oauth"
    started = time.perf_counter()
    response = await handler.handle(request)
    HANDLER_SECONDS.labels(platform="slack", kind=kind).observe(time.perf_counter() - started)
    outcome = "ok" if response.status_code < 400 else str(response.status_code)
    REQUESTS.labels(platform="slack", kind=kind, outcome=outcome).inc()
    return response
