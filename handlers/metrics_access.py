"""Who may read GET /metrics: anyone, or only a scraper holding BRIDGEBOT_METRICS_TOKEN."""

from __future__ import annotations

import secrets

from pydantic import SecretStr
from starlette.datastructures import Headers


def metrics_allowed(headers: Headers, token: SecretStr | None) -> bool:
    """True without a token setting, else only for `Authorization: Bearer <token>`."""
    if token is None:
        return True
    scheme, _, given = headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    # Constant time, so the answer's timing says nothing about how much of it was right.
    return scheme.lower() == "bearer" and secrets.compare_digest(
        given.strip().encode("utf-8", errors="replace"), expected
    )
