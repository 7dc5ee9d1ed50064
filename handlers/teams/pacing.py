"""Spacing of Bot Connector calls the way Teams allows, per conversation and per tenant.

Teams documents its limits per bot per conversation (7 calls a second, 8 in 2 seconds,
60 in 30 seconds, 1800 an hour) and per app per tenant (50 a second), and answers 429
beyond them. Each call books the first moment all of its windows allow, so a burst to
one conversation is spread out while others go on meanwhile, and one tenant never gets
more than its share. A 429's Retry-After holds the conversation back (and, after several
429s in a row, the whole tenant), so nothing else spends a request to learn it again.

Time is a seam (`clock` and `sleep`): tests drive it by hand and never sleep for real.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import time
from collections.abc import Awaitable, Callable

from cachetools import TTLCache

from bot.notify import DeliveryDeferred

Limits = tuple[tuple[int, float], ...]

# Teams' documented limits: (calls, seconds). The exact values may change; a 429 still
# gets backoff, so these only keep bridgebot from being the one who learns it first.
CONVERSATION_LIMITS: Limits = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))
TENANT_LIMITS: Limits = ((50, 1.0),)
# A scheduled message whose turn is further off than this is handed back to the
# scheduler (put off in the delivery table) rather than held while its claim runs down.
LONGEST_WAIT_SECONDS = 10.0
# An answer to someone's message or click waits at most this long for its turn while
# Teams holds their request open; past it, it goes out in the background.
INBOUND_WAIT_SECONDS = 1.0
# After this many 429s in a row within a tenant, the limit is taken to be the tenant's.
TENANT_REFUSALS_IN_A_ROW = 5
# Exponential backoff with full jitter: a wait drawn from 0..min(CAP, BASE * 2**attempt).
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
# Conversations not used for an hour are forgotten (their longest window is an hour).
KEEP_SECONDS = 3600.0
MAX_CONVERSATIONS = 100_000
# Moments this close are one (a window's end computed as start + seconds may round).
EPSILON = 1e-6


class ConversationBusy(DeliveryDeferred):
    """The conversation's (or the tenant's) next free turn is too far off: try later."""


class Windows:
    """Booked call times in one conversation or tenant, checked against its limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.times: list[float] = []  # sorted
        self.held_until = 0.0
        self._longest = max(seconds for _, seconds in limits)

    def earliest(self, at: float) -> float:
        """The first moment from `at` at which one more call breaks no limit."""
        at = max(at, self.held_until)
        while (later := self._conflict(at)) is not None:
            at = later
        return at

    def _conflict(self, at: float) -> float | None:
        """None if a call at `at` fits; else a later moment to try."""
        index = bisect.bisect_right(self.times, at)
        for calls, seconds in self.limits:
            # Every run of calls + 1 consecutive bookings that would include `at`.
            merged = [*self.times[max(0, index - calls) : index], at]
            mine = len(merged) - 1
            merged += self.times[index : index + calls]
            for start in range(max(0, mine - calls), min(mine, len(merged) - calls - 1) + 1):
                end = start + calls
                if merged[end] - merged[start] < seconds - EPSILON:
                    if end == mine:  # the run ends with this call: it waits for its window
                        return max(merged[start] + seconds, at + EPSILON)
                    return max(merged[end], at + EPSILON)  # runs later are full: go after them
        return None

    def book(self, at: float, now: float) -> None:
        bisect.insort(self.times, at)
        if self.times[0] < now - self._longest:
            cut = bisect.bisect_left(self.times, now - self._longest)
            del self.times[:cut]

    def hold(self, until: float) -> None:
        self.held_until = max(self.held_until, until)


def backoff(attempt: int, rng: random.Random, base: float = BACKOFF_BASE_SECONDS) -> float:
    """Exponential backoff with full jitter for the `attempt`-th retry (0 first)."""
    return rng.uniform(0.0, min(BACKOFF_CAP_SECONDS, base * 2**attempt))


class TeamsPacer:
    """Hands out turns per (tenant, conversation); see the module docstring."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        backoff_base: float = BACKOFF_BASE_SECONDS,
    ) -> None:
        self.clock = clock
        self._sleep = sleep
        self.rng = rng or random.Random()
        self.backoff_base = backoff_base
        self._conversations: TTLCache[tuple[str, str], Windows] = TTLCache(
            maxsize=MAX_CONVERSATIONS, ttl=KEEP_SECONDS, timer=clock
        )
        self._tenants: dict[str, Windows] = {}
        self._refusals_in_a_row: dict[str, int] = {}

    def _windows(self, tenant: str, conversation: str | None) -> list[Windows]:
        found = [self._tenants.setdefault(tenant, Windows(TENANT_LIMITS))]
        if conversation is not None:
            key = (tenant, conversation)
            windows = self._conversations.get(key) or Windows(CONVERSATION_LIMITS)
            self._conversations[key] = windows  # set again: kept an hour from its last use
            found.append(windows)
        return found

    async def turn(self, tenant: str, conversation: str | None, *, longest_wait: float) -> float:
        """Book the next call to `conversation` (None: a tenant-wide call such as a roster
        lookup) and sleep until it; returns the booked moment.

        Raises:
            ConversationBusy: the turn is more than `longest_wait` seconds off.
        """
        now = self.clock()
        windows = self._windows(tenant, conversation)
        at = now
        while True:
            moved = max(w.earliest(at) for w in windows)
            if moved == at:
                break
            at = moved
        if at - now > longest_wait:
            where = conversation or f"tenant {tenant}"
            raise ConversationBusy(
                f"Teams' limits leave no turn in {where} for {at - now:.1f} s",
                retry_after=at - now,
            )
        for w in windows:
            w.book(at, now)
        if at > now:
            await self._sleep(at - now)
        return at

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    def answered(self, tenant: str) -> None:
        self._refusals_in_a_row.pop(tenant, None)

    def refused(
        self, tenant: str, conversation: str | None, attempt: int, retry_after: float | None
    ) -> float:
        """Teams answered 429 (or a passing error): hold back; returns the wait chosen.

        The wait is the Retry-After when Teams gave one (with a little jitter, so many
        waiting messages do not all come back at once), else exponential backoff.
        """
        wait = backoff(attempt, self.rng, self.backoff_base)
        if retry_after is not None:
            wait = retry_after + wait / 10
        until = self.clock() + wait
        windows = self._windows(tenant, conversation)
        windows[-1].hold(until)
        if retry_after is not None:
            refusals = self._refusals_in_a_row.get(tenant, 0) + 1
            self._refusals_in_a_row[tenant] = refusals
            if refusals >= TENANT_REFUSALS_IN_A_ROW:
                windows[0].hold(until)
        return wait
