"""Listener work that goes on after Slack has its answer, and the wrapper that answers
Slack at ack() and runs the rest in the background."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from handlers.slack.errors import report_failure
from handlers.slack.limits import LoopSemaphore

Listener = TypeVar("Listener", bound=Callable[..., Awaitable[None]])


# Listeners' work after their acks, this many at a time (most of it waits on the
# database or Slack; the worker threads number 16 too).
WORK_AFTER_ACKS_AT_ONCE = 16


class BackgroundWork:
    """Listener work that goes on after Slack has its answer.

    The tasks are kept so none is garbage-collected mid-flight and so shutdown can
    let them finish.
    """

    def __init__(self, at_once: int = WORK_AFTER_ACKS_AT_ONCE) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = LoopSemaphore(at_once)

    def slots(self) -> asyncio.Semaphore:
        """Work after acks runs this many at a time, so new requests are answered first."""
        return self._slots.get()

    def start(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the work under way."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def wait_idle(self) -> None:
        """Wait until no work is under way, work started meanwhile included (the caller
        bounds it: tests asserting something did not happen wait on this, not on a clock)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))


def answered_at_ack(listener: Listener, background: BackgroundWork) -> Listener:
    """Answer Slack the moment the listener calls ack(); its remaining work runs on.

    For an app with process_before_response: Bolt then sends its answer when this
    returns, instead of polling every 10 ms for an ack() from a listener it runs on the
    side (the polls cost a busy server more than the commands). A listener without an
    ack parameter (an event) is answered at once. What follows an ack waits for one of
    the background's slots, so in a burst the next requests are answered first.
    Failures go to the one error path here: after an answer has gone, nobody else can
    report them.
    """

    @functools.wraps(listener)
    async def answering(**kwargs: Any) -> None:
        bolt_ack = kwargs.get("ack")
        acked = asyncio.Event()

        slots = background.slots()
        holding = False

        async def ack(*args: Any, **fields: Any) -> Any:
            nonlocal holding
            try:
                return await bolt_ack(*args, **fields)  # type: ignore[misc]
            finally:
                acked.set()
                if not holding:  # the rest of the listener waits for a slot
                    await slots.acquire()
                    holding = True

        async def run() -> None:
            nonlocal holding
            if bolt_ack is None:
                await slots.acquire()
                holding = True
            try:
                await _reporting_failure(listener, kwargs)
            finally:
                if holding:
                    slots.release()

        if bolt_ack is not None:
            kwargs["ack"] = ack
        task = background.start(run())
        if bolt_ack is None:
            return
        waiting = asyncio.ensure_future(acked.wait())
        await asyncio.wait({waiting, task}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()

    return answering  # type: ignore[return-value]


async def _reporting_failure(listener: Listener, kwargs: dict[str, Any]) -> None:
    try:
        await listener(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the one error path, as app.error would
        body = kwargs.get("body") or kwargs.get("shortcut") or {}
        # A listener runs only after every middleware, so its request was verified.
        await report_failure(exc, body, kwargs.get("respond"))
