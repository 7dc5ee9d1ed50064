"""The Teams settings checked before start-up (no SDK import, so the command line stays quick)."""

from __future__ import annotations

import re

from bot.settings import Settings

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def teams_configured(settings: Settings) -> bool:
    return bool(settings.teams_app_id)


def settings_problem(settings: Settings) -> str | None:
    """One line naming a bad Teams setting, or None (checked before anything starts)."""
    if not settings.teams_app_id:
        if settings.teams_app_password or settings.teams_tenant_id:
            return "TEAMS_APP_ID: is required with TEAMS_APP_PASSWORD or TEAMS_TENANT_ID"
        return None
    if not GUID.match(settings.teams_app_id):
        got = settings.teams_app_id
        return f"TEAMS_APP_ID: must be the bot's Microsoft App ID, a GUID (got {got!r})"
    if settings.teams_app_password is None:
        return "TEAMS_APP_PASSWORD: is required with TEAMS_APP_ID (the bot's client secret)"
    if settings.teams_tenant_id and not GUID.match(settings.teams_tenant_id):
        got = settings.teams_tenant_id
        return f"TEAMS_TENANT_ID: must be a Microsoft Entra tenant id, a GUID (got {got!r})"
    return None
