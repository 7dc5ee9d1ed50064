"""Group many deliveries' database work into one thread hop and one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batched(Generic[Item, Result]):
    """Runs `work` (in a thread) on everything submitted while its last run was under way.

    The first submission runs at once; those arriving meanwhile wait and go together
    in the next run (a group commit). Each caller still waits for, and gets, its own
    result, but a busy tick no longer pays a thread hop and a transaction (on SQLite,
    the write lock) per delivery. `work` returns one result per item, in order; if it
    raises, every caller of that run gets the exception.
    """

    def __init__(self, work: Callable[[list[Item]], Sequence[Result]]) -> None:
        self._work = work
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = await asyncio.to_thread(self._work, [item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - raised in each caller waiting on it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
