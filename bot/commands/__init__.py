"""Platform-neutral commands: each feature module registers itself on the router.

Adding a feature is one line in FEATURES: its module's `register(router, config)` adds its
commands (with their help and what each platform lists), buttons and forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from bot.router import CommandRouter
from bot.services.posting_limits import PostingLimits

# The feature modules under bot.commands, in the order the platforms list their commands.
FEATURES = ("glossary", "standup", "board", "pulse", "bridge", "pairs", "home")


@dataclass(frozen=True)
class FeatureConfig:
    """What features may need from the settings, the same for every feature."""

    secret_key: str = ""
    public_url: str = "http://127.0.0.1:3000"


def build_router(
    *,
    secret_key: str = "",
    public_url: str = "http://127.0.0.1:3000",
    posting_limits: PostingLimits | None = None,
) -> CommandRouter:
    """A router with every feature in FEATURES registered."""
    router = CommandRouter()
    if posting_limits is not None:
        router.posting_limits = posting_limits
    config = FeatureConfig(secret_key=secret_key, public_url=public_url)
    for name in FEATURES:
        import_module(f"{__name__}.{name}").register(router, config)
    return router
