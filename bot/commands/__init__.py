"""Platform-neutral commands; each feature registers itself on the router here."""

from __future__ import annotations

from bot.commands import bridge, glossary
from bot.router import CommandRouter

# Explicit, in the order `/bridge help` lists them; no auto-discovery.
FEATURES = (bridge, glossary)


def build_router() -> CommandRouter:
    """A router with every feature's commands registered."""
    router = CommandRouter()
    for feature in FEATURES:
        feature.register(router)
    return router
