"""The one error path for Slack listeners: log the failure, tell the person if Slack can."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError

logger = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on bridgebot's side. It has been logged; please try again."
DATABASE_DOWN = "bridgebot is having trouble reaching its database, try again in a minute."


# Set on a request's context once Bolt's built-in middleware (signature check first)
# let it through; nothing is ever sent to a response_url a request only claims.
VERIFIED = "bridgebot_verified"


class MarkVerified(AsyncMiddleware):
    """Marks the request's context as verified: it runs only for requests Slack signed.

    A middleware class, not a function: Bolt builds every listener argument for a
    function middleware, on every request, which costs more than the middleware itself.
    """

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        req.context[VERIFIED] = True
        await next()
        return resp


def mark_verified_requests(app: AsyncApp) -> None:
    """Register first among our middleware."""
    app.middleware(MarkVerified())


def register(app: AsyncApp) -> None:
    app.error(handle_error)


async def handle_error(
    error: Exception, body: dict[str, Any], respond: Any, context: dict[str, Any]
) -> None:
    """Handle any exception a listener or middleware did not turn into a reply.

    A failure before the request was verified (a bad signature, a broken secret) is
    logged only: its response_url is whatever the sender wrote.
    """
    await report_failure(error, body, respond if context.get(VERIFIED) else None)


async def report_failure(error: Exception, body: dict[str, Any], respond: Any) -> None:
    """Log `error`; when `respond` is given and the request has a response_url, apologise."""
    database_down = isinstance(error, OperationalError | SQLTimeoutError)
    if database_down:
        logger.error("database unreachable: %s", type(error).__name__)
    else:
        logger.exception("unhandled error in Slack listener", exc_info=error)
    if respond is not None and body.get("response_url"):
        try:
            message = DATABASE_DOWN if database_down else SORRY
            await respond(response_type="ephemeral", text=message, replace_original=False)
        except Exception:  # noqa: BLE001 - the apology is best effort
            logger.warning("could not tell the user about the error")
