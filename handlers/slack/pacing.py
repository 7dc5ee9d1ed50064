"""Spacing of scheduled messages the way Slack allows: one a second per conversation.

chat.postMessage accepts about one message per second in a conversation and answers
429 beyond that. Posting blindly and retrying wastes requests and holds a delivery
for each Retry-After; instead each message waits for its conversation's next turn,
and messages to other conversations go on meanwhile.

Slack also keeps a workspace-wide posting limit, several hundred messages a minute.
The pacer keeps under it: a workspace posts at most WORKSPACE_MESSAGES_PER_MINUTE in any
rolling minute, counted from when Slack answered (never earlier than Slack counted
them), so a fan-out of thousands spends no request on a 429 it could foresee. Should
Slack's limit be lower, nearly every answer in the workspace becomes a 429, whatever
the conversation: then the whole workspace waits out the Retry-After instead of
spending a request per message to learn it.
"""

from __future__ import annotations

import asyncio
import time
from bisect import insort
from collections import deque

from bot.notify import DeliveryDeferred

# Slack's documented pace for chat.postMessage in one conversation, with a margin for
# requests that travel at different speeds.
SECONDS_BETWEEN_MESSAGES = 1.05
# A message whose turn is further off than this is handed back to the scheduler to
# retry later, rather than held while its claim's lease runs down.
LONGEST_WAIT_SECONDS = 60.0
# Forget conversations whose turns are all in the past once there are this many
# (or twice as many as were left at the last pruning, so pruning stays occasional).
PRUNE_AFTER = 10_000
# The workspace is taken to be at its limit when this many answers in a row were 429s
# (a stray 429 here and there is one conversation's business). Within
# RENEW_HOLD_SECONDS of a hold's end, a single refusal renews it: it ended too soon.
WORKSPACE_REFUSALS_IN_A_ROW = 5
RENEW_HOLD_SECONDS = 5.0
# Slack's workspace-wide posting limit ("several hundred messages a minute"), kept to
# across all conversations of a workspace within one process.
WORKSPACE_MESSAGES_PER_MINUTE = 600
WORKSPACE_WINDOW_SECONDS = 60.0


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class ConversationBusy(DeliveryDeferred):
    """The conversation's next free turn is too far off; try the message again later."""


