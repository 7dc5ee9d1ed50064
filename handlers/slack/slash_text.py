"""Reading what people type after a slash command."""

from __future__ import annotations

import re

# "<#C0123|general>" as Slack sends an escaped channel mention, or a bare channel id.
_CHANNEL_MENTION = re.compile(r"^<#(?P<id>[CG][A-Z0-9]+)(\|[^>]*)?>$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
# "<@U0123|ann>" as Slack escapes a mention, or a bare user id (W for Enterprise Grid).
_USER_MENTION = re.compile(r"^<@(?P<id>[UW][A-Z0-9]+)(\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def typed_text(value: str) -> str:
    """What the person typed: Slack sends &, < and > in message and command text as HTML
    entities (its own markup stays: "<@U0123>"), so "R&D" arrives as "R&amp;D"."""
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def resolve_channel(value: str) -> str | None:
    """A channel id from what the user typed after the command."""
    value = value.strip()
    if match := _CHANNEL_MENTION.match(value):
        return match["id"]
    if _CHANNEL_ID.match(value):
        return value
    return None


def resolve_user(value: str) -> str | None:
    """A user id from a picker's value or an escaped mention; None for a plain name."""
    value = value.strip()
    if match := _USER_MENTION.match(value):
        return match["id"]
    return value if _USER_ID.match(value) else None
