"""Keep Slack payloads out of the logs, whatever LOG_LEVEL says.

At DEBUG the Slack libraries log whole payloads: the Slack SDK every reply it sends (the
one to a pulse vote marks the chosen answer) and every Socket Mode envelope (a vote
button's value is the answer). Their loggers are held at INFO or above, so those records
are never made. Bolt is handed its logger explicitly because, left alone, it gives each
of its own loggers the root logger's level when the app is built.
"""

from __future__ import annotations

import logging

SLACK_LIBRARY_LOGGERS = ("slack_bolt", "slack_sdk")


def slack_library_logger() -> logging.Logger:
    """Raise the Slack libraries' loggers to INFO at least; returns the one to give Bolt."""
    for name in SLACK_LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < logging.INFO:
            library.setLevel(logging.INFO)
    return logging.getLogger("slack_bolt")
