"""The one error path for Slack listeners: log with the traceback, tell the user briefly."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError

logger = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on bridgebot's side. It has been logged; please try again."
DATABASE_DOWN = "bridgebot is having trouble reaching its database, try again in a minute."


def register(app: AsyncApp) -> None:
    app.error(handle_error)


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
