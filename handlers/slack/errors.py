"""The one error path for Slack listeners: log with the traceback, tell the user briefly."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError

logger = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on bridgebot's side. It has been logged; please try again."
DATABASE_DOWN = "bridgebot is having trouble reaching its database, try again in a minute."


Listener = TypeVar("Listener", bound=Callable[..., Awaitable[None]])


def register(app: AsyncApp) -> None:
    app.error(handle_error)


def reported_here(listener: Listener) -> Listener:
    """For listeners that ack() first: report their failure here instead of raising to Bolt.

    Bolt's async runner forgets an ack() it has not noticed yet when the listener then
    raises, and answers Slack 404 after 3 s (the person sees the command fail). A database
    that refuses connections fails that fast.
    """

    @functools.wraps(listener)
    async def guarded(**kwargs: Any) -> None:
        try:
            await listener(**kwargs)
        except Exception as exc:  # noqa: BLE001 - the one error path, as app.error would
            body = kwargs.get("body") or kwargs.get("shortcut") or {}
            await handle_error(exc, body, kwargs.get("respond"))

    return guarded  # type: ignore[return-value]


async def handle_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
    """Handle any exception a listener did not turn into a reply."""
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
