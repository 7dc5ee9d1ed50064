"""Listener work that goes on after Slack has its answer, and the wrapper that answers
Slack at ack() and runs the rest in the background."""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from bot.metrics import ANSWER_LAG_SECONDS
from handlers.slack.errors import report_failure
from handlers.slack.limits import LoopSemaphore

Listener = TypeVar("Listener", bound=Callable[..., Awaitable[None]])


# Listeners' work after their acks, this many at a time (most of it waits on the
# database or Slack; the worker threads number 16 too).
WORK_AFTER_ACKS_AT_ONCE = 16


# Past this, an answer would come later than people wait for it: new slash commands are
# refused at their acknowledgement ("bridgebot is busy") instead of queued.
BUSY_AFTER_SECONDS = 1.0
# Answers finished within this long before now give the pace at which work is done.
PACE_WINDOW_SECONDS = 1.0
# Fewer answers than this in the window say too little about the pace: then only the
# oldest work still under way tells how far behind things are.
PACE_MIN_ANSWERS = 20
# The pace is never taken over less than this (a burst's first answers come close together).
PACE_MIN_SPAN_SECONDS = 0.1
# How often the event loop's own delay is measured, and how many looks in a row must
# find it late before it counts.
LOOP_WATCH_SECONDS = 0.1
LOOP_SAMPLES = 3
# A request that has already waited this share of the budget before bridgebot could
# read it (in the kernel's queues or behind a long turn of the event loop, see
# handlers.arrival) is refused. Refusing only once the whole budget had passed would
# let the queue settle at the budget, with every answer, refusals too, later than it.
WAITED_SHARE_OF_BUDGET = 0.5


class AnswerLag:
    """How far answers run behind their requests: measured, and foreseen for a new one.

    Each request's work is counted from when its listener starts to when its work ends
    (its answer sent). A new request's answer would come after the work under way, at
    the pace work has been finishing lately (Little's law: under way / pace); or, with
    too few answers lately to tell a pace, no sooner than the oldest work under way has
    already waited, once there is more of it than runs at once (`parallel`: below that,
    a slow request, say one waiting on Slack, delays nobody else); and never sooner than
    the event loop, when it runs behind, gets to it. Everything runs on the event loop,
    so nothing here needs a lock.
    """

    def __init__(
        self,
        budget: float = BUSY_AFTER_SECONDS,
        *,
        parallel: int = WORK_AFTER_ACKS_AT_ONCE,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self.parallel = parallel
        self._timer = timer
        self._under_way: OrderedDict[int, float] = OrderedDict()  # oldest first
        self._finished: deque[float] = deque()
        self._next = 0
        # How late the event loop has been running what is ready, lately (see watch_loop).
        self._loop_samples: deque[float] = deque(maxlen=LOOP_SAMPLES)

    @property
    def loop_delay(self) -> float:
        """How late the event loop runs what is ready, when it has been late at each of the
        last LOOP_SAMPLES looks: a request then waits that long before its work starts.
        One stall alone (a collection, a start-up's index build) is no queue: it says 0."""
        samples = self._loop_samples
        return min(samples) if len(samples) == samples.maxlen else 0.0

    def note_loop_delay(self, seconds: float) -> None:
        self._loop_samples.append(max(0.0, seconds))

    async def watch_loop(self, every: float = LOOP_WATCH_SECONDS) -> None:
        """Measure, until cancelled, how late the event loop wakes a sleeper."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(every)
            self.note_loop_delay(loop.time() - asked - every)

    def begin(self) -> int:
        """A request's work starts; returns the token to end it with."""
        self._next += 1
        self._under_way[self._next] = self._timer()
        return self._next

    def end(self, token: int) -> None:
        started = self._under_way.pop(token, None)
        if started is None:
            return
        now = self._timer()
        self._finished.append(now)
        ANSWER_LAG_SECONDS.observe(now - started)

    @property
    def under_way(self) -> int:
        return len(self._under_way)

    def foreseen(self) -> float:
        """Seconds until a request arriving now would be answered."""
        return max(self._behind_work(), self.loop_delay)

    def _behind_work(self) -> float:
        now = self._timer()
        finished = self._finished
        while finished and finished[0] < now - PACE_WINDOW_SECONDS:
            finished.popleft()
        under_way = self._under_way
        queued = len(under_way) >= self.parallel  # a new request would wait for a slot
        oldest = now - next(iter(under_way.values())) if queued else 0.0
        if len(finished) < PACE_MIN_ANSWERS:
            return oldest
        pace = len(finished) / max(PACE_MIN_SPAN_SECONDS, now - finished[0])
        return max(oldest, (len(self._under_way) + 1) / pace)

    def busy(self, waited: float = 0.0) -> bool:
        """Whether a new request's answer would come later than the budget allows, given
        that it has `waited` seconds already (see handlers.arrival)."""
        if waited > self.budget * WAITED_SHARE_OF_BUDGET:
            return True
        return waited + self.foreseen() > self.budget


class BackgroundWork:
    """Listener work that goes on after Slack has its answer.

    The tasks are kept so none is garbage-collected mid-flight and so shutdown can
    let them finish. `lag` measures how far behind that work runs.
    """

    def __init__(
        self, at_once: int = WORK_AFTER_ACKS_AT_ONCE, *, busy_after: float = BUSY_AFTER_SECONDS
    ) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = LoopSemaphore(at_once)
        self.lag = AnswerLag(busy_after, parallel=at_once)

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
        lag = background.lag
        token = lag.begin()

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
                lag.end(token)
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
