"""The one error path for Slack listeners: log with the traceback, tell the user briefly."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

logger = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on bridgebot's side. It has been logged; please try again."


def register(app: AsyncApp) -> None:
    app.error(handle_error)


async def handle_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
    """Handle any exception a listener did not turn into a reply."""
    logger.exception("unhandled error in Slack listener", exc_info=error)
    if respond is not None and body.get("response_url"):
        try:
            await respond(response_type="ephemeral", text=SORRY, replace_original=False)
        except Exception:  # noqa: BLE001 - the apology is best effort
            logger.warning("could not tell the user about the error")
