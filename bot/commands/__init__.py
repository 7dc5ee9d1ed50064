"""Platform-neutral commands; each feature registers itself on the router here."""

from __future__ import annotations

from bot.commands import board, bridge, glossary, home, pulse, standup
from bot.router import CommandRouter
from bot.services.posting_limits import PostingLimits


def build_router(
    *,
    secret_key: str = "",
    public_url: str = "http://127.0.0.1:3000",
    posting_limits: PostingLimits | None = None,
) -> CommandRouter:
    """A router with every feature's commands registered, in the order help lists them."""
    router = CommandRouter()
    if posting_limits is not None:
        router.posting_limits = posting_limits
    bridge.register(router, secret_key=secret_key)
    glossary.register(router)
    standup.register(router, secret_key=secret_key, public_url=public_url)
    board.register(router)
    pulse.register(router, secret_key=secret_key)
    home.register(router)
    return router
