"""Build the Bolt AsyncApp for one of the three Slack modes (HTTP, Socket Mode, OAuth)."""

from __future__ import annotations

import logging

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

from bot.db import make_async_engine
from bot.deps import Deps
from bot.settings import RunMode, Settings
from handlers.slack import (
    commands,
    dedupe,
    errors,
    home,
    installation,
    interactions,
    own_workspace,
)
from handlers.slack.client import make_web_client
from handlers.slack.errors import BackgroundWork
from handlers.slack.manifest import BOT_SCOPES
from handlers.slack.notifier import SlackNotifier, TokenLookup
from handlers.slack.payload_logging import slack_library_logger
from handlers.slack.people import SlackRuntime
from handlers.slack.signature import quiet_bolt_verification_log

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def create_slack_app(
    settings: Settings,
    deps: Deps,
    session: aiohttp.ClientSession,
    background: BackgroundWork | None = None,
) -> AsyncApp:
    """The Bolt app with every listener registered; also installs the Slack notifier.

    Listeners answer Slack when they call ack() and go on in `background` (see
    answered_at_ack), so Bolt runs them before responding (process_before_response).
    """
    client = make_web_client(settings, token=_secret(settings.slack_bot_token), session=session)
    quiet_bolt_verification_log()
    if settings.run_mode is RunMode.SLACK_OAUTH:
        app, tokens = _oauth_app(settings, client)
    else:
        # The client carries the bot token (and the API URL and retry handlers).
        app = AsyncApp(
            signing_secret=_secret(settings.slack_signing_secret),
            client=client,
            process_before_response=True,
            logger=slack_library_logger(),  # never below INFO: no payloads in the logs
        )
        fixed_token = _secret(settings.slack_bot_token)

        async def tokens(_workspace_id: str) -> str | None:
            return fixed_token

    errors.mark_verified_requests(app)  # before any middleware of ours
    if settings.run_mode is not RunMode.SLACK_OAUTH:
        # Before dedupe, so another workspace's requests leave nothing behind.
        own_workspace.register(app)
    dedupe.register(app, deps)
    runtime = SlackRuntime(settings, session, background)
    commands.register(app, deps, runtime)
    interactions.register(app, deps, runtime)
    home.register(app, deps, runtime)
    installation.register(app)
    errors.register(app)
    deps.notifier = SlackNotifier(settings, tokens, session)
    return app


def _oauth_app(settings: Settings, client: object) -> tuple[AsyncApp, TokenLookup]:
    assert settings.slack_client_id is not None
    async_engine = make_async_engine(settings.database_url)
    installations = AsyncSQLAlchemyInstallationStore(
        client_id=settings.slack_client_id, engine=async_engine
    )
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=_secret(settings.slack_client_secret),
        scopes=list(BOT_SCOPES),
        installation_store=installations,
        state_store=AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=async_engine),
        state_validation_enabled=True,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
    )
    app = AsyncApp(
        signing_secret=_secret(settings.slack_signing_secret),
        oauth_settings=oauth_settings,
        client=client,  # type: ignore[arg-type]
        process_before_response=True,
        logger=slack_library_logger(),
    )

    async def tokens(workspace_id: str) -> str | None:
        bot = await installations.async_find_bot(enterprise_id=None, team_id=workspace_id)
        return bot.bot_token if bot else None

    return app, tokens
