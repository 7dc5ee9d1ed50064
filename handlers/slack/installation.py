"""Uninstalls and revoked tokens: the workspace's tokens are deleted, its data is kept."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine

from handlers.slack.runtime import SlackRuntime

logger = logging.getLogger(__name__)

KEPT = "its data is kept until it is reinstalled or an admin asks for its deletion"


def register(app: AsyncApp, runtime: SlackRuntime | None = None) -> None:
    """Listen for `app_uninstalled` and `tokens_revoked` in every Slack mode.

    With OAuth, Bolt's own revocation listeners delete the stored tokens, so scheduled
    posts find none and are recorded as not delivered. With one fixed token there is
    nothing stored to delete: Slack refuses the token from now on, with the same result.
    Either way `runtime` stops answering the workspace's lookups without Bolt.
    """
    store = app.installation_store
    revocation = AsyncTokenRevocationListeners(store) if store is not None else None
    app.event("app_uninstalled")(
        partial(handle_app_uninstalled_event, revocation=revocation, runtime=runtime)
    )
    app.event("tokens_revoked")(
        partial(handle_tokens_revoked_event, revocation=revocation, runtime=runtime)
    )


def _forget(runtime: SlackRuntime | None, context: AsyncBoltContext) -> None:
    if runtime is not None:
        runtime.authorized.forget(context.enterprise_id or "", context.team_id or "")


async def handle_app_uninstalled_event(
    context: AsyncBoltContext,
    *,
    revocation: AsyncTokenRevocationListeners | None,
    runtime: SlackRuntime | None = None,
) -> None:
    """Handle the `app_uninstalled` event: forget every token of the workspace."""
    _forget(runtime, context)
    if revocation is not None:
        await revocation.handle_app_uninstalled_events(context)
    logger.warning("bridgebot was uninstalled from workspace %s; %s", context.team_id, KEPT)


async def handle_tokens_revoked_event(
    event: dict[str, Any],
    context: AsyncBoltContext,
    *,
    revocation: AsyncTokenRevocationListeners | None,
    runtime: SlackRuntime | None = None,
) -> None:
    """Handle the `tokens_revoked` event: forget the revoked bot and people's tokens."""
    _forget(runtime, context)
    if revocation is not None:
        await revocation.handle_tokens_revoked_events(event, context)
    tokens = event.get("tokens") or {}
    logger.warning(
        "Slack revoked %d bot and %d user tokens of workspace %s; %s",
        len(tokens.get("bot") or []),
        len(tokens.get("oauth") or []),
        context.team_id,
        KEPT,
    )


def delete_stored_tokens(engine: Engine, client_id: str, workspace_id: str) -> None:
    """Delete every bot and user token stored for the workspace (multi-workspace mode)."""
    store = SQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    store.delete_all(enterprise_id=None, team_id=workspace_id)
