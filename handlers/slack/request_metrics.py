"""Counts and times every request Slack sends, by kind (command, block_actions, event, ...).

Only a request whose signature checks out is described: an unsigned one is refused here,
counted under kind "unverified" and logged in a fixed line, so nothing an outsider sends
becomes a metric label or log text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

from bot.metrics import HANDLER_SECONDS, REQUEST_WAIT_SECONDS, REQUESTS, SHED
from handlers.arrival import waited_since_arrival
from handlers.slack.background import AnswerLag
from handlers.slack.lookups_in_ack import LookupsInAck
from handlers.slack.render import action_name
from handlers.slack.signature import SlackSignature

logger = logging.getLogger(__name__)

# Every kind a metric label may take; any other type Slack sends counts as "other".
KINDS = frozenset(
    {
        "command",
        "oauth",
        "event_callback",
        "url_verification",
        "app_rate_limited",
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "interactive_message",
        "dialog_submission",
    }
)
UNVERIFIED = "unverified"
BUSY_TEXT = "bridgebot is busy, try again in a moment: your command was not run."
BUSY_BODY = json.dumps({"response_type": "ephemeral", "text": BUSY_TEXT}).encode()
REFUSED_BODY = b'{"error": "invalid request"}'


@dataclass(frozen=True)
class RequestLabels:
    """What a request is, for metrics and the log line; never anything a person typed."""

    kind: str  # command, block_actions, event_callback, view_submission, oauth, ...
    team: str = "-"
    what: str = "-"  # the command, event type, action id or callback id


def describe(body: bytes) -> RequestLabels:
    """Labels read from the body (once), without trusting it for anything else."""
    if not body:
        return RequestLabels("oauth")
    raw = body.decode("utf-8", errors="replace")
    try:
        if raw.startswith("{"):
            data = json.loads(raw)
            event_type = (data.get("event") or {}).get("type", "-")
            return RequestLabels(
                _kind(data.get("type")), str(data.get("team_id", "-")), str(event_type)
            )
        form = parse_qs(raw)
        if "command" in form:
            return RequestLabels("command", form.get("team_id", ["-"])[0], form["command"][0])
        if "payload" not in form:
            return RequestLabels("unknown")
        payload = json.loads(form["payload"][0])
    except (ValueError, KeyError, AttributeError):
        return RequestLabels("unknown")
    if not isinstance(payload, dict):
        return RequestLabels("unknown")
    kind = _kind(payload.get("type"))
    team = str((payload.get("team") or {}).get("id", "-"))
    actions = payload.get("actions") or []
    # Without the button's position: on a pulse scale the position is the answer.
    if actions:
        return RequestLabels(kind, team, action_name(str(actions[0].get("action_id", ""))) or "-")
    what = (payload.get("view") or {}).get("callback_id") or payload.get("callback_id")
    return RequestLabels(kind, team, str(what or "-"))


def _kind(value: object) -> str:
    return value if isinstance(value, str) and value in KINDS else "other"


async def handle_measured(
    handler: AsyncSlackRequestHandler,
    request: Request,
    signature: SlackSignature,
    lag: AnswerLag | None = None,
    lookups: LookupsInAck | None = None,
) -> Response:
    """Pass a signed request to Bolt, recording how long the acknowledgement took.

    One log line per request: kind, workspace, command or action id, status and
    latency; never the text people typed. A POST without a valid signature gets 401
    before anything is read from its body. A slash command whose answer would come
    later than `lag` allows, or that has waited in front of the server (see
    handlers.arrival) for much of that already, is refused at once, before Bolt or the
    database sees it.
    A lookup is answered by `lookups` without Bolt when it can be.
    """
    body = await request.body() if request.method == "POST" else b""
    if request.method == "POST" and not signature.is_valid(body, request.headers):
        REQUESTS.labels(platform="slack", kind=UNVERIFIED, outcome="401").inc()
        logger.info("slack request refused: missing, malformed or wrong signature (401)")
        return Response(REFUSED_BODY, status_code=401, media_type="application/json")
    labels = describe(body)
    waited = waited_since_arrival(request.scope, asyncio.get_running_loop().time())
    REQUEST_WAIT_SECONDS.observe(waited)
    if labels.kind == "command" and lag is not None and lag.busy(waited=waited):
        return refuse_busy(labels)
    started = time.perf_counter()
    response = await lookups.answer(body) if lookups and labels.kind == "command" else None
    if response is None:
        response = await handler.handle(request)
    elapsed = time.perf_counter() - started
    HANDLER_SECONDS.labels(platform="slack", kind=labels.kind).observe(elapsed)
    outcome = "ok" if response.status_code < 400 else str(response.status_code)
    REQUESTS.labels(platform="slack", kind=labels.kind, outcome=outcome).inc()
    logger.info(
        "slack request kind=%s team=%s what=%s status=%d ack_ms=%.1f",
        labels.kind,
        labels.team,
        labels.what,
        response.status_code,
        elapsed * 1000,
    )
    return response


def refuse_busy(labels: RequestLabels) -> Response:
    """Slack's acknowledgement of a command shed under load: its author reads why at once."""
    SHED.labels(platform="slack", kind=labels.kind).inc()
    REQUESTS.labels(platform="slack", kind=labels.kind, outcome="busy").inc()
    _shed_log.note()
    return Response(BUSY_BODY, media_type="application/json")


class ShedLog:
    """One warning per SHED_LOG_SECONDS while commands are shed, with how many: a line
    per command would cost the busy server more and bury everything else in the log."""

    def __init__(self, timer: Callable[[], float] = time.monotonic) -> None:
        self._timer = timer
        self._since_logged = 0
        self._logged_at: float | None = None

    def note(self) -> None:
        self._since_logged += 1
        now = self._timer()
        if self._logged_at is not None and now - self._logged_at < SHED_LOG_SECONDS:
            return
        logger.warning(
            "answers are running more than a second behind: %d slash command(s) refused "
            "with 'bridgebot is busy' since the last such line",
            self._since_logged,
        )
        self._since_logged = 0
        self._logged_at = now


SHED_LOG_SECONDS = 10.0
_shed_log = ShedLog()
