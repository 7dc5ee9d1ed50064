"""Requests signed exactly as Slack signs them (v0 HMAC-SHA256 over "v0:timestamp:body")."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


def slack_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash_command_body(
    command: str,
    text: str,
    *,
    response_url: str,
    user_id: str = "U0ALICE",
    team_id: str = "T0BRIDGE",
    channel_id: str = "C0GENERAL",
) -> str:
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "team_domain": "bridge",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0BRIDGE",
            "response_url": response_url,
            "trigger_id": "1337.42.abcd",
        }
    )
