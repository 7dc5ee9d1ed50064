"""Build the Teams SDK App on bridgebot's FastAPI app: POST /api/messages, token validation on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Response
from microsoft_teams.api.auth.cloud_environment import PUBLIC, CloudEnvironment
from microsoft_teams.api.auth.credentials import TokenProvider
from microsoft_teams.apps import App
from microsoft_teams.apps.http import FastAPIAdapter

from bot.deps import Deps
from handlers.teams import actions, extensions, install, messages, store
from handlers.teams.config import settings_problem, teams_configured
from handlers.teams.connector import Connector
from handlers.teams.notifier import TeamsNotifier
from handlers.teams.pacing import TeamsPacer
from handlers.teams.runtime import FILES_PATH, TeamsRuntime

MESSAGING_PATH = "/api/messages"
# The SDK's default; bridgebot always answers at the service URL an activity names.
DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/teams"


@dataclass(frozen=True)
class TeamsOptions:
    """Seams for tests only; `bridgebot run` passes none of them.

    `token` supplies outgoing Bot Connector tokens without Azure AD; `cloud` points token
    validation at other signing keys. `dangerously_allow_unauthenticated_requests` turns
    incoming token validation off: it exists for tests and is deliberately not a setting.
    `pacer` paces Bot Connector calls on a test's clock.
    """

    token: TokenProvider | None = None
    cloud: CloudEnvironment | None = None
    pacer: TeamsPacer | None = None
    dangerously_allow_unauthenticated_requests: bool = False


@dataclass(frozen=True)
class TeamsBot:
    """The Teams App and its notifier; its handlers are added when it starts.

    The notifier comes first, for the scheduler to be built with it; the handlers then
    receive the scheduler's wake.
    """

    app: App
    runtime: TeamsRuntime
    notifier: TeamsNotifier

    async def start(self, wake: Callable[[], None]) -> None:
        """Add the handlers and register POST /api/messages (token validation on).

        `wake` runs the scheduler at once, for the posts a command or click queued.
        """
        messages.register(self.app, self.runtime, wake)
        actions.register(self.app, self.runtime, wake)
        extensions.register(self.app, self.runtime)
        install.register(self.app, self.runtime)
        await self.app.initialize()


__all__ = ["TeamsBot", "TeamsOptions", "create_teams_bot", "settings_problem", "teams_configured"]


def create_teams_bot(deps: Deps, api: FastAPI, options: TeamsOptions | None = None) -> TeamsBot:
    """The Teams App and its notifier, mounted on `api` (handlers added as it starts)."""
    options = options or TeamsOptions()
    settings = deps.settings
    assert settings.teams_app_id is not None
    password = settings.teams_app_password
    app = App(
        client_id=settings.teams_app_id,
        # A test's token provider replaces the client secret (no Azure AD call).
        client_secret=None
        if options.token
        else (password.get_secret_value() if password else None),
        tenant_id=settings.teams_tenant_id,
        # Used when there is no secret: the SDK then takes its tokens from the managed
        # identity (directly when it is the bot's own id, else by federation).
        managed_identity_client_id=settings.teams_managed_identity_client_id,
        token=options.token,
        # Always explicit, so the SDK never reads CLOUD or SERVICE_URL from the
        # environment (each activity names its own service URL; see config.py).
        cloud=options.cloud or PUBLIC,
        service_url=DEFAULT_SERVICE_URL,
        http_server_adapter=FastAPIAdapter(app=api),
        messaging_endpoint=MESSAGING_PATH,
        # Always explicit, so the SDK never reads DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS.
        dangerously_allow_unauthenticated_requests=options.dangerously_allow_unauthenticated_requests,
        state=False,
    )
    runtime = TeamsRuntime(
        deps,
        Connector(app.api, settings.teams_app_id, options.pacer),
        public_url=settings.public_url,
        tenant_id=settings.teams_tenant_id,
    )
    register_files(api, deps)
    return TeamsBot(app=app, runtime=runtime, notifier=TeamsNotifier(runtime))


def register_files(api: FastAPI, deps: Deps) -> None:
    """GET /teams/files/{token}/{name}: charts and downloads shown in cards.

    The unguessable token is the only key, as for calendar feeds; files expire.
    """

    @api.get(FILES_PATH + "/{token}/{filename}")
    async def teams_file(token: str, filename: str) -> Response:
        def load() -> store.StoredFile | None:
            with deps.session_factory() as session:
                return store.load_file(session=session, token=token, now=deps.clock())

        found = await asyncio.to_thread(load)
        if found is None:
            return Response(
                "No such file (files expire).", status_code=404, media_type="text/plain"
            )
        disposition = "inline" if found.content_type.startswith("image/") else "attachment"
        return Response(
            found.content,
            media_type=found.content_type,
            headers={"Content-Disposition": f'{disposition}; filename="{found.filename}"'},
        )
