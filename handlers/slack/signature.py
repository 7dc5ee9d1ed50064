"""Slack's request signature, checked before anything is read from the request."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
# Bolt's own check logs the whole body of a request that fails it (a log line per
# refused request, as large as the request); see quiet_bolt_verification_log.
BOLT_VERIFICATION_LOGGER = "slack_bolt.RequestVerification"


class SlackSignature:
    """Checks the v0 signature of a Slack request; anything unreadable is simply invalid."""

    def __init__(self, signing_secret: str | None) -> None:
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def is_valid(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """True only for a well-formed, fresh signature by this app's signing secret."""
        if self._verifier is None:
            return False
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        # slack_sdk raises on a non-integer timestamp, a signature with non-ASCII
        # characters or a body that is not UTF-8; none of them comes from Slack.
        if not timestamp.isascii() or not timestamp.isdigit() or not signature.isascii():
            return False
        try:
            return self._verifier.is_valid(body, timestamp, signature)
        except (ValueError, TypeError):
            return False


def replay_key(bolt_headers: Mapping[str, Sequence[str]]) -> str | None:
    """The id of one signed request: its signature, which a byte-for-byte replay repeats.

    The signature is an HMAC of the timestamp and the body, so a replay within Slack's
    five-minute window carries the same one, while two real requests never do (each
    has its own trigger_id or event_id). None for requests that carry no signature
    (Socket Mode).
    """
    signature = next(iter(bolt_headers.get(SIGNATURE_HEADER) or ()), "")
    return f"signed:{signature}" if signature else None


class _WithoutBody(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = "Invalid request signature detected (body and headers not logged)"
        record.args = None
        return True


def quiet_bolt_verification_log() -> None:
    """Keep request bodies out of Bolt's log line for a request that fails its check.

    Bridgebot refuses those requests before Bolt sees them; this covers any path that
    reaches Bolt's own check (a request that turns stale between the two checks).
    """
    bolt_logger = logging.getLogger(BOLT_VERIFICATION_LOGGER)
    if not any(isinstance(f, _WithoutBody) for f in bolt_logger.filters):
        bolt_logger.addFilter(_WithoutBody())
