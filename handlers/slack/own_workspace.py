"""Bolt middleware: with one bot token, only the workspace it was installed in is served."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

logger = logging.getLogger(__name__)

OTHER_WORKSPACE = (
    "bridgebot is not installed in your workspace, so it cannot run commands for you here."
)


def register(app: AsyncApp) -> None:
    """Refuse requests whose workspace is not the bot token's (register before the rest).

    A correctly signed request can still come from another workspace: a person of
    another organisation in a Slack Connect channel, for one. Run for them, it would
    create a workspace of theirs served by this one's token.
    """

    async def only_own_workspace(
        context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        # Bolt's single-team authorization sets the token's team, from auth.test.
        authorized = context.authorize_result
        own = authorized.team_id if authorized is not None else None
        if own and context.team_id and context.team_id != own:
            logger.info("refused a request from another workspace")
            # A person typing a command is told why; anything else is acknowledged
            # (a refusal would make Slack retry it) and dropped.
            return BoltResponse(status=200, body=OTHER_WORKSPACE if "command" in body else "")
        await next()
        return None

    app.middleware(only_own_workspace)
