"""A clock a test moves by hand, given to the deps it builds (Deps never change once built)."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    """Real time until the test sets `now`; then `now`, wherever the deps read the time."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now if self.now is not None else datetime.now(UTC)
