"""Lookups answered straight from the signed HTTP request, without Bolt's dispatch.

A glossary lookup is the busiest request and the cheapest: it reads what the caches
hold and answers in Slack's acknowledgement (see commands.answer_in_ack). Through Bolt it
would also pay for a second signature check, the middleware chain, matching every
listener, a Web API client built for the request and a task to run the listener in:
more than the lookup itself. So a slash command that the router says only reads is run
here, once handle_measured has checked its signature and that bridgebot is not busy,
and its answer goes back as the HTTP response.

Anything this cannot answer alone goes to Bolt as before, and is run there from the
start (a lookup that only reads changes nothing but its counts): a workspace Bolt has
not confirmed lately (with one bot token: another workspace than the token's, or any
before the first request of each process, for which Bolt asks Slack who the token
belongs to; with OAuth: one whose installation Bolt has not found in the last five
minutes, or that uninstalled bridgebot since), a caller whose admin rights must be
asked of Slack, a reply that cannot travel in an acknowledgement, or any failure
(Bolt's path has the one error path).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from urllib.parse import parse_qsl

from fastapi import Response

from bot.deps import Deps
from bot.metrics import COMMAND_SECONDS
from bot.replies import Reply, Visibility
from bot.router import AdminCheckNeeded, NeedsDatabase, RequestScope, run_command
from handlers.slack.limits import LoopSemaphore
from handlers.slack.render import render_message
from handlers.slack.request_scope import make_caller, request_scope
from handlers.slack.runtime import SlackRuntime
from handlers.slack.slash_text import typed_text

logger = logging.getLogger(__name__)

# Lookups that need the database run in worker threads this many at a time. More of
# them contend with the event loop for the GIL: above capacity the loop then reads new
# requests so late that it cannot even refuse them in time.
LOOKUP_THREADS_AT_ONCE = 4


class LookupsInAck:
    """Answers the router's read-only slash commands of the workspaces Bolt confirmed."""

    def __init__(self, deps: Deps, runtime: SlackRuntime) -> None:
        self._deps = deps
        self._runtime = runtime
        self._threads = LoopSemaphore(LOOKUP_THREADS_AT_ONCE)

    async def answer(self, body: bytes) -> Response | None:
        """The response to a signed slash command, or None: let Bolt handle it."""
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        name, args = form.get("command", "").lstrip("/"), typed_text(form.get("text", ""))
        team = form.get("team_id", "")
        if (
            not self._runtime.serves(form.get("enterprise_id", ""), team)
            or "ssl_check" in form
            or not form.get("user_id")
            or not self._deps.router.answered_at_once(name, args)
        ):
            return None
        caller = make_caller(
            self._runtime, team_id=team, user_id=form["user_id"], name=form.get("user_name")
        )
        scope = request_scope(self._deps, caller, form.get("channel_id"))
        started = time.perf_counter()
        try:
            reply = await self._run(scope, name, args)
        except AdminCheckNeeded:
            return None  # Bolt's path asks Slack, with its client
        except Exception:  # noqa: BLE001 - Bolt's path runs it again and reports a failure
            logger.info("a lookup is handed to the full path after a failure", exc_info=True)
            return None
        if not reply.blocks or reply.form or reply.attachments or reply.outbox:
            # Not one a lookup gives; Bolt's path would count the lookup again.
            return None
        if reply.wake_scheduler:
            return None
        COMMAND_SECONDS.labels(command=name).observe(time.perf_counter() - started)
        message = render_message(reply)
        message["response_type"] = (
            "in_channel" if reply.visibility is Visibility.CHANNEL else "ephemeral"
        )
        return Response(
            json.dumps(message, ensure_ascii=False).encode(), media_type="application/json"
        )

    async def _run(self, scope: RequestScope, name: str, args: str) -> Reply:
        """Run on the event loop from memory when the caches can be trusted (the change
        feed is listening): a warm lookup takes a fraction of a millisecond there, less
        than handing it to a thread costs. At its first need of the database it rolls
        back, having changed nothing, and runs again in a worker thread.

        Only the lookups that go to a thread are counted in the answer lag: they are the
        ones that queue (LOOKUP_THREADS_AT_ONCE at a time), and a pace that counted the
        instant ones too would foresee that queue far shorter than it is."""
        if self._deps.changes.live:
            try:
                return run_command(replace(scope, memory_only=True), name, args)
            except NeedsDatabase:
                pass
        lag = self._runtime.background.lag
        token = lag.begin()
        try:
            async with self._threads.get():
                return await asyncio.to_thread(run_command, scope, name, args)
        finally:
            lag.end(token)
