"""The Teams settings checked before start-up (no SDK import, so the command line stays quick)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from bot.settings import Settings

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# What the Teams SDK reads from the environment when bridgebot leaves an option unset.
# bridgebot sets the cloud and the service URL itself (the public cloud; each activity
# names its own service URL), and its own TEAMS_* settings name the rest, so one of these
# in the environment would only change the bot's identity behind bridgebot's back.
SDK_IDENTITY_VARIABLES = {
    "CLIENT_ID": "TEAMS_APP_ID",
    "CLIENT_SECRET": "TEAMS_APP_PASSWORD",
    "TENANT_ID": "TEAMS_TENANT_ID",
    "MANAGED_IDENTITY_CLIENT_ID": "TEAMS_MANAGED_IDENTITY_CLIENT_ID",
}


def teams_configured(settings: Settings) -> bool:
    return bool(settings.teams_app_id)


def settings_problem(settings: Settings, environ: Mapping[str, str] = os.environ) -> str | None:
    """One line naming a bad Teams setting, or None (checked before anything starts)."""
    identity = settings.teams_managed_identity_client_id
    if not settings.teams_app_id:
        if settings.teams_app_password or settings.teams_tenant_id or identity:
            return (
                "TEAMS_APP_ID: is required with TEAMS_APP_PASSWORD, TEAMS_TENANT_ID or "
                "TEAMS_MANAGED_IDENTITY_CLIENT_ID"
            )
        return None
    if not GUID.match(settings.teams_app_id):
        got = settings.teams_app_id
        return f"TEAMS_APP_ID: must be the bot's Microsoft App ID, a GUID (got {got!r})"
    if settings.teams_app_password is None and not identity:
        return (
            "TEAMS_APP_PASSWORD: is required with TEAMS_APP_ID (the bot's client secret), "
            "unless TEAMS_MANAGED_IDENTITY_CLIENT_ID names a managed identity"
        )
    if settings.teams_app_password is not None and identity:
        return "TEAMS_MANAGED_IDENTITY_CLIENT_ID: set it or TEAMS_APP_PASSWORD, not both"
    if identity and not GUID.match(identity):
        return (
            "TEAMS_MANAGED_IDENTITY_CLIENT_ID: must be the managed identity's client id, "
            f"a GUID (got {identity!r})"
        )
    if identity and not settings.teams_tenant_id:
        return "TEAMS_TENANT_ID: is required with a managed identity (a single-tenant bot)"
    if settings.teams_tenant_id and not GUID.match(settings.teams_tenant_id):
        got = settings.teams_tenant_id
        return f"TEAMS_TENANT_ID: must be a Microsoft Entra tenant id, a GUID (got {got!r})"
    if not settings.public_url.startswith("https://"):
        return (
            "BRIDGEBOT_PUBLIC_URL: must be the https:// address Teams reaches this server at "
            "(charts and downloads in Teams cards load from it, and Teams shows no http "
            f"images), got {settings.public_url!r}"
        )
    for variable, ours in SDK_IDENTITY_VARIABLES.items():
        if environ.get(variable):
            return (
                f"{variable}: is set in the environment, where the Teams SDK would read it "
                f"as this bot's; bridgebot reads {ours}: set that instead and unset {variable}"
            )
    return None
