"""A concurrency limit usable from whichever event loop runs (tests start several)."""

from __future__ import annotations

import asyncio


class LoopSemaphore:
    """An asyncio.Semaphore of `limit` for the running loop.

    A semaphore belongs to the loop it first waits in; code built once but run by
    several loops in turn (asyncio.run per test) gets a fresh one for each loop.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._current: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def get(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._current is None or self._current[0] is not loop:
            self._current = (loop, asyncio.Semaphore(self._limit))
        return self._current[1]
