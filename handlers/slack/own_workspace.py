"""Bolt middleware: with one bot token, only the workspace it was installed in is served."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from handlers.slack.runtime import SlackRuntime

logger = logging.getLogger(__name__)

OTHER_WORKSPACE = (
    "bridgebot is not installed in your workspace, so it cannot run commands for you here."
)


class OnlyOwnWorkspace(AsyncMiddleware):
    """Refuses requests whose workspace is not the bot token's (see register), and tells
    the runtime which workspace that is (for lookups_in_ack)."""

    def __init__(self, runtime: SlackRuntime) -> None:
        self._runtime = runtime

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        context = req.context
        # Bolt's single-team authorization sets the token's team, from auth.test.
        authorized = context.authorize_result
        own = authorized.team_id if authorized is not None else None
        if own:
            self._runtime.own_team_id = own
        if own and context.team_id and context.team_id != own:
            logger.info("refused a request from another workspace")
            # A person typing a command is told why; anything else is acknowledged
            # (a refusal would make Slack retry it) and dropped.
            return BoltResponse(status=200, body=OTHER_WORKSPACE if "command" in req.body else "")
        await next()
        return resp


def register(app: AsyncApp, runtime: SlackRuntime) -> None:
    """Refuse requests whose workspace is not the bot token's (register before the rest).

    A correctly signed request can still come from another workspace: a person of
    another organisation in a Slack Connect channel, for one. Run for them, it would
    create a workspace of theirs served by this one's token. (A middleware class: Bolt
    builds every listener argument for a function middleware, on every request.)
    """
    app.middleware(OnlyOwnWorkspace(runtime))


class RememberAuthorized(AsyncMiddleware):
    """With OAuth: notes each workspace whose installation Bolt found (it runs only after
    Bolt's authorization passed), so lookups_in_ack may answer it without Bolt."""

    def __init__(self, runtime: SlackRuntime) -> None:
        self._runtime = runtime

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        context = req.context
        if context.authorize_result is not None and context.team_id:
            self._runtime.authorized.confirm(context.enterprise_id or "", context.team_id)
        await next()
        return resp


def register_authorized(app: AsyncApp, runtime: SlackRuntime) -> None:
    """With OAuth: remember the workspaces Bolt authorized (register before the rest)."""
    app.middleware(RememberAuthorized(runtime))
