"""What every Slack listener needs: who the caller is and the arguments of a unit of work."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.router import Caller
from handlers.slack.people import SlackRuntime
from handlers.slack.slash_text import resolve_channel


async def make_caller(
    client: AsyncWebClient, runtime: SlackRuntime, *, team_id: str, user_id: str, name: str | None
) -> Caller:
    return Caller(
        workspace_id=team_id,
        user_ref=user_id,
        platform="slack",
        is_admin=await runtime.admins.is_admin(client, team_id, user_id),
        display_name=name,
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
