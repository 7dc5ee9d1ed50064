"""What every Slack listener needs: who the caller is and the arguments of a unit of work."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.router import AdminCheckFailed, Caller
from handlers.slack.people import SlackRuntime
from handlers.slack.slash_text import resolve_channel

# How long a command waits for Slack to say whether its caller is an admin.
ADMIN_CHECK_SECONDS = 10.0


async def make_caller(
    client: AsyncWebClient, runtime: SlackRuntime, *, team_id: str, user_id: str, name: str | None
) -> Caller:
    """The caller; whether they are an admin is asked of Slack only if a command needs it.

    Commands run in worker threads; the check (users.info, cached) runs on this event
    loop, so a vote or a lookup costs no Slack call for it.
    """
    loop = asyncio.get_running_loop()

    @functools.cache
    def admin_check() -> bool:
        if threading.get_ident() == loop_thread:
            raise RuntimeError("admin_check blocks: call it from a worker thread")
        asking = asyncio.run_coroutine_threadsafe(
            runtime.admins.is_admin(client, team_id, user_id), loop
        )
        try:
            return asking.result(ADMIN_CHECK_SECONDS)
        except TimeoutError:
            asking.cancel()
            raise AdminCheckFailed("Slack") from None

    loop_thread = threading.get_ident()
    return Caller(
        workspace_id=team_id,
        user_ref=user_id,
        platform="slack",
        display_name=name,
        admin_check=admin_check,
    )


def unit_of_work(deps: Deps, caller: Caller, channel_ref: str | None) -> dict[str, Any]:
    """Keyword arguments for bot.router.run_command / run_action / run_form."""
    return {
        "session_factory": deps.session_factory,
        "router": deps.router,
        "caller": caller,
        "now": deps.clock(),
        "default_timezone": deps.settings.bridgebot_timezone,
        "channel_ref": channel_ref,
        "resolve_channel": resolve_channel,
    }


def interaction_caller_ids(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(team id, user id, user name) from an interactive payload."""
    user = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or user.get("team_id", "")
    return team, user.get("id", ""), user.get("username") or user.get("name")
