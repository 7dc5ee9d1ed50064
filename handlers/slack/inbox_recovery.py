"""Slash commands acknowledged by an instance that died before running them, run again.

Each command is stored before its acknowledgement (bot.services.command_inbox). One
still pending after the claim lease (BRIDGEBOT_CLAIM_LEASE_SECONDS: the receiving
instance's claim on it, as for any delivery) is planned as a delivery of its own, so
exactly one instance claims it (`FOR UPDATE SKIP LOCKED`, a lease of its own), and is
run through the same path as a live command, answered at its response_url. Slack
accepts answers there for 30 minutes: past that, or after RERUN_ATTEMPTS failed runs,
the command is given up and its author told by direct message that it was not run and
nothing was saved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.orm import Session

from bot import replies
from bot.deps import Deps
from bot.models import InboxOutcome
from bot.router import Caller, CommandContext, prepare_workspace
from bot.services import command_inbox, occurrences
from bot.services.command_inbox import PendingCommand
from bot.services.occurrences import ClaimedOccurrence, PlannedDelivery
from handlers.slack.commands import run_and_answer
from handlers.slack.runtime import ResponseUrl, SlackRuntime
from handlers.slack.slash_text import typed_text
from schedules.scheduler import Scheduler

logger = logging.getLogger(__name__)

RERUN_KIND = "slack_command_rerun"
# Slack accepts answers at a command's response_url for this long after the command.
RESPONSE_URL_LIFETIME = timedelta(minutes=30)
# Runs of one command that may fail (the database away, Slack erring) before it is given up.
RERUN_ATTEMPTS = 3

ClientFor = Callable[[str], Awaitable[AsyncWebClient | None]]


def register(scheduler: Scheduler, runtime: SlackRuntime, client_for: ClientFor) -> None:
    """Plan the reruns at each tick and deliver them; `client_for` gives a workspace's client."""
    scheduler.add_planner(partial(plan_reruns, deps=scheduler.deps))
    scheduler.add_delivery(
        RERUN_KIND,
        partial(rerun, runtime=runtime, client_for=client_for),
        persistent=True,  # settled by rerun itself: run, or given up with a message
    )


def claim_lease(deps: Deps) -> timedelta:
    return timedelta(seconds=deps.settings.bridgebot_claim_lease_seconds)


def plan_reruns(session: Session, now: datetime, *, deps: Deps) -> None:
    """Plan one rerun per command pending past the lease; planning twice is harmless
    (its due time is derived from the command's, so every instance plans the same row)."""
    lease = claim_lease(deps)
    stale = command_inbox.stale(session, older_than=now - lease)
    for workspace_id in {workspace_id for _, workspace_id, _ in stale}:
        # The workspace's very first command may be the one lost: reruns need its row.
        caller = Caller(workspace_id=workspace_id, user_ref="", platform="slack")
        ctx = CommandContext(
            session=session,
            caller=caller,
            now=now,
            default_timezone=deps.settings.bridgebot_timezone,
        )
        prepare_workspace(ctx, deps.router)
    occurrences.schedule_many(
        session=session,
        deliveries=[
            PlannedDelivery(
                workspace_id=workspace_id,
                kind=RERUN_KIND,
                subject_ref=str(command_id),
                due_at=received_at + lease,
            )
            for command_id, workspace_id, received_at in stale
        ],
    )
    command_inbox.forget_old(session, now)


async def rerun(
    occurrence: ClaimedOccurrence,
    scheduler: Scheduler,
    *,
    runtime: SlackRuntime,
    client_for: ClientFor,
) -> None:
    """Run a stored command again and answer it, or give it up and tell its author."""
    deps = scheduler.deps
    command = await asyncio.to_thread(_pending, deps, int(occurrence.subject_ref))
    if command is None:
        return  # run meanwhile (its first run was only slow), or forgotten
    expired = deps.clock() > command.received_at + RESPONSE_URL_LIFETIME
    client = await client_for(command.workspace_id)
    if expired or occurrence.attempt > RERUN_ATTEMPTS or client is None:
        await give_up(command, scheduler)
        return
    logger.warning("running again a slash command its instance did not finish")
    caller = Caller(
        workspace_id=command.workspace_id,
        user_ref=command.user_ref,
        platform="slack",
        is_admin=runtime.admins.known(command.workspace_id, command.user_ref),
        display_name=command.user_name,
    )
    respond = (
        ResponseUrl(command.response_url, runtime.http_session) if command.response_url else None
    )
    try:
        await run_and_answer(
            deps=deps,
            runtime=runtime,
            client=client,
            caller=caller,
            name=command.command,
            args=typed_text(command.text),
            channel_ref=command.channel_ref,
            inbox_id=command.id,
            respond=respond,
            trigger_id=None,
        )
    except Exception:
        if occurrence.attempt < RERUN_ATTEMPTS:
            raise  # tried again after the delivery's back-off
        logger.exception("a slash command failed on its last run")
        await give_up(command, scheduler)


async def give_up(command: PendingCommand, scheduler: Scheduler) -> None:
    """Tell the author their command was not run, then record it as failed.

    Told first: a crash in between tells them twice rather than never.
    """
    deps = scheduler.deps
    typed = f"/{command.command} {command.text}".rstrip()
    message = replies.message(
        replies.text(
            "Sorry: bridgebot could not run your command ",
            replies.code(typed),
            " and nothing was saved. Please type it again.",
        )
    )
    try:
        await scheduler.notifier.post(command.workspace_id, command.user_ref, message)
    except Exception:  # noqa: BLE001 - recorded as failed all the same, never run late
        logger.exception("could not tell the author of a failed slash command")
    await asyncio.to_thread(_fail, deps, command.id)


def _pending(deps: Deps, command_id: int) -> PendingCommand | None:
    with deps.session_factory() as session:
        return command_inbox.pending(session, command_id)


def _fail(deps: Deps, command_id: int) -> None:
    with deps.session_factory.begin() as session:
        command_inbox.finish(
            session=session, command_id=command_id, now=deps.clock(), outcome=InboxOutcome.FAILED
        )
