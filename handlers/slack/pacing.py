"""Spacing of scheduled messages the way Slack allows: one a second per conversation.

chat.postMessage accepts about one message per second in a conversation and answers
429 beyond that. Posting blindly and retrying wastes requests and holds a delivery
for each Retry-After; instead each message waits for its conversation's next turn,
and messages to other conversations go on meanwhile.

Slack also keeps a workspace-wide posting limit. Once it is reached, nearly every
answer in the workspace is a 429, whatever the conversation: then the whole workspace
waits out the Retry-After instead of spending a request per message to learn it.
"""

from __future__ import annotations

import asyncio
import time

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


class ConversationBusy(DeliveryDeferred):
    """The conversation's next free turn is too far off; try the message again later."""


class ConversationPacer:
    """Hands out each conversation's turns, SECONDS_BETWEEN_MESSAGES apart.

    `wait_turn` books the next turn and sleeps until it, holding nothing. A booked
    message may still leave later than booked (waiting for a free request slot), and
    arrive later than it left; `keep_pace`, right before sending, keeps the gap from
    the previous message's answer (`answered`), whichever came last.
    """

    def __init__(self) -> None:
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
            self._refusals_in_a_row.pop(workspace_id, None)
            return
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
