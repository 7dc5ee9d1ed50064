"""The Teams pacer's decisions and cost, and the stand-up form's size, on a virtual clock.

Run with `python -m bench.teams_pacing`. It prints figures and asserts nothing about time.

1. A burst of 1,000 scheduled messages to one conversation: how many Teams' limits let
   through within the longest wait (the rest are put off, back into the delivery table,
   for when their turn comes), and the busiest second, two seconds and 30 seconds.
2. A fan-out of 3,000 messages, each to a conversation of its own in one tenant: the
   same, against the tenant's 50 a second.
3. The CPU time one booking costs, from both.
4. The stand-up form's card with 300 channels: its size in UTF-16 (what Teams counts)
   when it listed every channel, and now that it searches them as the person types.

The clock is virtual (`TeamsPacer(clock=..., sleep=...)`): no call waits for real, so
the figures are the pacer's schedule, not this machine's speed, except for (3).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable
from typing import TypeVar

from bot.notify import DeliveryDeferred
from bot.replies import FieldKind, Form, FormField
from handlers.teams.pacing import LONGEST_WAIT_SECONDS, TeamsPacer
from handlers.teams.render import render_form
from handlers.teams.size import utf16_size

T = TypeVar("T")


class VirtualClock:
    """Virtual time: a sleeper wakes when every other task has gone as far as it can and
    no one is due earlier; the clock then jumps to its moment."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._count += 1
        heapq.heappush(self._sleepers, (self.now + seconds, self._count, wake))
        await wake

    async def run(self, work: Awaitable[T]) -> T:
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(3):  # let every task that can run, run
                await asyncio.sleep(0)
            if self._sleepers and not task.done():
                at, _, wake = heapq.heappop(self._sleepers)
                self.now = max(self.now, at)
                wake.set_result(None)
        return task.result()


def busiest(moments: list[float], window: float) -> int:
    moments = sorted(moments)
    best, start = 0, 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def burst(targets: list[str]) -> tuple[list[float], int, float]:
    """Book a turn for each target at once; (moments booked, put off, CPU seconds)."""
    clock = VirtualClock()
    pacer = TeamsPacer(clock=clock, sleep=clock.sleep)
    moments: list[float] = []
    put_off = 0

    async def one(target: str) -> None:
        nonlocal put_off
        try:
            moments.append(await pacer.turn("tenant", target, longest_wait=LONGEST_WAIT_SECONDS))
        except DeliveryDeferred:
            put_off += 1

    started = time.process_time()
    await clock.run(asyncio.gather(*(one(target) for target in targets)))
    return moments, put_off, time.process_time() - started


def report(title: str, moments: list[float], put_off: int) -> None:
    span = max(moments) - min(moments) if moments else 0.0
    print(f"{title}: {len(moments)} sent within {LONGEST_WAIT_SECONDS:.0f} s, {put_off} put off")
    print(
        f"  over {span:.1f} virtual s; busiest 1 s: {busiest(moments, 1.0)}, "
        f"2 s: {busiest(moments, 2.0)}, 30 s: {busiest(moments, 30.0)}"
    )


def form_sizes() -> tuple[int, int]:
    channels = [(f"19:ch{n:03d}@thread.tacv2", f"project-{n:03d}-channel") for n in range(300)]
    form = Form(
        callback_id="standup_create",
        title="New stand-up",
        submit_label="Create",
        fields=(FormField("channel", "Channel", channels[0][0], kind=FieldKind.CHANNEL),),
    )
    searched = utf16_size(render_form(form, origin="", channels=channels))
    choices = [{"title": f"#{label}", "value": ref} for ref, label in channels]
    listed = utf16_size(choices) + searched  # every choice inline, as before
    return listed, searched


def main() -> None:
    one, one_off, one_cpu = asyncio.run(burst(["19:shared@thread.tacv2"] * 1000))
    report("1,000 messages to one conversation", one, one_off)
    many, many_off, many_cpu = asyncio.run(burst([f"a:1-{n}" for n in range(3000)]))
    report("3,000 messages to 3,000 conversations of one tenant", many, many_off)
    print(
        f"CPU a booking: {1e6 * one_cpu / 1000:.0f} µs (one conversation), "
        f"{1e6 * many_cpu / 3000:.0f} µs (one tenant)"
    )
    listed, searched = form_sizes()
    print(
        f"stand-up form with 300 channels: {listed / 1000:.1f} KB listing them all, "
        f"{searched / 1000:.1f} KB searching them (UTF-16)"
    )


if __name__ == "__main__":
    main()
