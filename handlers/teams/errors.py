"""The one error path for Teams handlers: log with the traceback, tell the person briefly."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError

from bot.notify import DeliveryError

logger = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on bridgebot's side. It has been logged; please try again."
DATABASE_DOWN = "bridgebot is having trouble reaching its database, try again in a minute."
UNREACHABLE = "bridgebot could not post there: {reason}."


def apology(error: Exception, what: str) -> str:
    """Log the error once and return what to tell the person."""
    if isinstance(error, DeliveryError):
        logger.warning("Teams %s: %s", what, error)
        return UNREACHABLE.format(reason=error)
    if isinstance(error, OperationalError | SQLTimeoutError):
        logger.error("database unreachable during Teams %s: %s", what, type(error).__name__)
        return DATABASE_DOWN
    logger.exception("unhandled error in Teams %s", what, exc_info=error)
    return SORRY
