"""Build the Bolt AsyncApp for one of the three Slack modes (HTTP, Socket Mode, OAuth)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.db import make_async_engine
from bot.deps import Deps
from bot.settings import RunMode, Settings
from handlers.slack import (
    commands,
    dedupe,
    errors,
    home,
    inbox_recovery,
    installation,
    interactions,
    own_workspace,
)
from handlers.slack.background import BackgroundWork
from handlers.slack.client import make_web_client
from handlers.slack.manifest import BOT_SCOPES
from handlers.slack.notifier import SlackNotifier
from handlers.slack.payload_logging import slack_library_logger
from handlers.slack.runtime import SlackRuntime
from handlers.slack.signature import quiet_bolt_verification_log
from schedules.scheduler import Scheduler

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def create_installation_store(settings: Settings) -> AsyncSQLAlchemyInstallationStore | None:
    """Each workspace's bot token, in OAuth mode; None with the one bot token of the settings.

    Built once and shared by the notifier and the app's OAuth flow.
    """
    if settings.run_mode is not RunMode.SLACK_OAUTH:
        return None
    assert settings.slack_client_id is not None
    return AsyncSQLAlchemyInstallationStore(
        client_id=settings.slack_client_id, engine=make_async_engine(settings.database_url)
    )


def create_slack_notifier(
    settings: Settings,
    session: aiohttp.ClientSession,
    installations: AsyncSQLAlchemyInstallationStore | None = None,
) -> SlackNotifier:
    """Where scheduled messages go on Slack: posted with each workspace's bot token."""
    if installations is None:
        fixed_token = _secret(settings.slack_bot_token)

        async def tokens(workspace_id: str) -> str | None:
            return fixed_token

    else:
        store = installations

        async def tokens(workspace_id: str) -> str | None:
            bot = await store.async_find_bot(enterprise_id=None, team_id=workspace_id)
            return bot.bot_token if bot else None

    return SlackNotifier(settings, tokens, session)


def create_slack_app(
    settings: Settings,
    deps: Deps,
    session: aiohttp.ClientSession,
    background: BackgroundWork | None = None,
    *,
    installations: AsyncSQLAlchemyInstallationStore | None = None,
    wake: Callable[[], None] = lambda: None,
    scheduler: Scheduler | None = None,
    runtime: SlackRuntime | None = None,
) -> AsyncApp:
    """The Bolt app with every listener registered.

    Listeners answer Slack when they call ack() and go on in `background` (see
    answered_at_ack), so Bolt runs them before responding (process_before_response).
    `wake` runs the scheduler at once, for the posts a command queued. In OAuth mode
    `installations` is the store create_installation_store built (one is made if not).
    With `scheduler`, slash commands an instance acknowledged and never finished are run
    again by its tick (see inbox_recovery). With `runtime`, the listeners share the
    caller's state (the server answers lookups with it too, see lookups_in_ack).
    """
    client = make_web_client(settings, token=_secret(settings.slack_bot_token), session=session)
    quiet_bolt_verification_log()
    if settings.run_mode is RunMode.SLACK_OAUTH:
        installations = installations or create_installation_store(settings)
        app = _oauth_app(settings, client, installations)
    else:
        # The client carries the bot token (and the API URL and retry handlers).
        app = AsyncApp(
            signing_secret=_secret(settings.slack_signing_secret),
            client=client,
            process_before_response=True,
            logger=slack_library_logger(),  # never below INFO: no payloads in the logs
        )

    errors.mark_verified_requests(app)  # before any middleware of ours
    runtime = runtime or SlackRuntime(settings, session, background, wake=wake)
    if settings.run_mode is not RunMode.SLACK_OAUTH:
        # Before dedupe, so another workspace's requests leave nothing behind.
        own_workspace.register(app, runtime)
    else:
        own_workspace.register_authorized(app, runtime)
    dedupe.register(app, deps)
    commands.register(app, deps, runtime)
    interactions.register(app, deps, runtime)
    home.register(app, deps, runtime)
    installation.register(app, runtime)
    errors.register(app)
    if scheduler is not None:
        inbox_recovery.register(
            scheduler, runtime, _workspace_clients(settings, client, session, installations)
        )
    return app


def _workspace_clients(
    settings: Settings,
    client: AsyncWebClient,
    session: aiohttp.ClientSession,
    installations: AsyncSQLAlchemyInstallationStore | None,
) -> inbox_recovery.ClientFor:
    """A workspace's client outside a request: the one bot token, or its installation's."""

    async def client_for(workspace_id: str) -> AsyncWebClient | None:
        if installations is None:
            return client
        bot = await installations.async_find_bot(enterprise_id=None, team_id=workspace_id)
        if bot is None or not bot.bot_token:
            return None
        return make_web_client(settings, token=bot.bot_token, session=session)

    return client_for


def _oauth_app(
    settings: Settings, client: object, installations: AsyncSQLAlchemyInstallationStore | None
) -> AsyncApp:
    assert settings.slack_client_id is not None and installations is not None
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=_secret(settings.slack_client_secret),
        scopes=list(BOT_SCOPES),
        installation_store=installations,
        state_store=AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=600, engine=installations.engine
        ),
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
    return app
