"""What every Slack listener needs: who the caller is, the request's scope, and running it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.router import AdminCheckFailed, AdminCheckNeeded, Caller, RequestScope
from handlers.slack.runtime import SlackRuntime
from handlers.slack.slash_text import resolve_channel, resolve_user

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How long a request waits for Slack to say whether its caller is an admin.
ADMIN_CHECK_SECONDS = 3.0


def make_caller(runtime: SlackRuntime, *, team_id: str, user_id: str, name: str | None) -> Caller:
    """The caller, an admin or not as far as is known without asking Slack (else unknown)."""
    return Caller(
        workspace_id=team_id,
        user_ref=user_id,
        platform="slack",
        is_admin=runtime.admins.known(team_id, user_id),
        display_name=name,
    )


def request_scope(deps: Deps, caller: Caller, channel_ref: str | None) -> RequestScope:
    """The scope of one Slack request, for bot.router.run_command / run_action / run_form."""
    return RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=caller,
        now=deps.clock(),
        default_timezone=deps.settings.bridgebot_timezone,
        channel_ref=channel_ref,
        resolve_channel=resolve_channel,
        resolve_user=resolve_user,
    )


async def ask_admin(
    client: AsyncWebClient, runtime: SlackRuntime, scope: RequestScope
) -> RequestScope:
    """The scope with Slack's answer to "is the caller an admin?", asked on the event loop
    with no transaction open; a failure or a slow answer is a failed check (not kept)."""
    caller = scope.caller
    try:
        is_admin: bool | None = await asyncio.wait_for(
            runtime.admins.is_admin(client, caller.workspace_id, caller.user_ref),
            ADMIN_CHECK_SECONDS,
        )
    except AdminCheckFailed:
        is_admin = None
    except TimeoutError:
        logger.warning("users.info took over %ss for an admin check", ADMIN_CHECK_SECONDS)
        is_admin = None
    return scope.with_admin_answer(is_admin)


async def run_resolving_admin(
    scope: RequestScope,
    run: Callable[[RequestScope], T],
    *,
    client: AsyncWebClient,
    runtime: SlackRuntime,
) -> tuple[T, RequestScope]:
    """Run a request in a worker thread; when it turns out to need to know whether the
    caller is an admin, ask Slack, then run it again with the answer.

    The first run's transaction rolled back when it raised AdminCheckNeeded, so no
    database lock is held while Slack answers and nothing is kept twice. Returns the
    result and the scope it ran with, so follow-up work needs no second question.
    """
    try:
        return await asyncio.to_thread(run, scope), scope
    except AdminCheckNeeded:
        pass
    scope = await ask_admin(client, runtime, scope)
    return await asyncio.to_thread(run, scope), scope


def interaction_caller_ids(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(team id, user id, user name) from an interactive payload."""
    user = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or user.get("team_id", "")
    return team, user.get("id", ""), user.get("username") or user.get("name")