class ConversationPacer:
    """Hands out each conversation's turns, SECONDS_BETWEEN_MESSAGES apart.

    `wait_turn` books the next turn and sleeps until it, holding nothing. A booked
    message may still leave later than booked (waiting for a free request slot), and
    arrive later than it left; `keep_pace`, right before sending, keeps the gap from
    the previous message's answer (`answered`), whichever came last.
    """

    def __init__(self, workspace_per_minute: int | None = None) -> None:
        self._per_minute = workspace_per_minute or WORKSPACE_MESSAGES_PER_MINUTE
        # Per workspace: when Slack answered each message of the last minute (ascending),
        # and how many are on their way now.
        self._answered_at: dict[str, deque[float]] = {}
        self._sending: dict[str, int] = {}
        # Messages waiting for room in their workspace's minute queue here, first come
        # first served: only the first watches the clock, so when one answer leaves the
        # minute, one message wakes to take its place, not every message waiting. Room
        # given back (a message refused or not sent) wakes the first at once.
        self._in_line: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}
        self._first_in_line: dict[str, asyncio.Future[None]] = {}
        self._booked: dict[tuple[str, str], float] = {}
        self._last: dict[tuple[str, str], float] = {}
        self._prune_at = PRUNE_AFTER
        self._refusals_in_a_row: dict[str, int] = {}
        self._workspace_free_at: dict[str, float] = {}

    async def wait_turn(self, workspace_id: str, conversation_ref: str) -> None:
        now = time.monotonic()
        key = (workspace_id, conversation_ref)
        turn = max(now, self._booked.get(key, now))
        if turn - now > LONGEST_WAIT_SECONDS:
            # Back when half the queue ahead has gone: then its turn is within reach.
            raise ConversationBusy(
                f"{conversation_ref} has messages booked for the next {turn - now:.0f} s",
                retry_after=turn - now - LONGEST_WAIT_SECONDS / 2,
            )
        self._booked[key] = turn + SECONDS_BETWEEN_MESSAGES
        if len(self._booked) > self._prune_at:
            self._prune(now)
        if turn > now:
            await asyncio.sleep(turn - now)

    async def workspace_turn(self, workspace_id: str) -> None:
        """Wait until the workspace may send another message within its per-minute limit,
        and count this one as on its way (`answered` or `not_sent` ends that)."""
        loop = asyncio.get_running_loop()
        found = self._in_line.get(workspace_id)
        if found is None or found[0] is not loop:  # a lock waits in one loop only
            found = self._in_line[workspace_id] = (loop, asyncio.Lock())
        line = found[1]
        if not line.locked() and self._take_room(workspace_id):
            return  # room at once, and nobody waiting before this one
        async with line:
            await self._wait_for_room(workspace_id)

    def _take_room(self, workspace_id: str) -> bool:
        """Count a message on its way if the workspace's minute has room for it."""
        answered = self._answered_at.setdefault(workspace_id, deque())
        now = time.monotonic()
        while answered and answered[0] <= now - WORKSPACE_WINDOW_SECONDS:
            answered.popleft()
        if len(answered) + self._sending.get(workspace_id, 0) < self._per_minute:
            self._sending[workspace_id] = self._sending.get(workspace_id, 0) + 1
            return True
        return False

    async def _wait_for_room(self, workspace_id: str) -> None:
        loop = asyncio.get_running_loop()
        while not self._take_room(workspace_id):
            answered = self._answered_at[workspace_id]
            now = time.monotonic()
            # Those on their way will be answered within the minute: wait for the oldest
            # answer to leave it (or, with none answered yet, for one to come back).
            wait = answered[0] + WORKSPACE_WINDOW_SECONDS - now if answered else 0.05
            if wait > LONGEST_WAIT_SECONDS:
                raise ConversationBusy(
                    f"workspace {workspace_id} sent {self._per_minute} messages this minute",
                    retry_after=wait,
                )
            woken: asyncio.Future[None] = loop.create_future()
            self._first_in_line[workspace_id] = woken
            timer = loop.call_later(wait, _wake, woken)
            try:
                await woken
            finally:
                timer.cancel()
                if self._first_in_line.get(workspace_id) is woken:
                    del self._first_in_line[workspace_id]

    def not_sent(self, workspace_id: str) -> None:
        """A message counted by `workspace_turn` went no further (no request was made, or
        Slack refused it): its room goes to the first message in line."""
        self._sending[workspace_id] = max(0, self._sending.get(workspace_id, 0) - 1)
        woken = self._first_in_line.get(workspace_id)
        if woken is not None:
            _wake(woken)

    def workspace_held(self, workspace_id: str) -> bool:
        return self._workspace_free_at.get(workspace_id, 0.0) > time.monotonic()

    async def wait_for_workspace(self, workspace_id: str) -> None:
        """Sleep while the workspace as a whole is held back (see `answered`)."""
        while self.workspace_held(workspace_id):
            wait = self._workspace_free_at[workspace_id] - time.monotonic()
            if wait > LONGEST_WAIT_SECONDS:
                raise ConversationBusy(
                    f"workspace {workspace_id} is at Slack's posting limit for {wait:.0f} s",
                    retry_after=wait,
                )
            await asyncio.sleep(wait)

    async def keep_pace(self, workspace_id: str, conversation_ref: str) -> None:
        """Wait, if need be, until SECONDS_BETWEEN_MESSAGES after the conversation's last."""
        key = (workspace_id, conversation_ref)
        now = time.monotonic()
        at = max(
            now, self._last.get(key, now - SECONDS_BETWEEN_MESSAGES) + SECONDS_BETWEEN_MESSAGES
        )
        self._last[key] = at  # held for this message, so one sent meanwhile waits its turn
        if at > now:
            await asyncio.sleep(at - now)

    def answered(
        self, workspace_id: str, conversation_ref: str, *, retry_after: float | None = None
    ) -> None:
        """Slack answered (`retry_after`: with a 429): the next is spaced from here.

        When WORKSPACE_REFUSALS_IN_A_ROW answers in a row are 429s, the limit is the
        workspace's, not this conversation's: all of it waits for `retry_after`.
        """
        now = time.monotonic()
        key = (workspace_id, conversation_ref)
        self._last[key] = max(self._last.get(key, 0.0), now)
        if retry_after is None:
            # Slack took it: it counts against the workspace's minute from now.
            self._sending[workspace_id] = max(0, self._sending.get(workspace_id, 0) - 1)
            insort(self._answered_at.setdefault(workspace_id, deque()), now)
            self._refusals_in_a_row.pop(workspace_id, None)
            return
        self.not_sent(workspace_id)  # refused: its room is free again
        refusals = self._refusals_in_a_row.get(workspace_id, 0) + 1
        self._refusals_in_a_row[workspace_id] = refusals
        held_until = self._workspace_free_at.get(workspace_id, -RENEW_HOLD_SECONDS)
        if refusals >= WORKSPACE_REFUSALS_IN_A_ROW or now < held_until + RENEW_HOLD_SECONDS:
            self._workspace_free_at[workspace_id] = max(held_until, now + retry_after)

    def hold_back(self, workspace_id: str, conversation_ref: str, seconds: float) -> None:
        """Slack said wait (a 429's Retry-After): nothing more in this conversation until then.

        Turns booked already move back too: keep_pace measures from the last message,
        which is placed as if sent at the end of the wait.
        """
        key = (workspace_id, conversation_ref)
        not_before = time.monotonic() + seconds
        self._booked[key] = max(self._booked.get(key, not_before), not_before)
        self._last[key] = max(self._last.get(key, 0.0), not_before - SECONDS_BETWEEN_MESSAGES)

    def _prune(self, now: float) -> None:
        self._booked = {k: t for k, t in self._booked.items() if t > now}
        self._last = {k: t for k, t in self._last.items() if t + SECONDS_BETWEEN_MESSAGES > now}
        self._prune_at = max(PRUNE_AFTER, 2 * len(self._booked))
        self._workspace_free_at = {
            w: t for w, t in self._workspace_free_at.items() if t + RENEW_HOLD_SECONDS > now
        }
        self._answered_at = {
            w: times
            for w, times in self._answered_at.items()
            if (times and times[-1] > now - WORKSPACE_WINDOW_SECONDS) or self._sending.get(w)
        }
