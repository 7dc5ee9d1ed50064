"""The App Home tab, published when a person opens it."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.home import build_home
from bot.deps import Deps
from bot.router import run_in_context
from handlers.slack.background import answered_at_ack
from handlers.slack.replies import publish_home
from handlers.slack.request_scope import make_caller, request_scope, run_resolving_admin
from handlers.slack.runtime import SlackRuntime


def register(app: AsyncApp, deps: Deps, runtime: SlackRuntime) -> None:
    app.event("app_home_opened")(
        answered_at_ack(
            partial(handle_app_home_opened, deps=deps, runtime=runtime), runtime.background
        )
    )


async def handle_app_home_opened(
    event: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    *,
    deps: Deps,
    runtime: SlackRuntime,
) -> None:
    """Handle `app_home_opened`: publish the person's home view."""
    if event.get("tab", "home") != "home":
        return
    team_id = body.get("team_id") or event.get("view", {}).get("team_id", "")
    caller = make_caller(runtime, team_id=team_id, user_id=event["user"], name=None)
    reply, _ = await run_resolving_admin(
        request_scope(deps, caller, None),
        lambda scope: run_in_context(scope, build_home, label="app home"),
        client=client,
        runtime=runtime,
    )
    await publish_home(client, event["user"], reply)
