"""The console's clock: real time (or a test's), moved forward by `:advance`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1)}
UNITS["m"] = timedelta(minutes=1)
DURATION = re.compile(r"(?:\s*\d{1,6}\s*[wdhm])+\s*")
PART = re.compile(r"(\d+)\s*([wdhm])")
# One :advance moves at most this far: enough for a quarter, bounded so it ends soon.
MAX_ADVANCE = timedelta(days=92)


class DurationError(ValueError):
    """A duration the console cannot read; the message says how to write one."""


def parse_duration(value: str) -> timedelta:
    """`90m`, `2h`, `1d`, `1w` or a combination such as `1d 12h`.

    Raises:
        DurationError: not such a duration, zero, or longer than MAX_ADVANCE.
    """
    written = value.strip().lower()
    if not DURATION.fullmatch(written):
        raise DurationError(
            f"“{value.strip()}” is not a duration. Write minutes, hours, days or weeks "
            "such as 90m, 2h, 1d, 1w or 1d12h."
        )
    total = sum((int(n) * UNITS[unit] for n, unit in PART.findall(written)), timedelta(0))
    if total <= timedelta(0):
        raise DurationError("Advance by at least a minute (for example 1m).")
    if total > MAX_ADVANCE:
        raise DurationError(f"Advance by at most {MAX_ADVANCE.days} days at a time.")
    return total


def describe_duration(value: timedelta) -> str:
    minutes = round(value.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts) or "0m"


class ConsoleClock:
    """`base` (real time, or a test's clock) plus how far the console has moved on.

    Time keeps flowing between commands; `:advance` adds to the offset, so everything that
    reads the deps' clock (commands, the scheduler, deliveries) sees the console's time.
    """

    def __init__(self, base: Callable[[], datetime]) -> None:
        self._base = base
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self._base() + self.offset

    def move_to(self, moment: datetime) -> None:
        """Set the clock to `moment`, never backwards."""
        self.offset += max(moment - self(), timedelta(0))
