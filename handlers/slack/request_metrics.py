"""Counts and times every request Slack sends, by kind (command, block_actions, event, ...)."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs

from fastapi import Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

from bot.metrics import HANDLER_SECONDS, REQUESTS
from handlers.slack.render import action_name

logger = logging.getLogger(__name__)


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
    """Pass the request to Bolt, recording how long the acknowledgement took.

    One log line per request: kind, workspace, command or action id, status and
    latency; never the text people typed.
    """
    body = await request.body() if request.method == "POST" else b""
    kind = request_kind(body) if body else "oauth"
    started = time.perf_counter()
    response = await handler.handle(request)
    elapsed = time.perf_counter() - started
    HANDLER_SECONDS.labels(platform="slack", kind=kind).observe(elapsed)
    outcome = "ok" if response.status_code < 400 else str(response.status_code)
    REQUESTS.labels(platform="slack", kind=kind, outcome=outcome).inc()
    team, what = request_labels(body)
    logger.info(
        "slack request kind=%s team=%s what=%s status=%d ack_ms=%.1f",
        kind,
        team,
        what,
        response.status_code,
        elapsed * 1000,
    )
    return response


def request_labels(body: bytes) -> tuple[str, str]:
    """(workspace, command or action/callback id) for the log line; nothing a person typed."""
    raw = body.decode("utf-8", errors="replace")
    try:
        if raw.startswith("{"):
            data = json.loads(raw)
            return str(data.get("team_id", "-")), str((data.get("event") or {}).get("type", "-"))
        form = parse_qs(raw)
        if "command" in form:
            return form.get("team_id", ["-"])[0], form["command"][0]
        payload = json.loads(form["payload"][0]) if "payload" in form else {}
    except (ValueError, KeyError, AttributeError):
        return "-", "-"
    team = str((payload.get("team") or {}).get("id", "-"))
    actions = payload.get("actions") or []
    # Without the button's position: on a pulse scale the position is the answer.
    if actions:
        return team, action_name(str(actions[0].get("action_id", ""))) or "-"
    what = (payload.get("view") or {}).get("callback_id") or payload.get("callback_id")
    return team, str(what or "-")
