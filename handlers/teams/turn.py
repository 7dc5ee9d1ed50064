"""Reading an incoming Teams activity: who, in which tenant and conversation, saying what."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any

from microsoft_teams.api import ActivityBase

from handlers.teams.store import CHANNEL, CHAT

PERSONAL = "personal"
THREAD_SUFFIX = ";messageid="
# bridgebot's channel_ref columns hold 64 characters; longer chat ids get a short stand-in.
MAX_REF = 64
_MENTION = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)


def conversation_ref(conversation_id: str) -> str:
    """The channel_ref for a channel or group chat (its id, or a stable short stand-in)."""
    base = conversation_id.split(THREAD_SUFFIX, 1)[0]
    if len(base) <= MAX_REF:
        return base
    return "chat:" + hashlib.sha256(base.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Turn:
    """One incoming activity, as the rest of the adapter needs it."""

    tenant_id: str
    user_ref: str  # the person's Entra object id (or their Teams id when Teams sends none)
    member_id: str  # the person's 29:… id, needed to open a 1:1 chat
    user_name: str | None
    service_url: str
    conversation_id: str  # as received: a channel thread keeps its ;messageid=
    kind: str  # personal | chat | channel
    channel_ref: str | None  # None in a 1:1 chat with the bot
    team_id: str | None
    channel_name: str | None
    bot_id: str
    activity_id: str | None
    reply_to_id: str | None

    @property
    def workspace_id(self) -> str:
        """A workspace on Teams is the tenant: every team and chat in it shares one."""
        return self.tenant_id

    @property
    def personal(self) -> bool:
        return self.kind == PERSONAL

    @property
    def base_conversation_id(self) -> str:
        return self.conversation_id.split(THREAD_SUFFIX, 1)[0]

    @property
    def reference_kind(self) -> str:
        return CHANNEL if self.kind == CHANNEL else CHAT


def _tenant(activity: ActivityBase) -> str:
    tenant = activity.conversation.tenant_id
    if not tenant and activity.channel_data and activity.channel_data.tenant:
        tenant = activity.channel_data.tenant.id
    return tenant or ""


def read_turn(activity: ActivityBase) -> Turn:
    """The Turn of an activity Teams sent (message, card action or conversation update)."""
    conversation = activity.conversation
    raw_kind = conversation.conversation_type or PERSONAL
    kind = {"groupChat": CHAT, "channel": CHANNEL}.get(raw_kind, PERSONAL)
    data = activity.channel_data
    team_id = data.team.id if data and data.team else None
    channel_id = data.channel.id if data and data.channel and data.channel.id else None
    channel_name = data.channel.name if data and data.channel else None
    channel_ref: str | None = None
    if kind == CHANNEL:
        channel_ref = conversation_ref(channel_id or conversation.id)
    elif kind == CHAT:
        channel_ref = conversation_ref(conversation.id)
        channel_name = channel_name or conversation.name
    sender = activity.from_
    return Turn(
        tenant_id=_tenant(activity),
        user_ref=sender.aad_object_id or sender.id,
        member_id=sender.id,
        user_name=sender.name,
        service_url=(activity.service_url or "").rstrip("/"),
        conversation_id=conversation.id,
        kind=kind,
        channel_ref=channel_ref,
        team_id=team_id,
        channel_name=channel_name,
        bot_id=activity.recipient.id,
        activity_id=activity.id,
        reply_to_id=activity.reply_to_id,
    )


def mentions(activity: ActivityBase) -> list[tuple[str, str, str]]:
    """(mention text, mentioned id, mentioned name) for every @mention in the activity."""
    found = []
    for entity in activity.entities or []:
        data: dict[str, Any] = entity.model_dump(by_alias=True, exclude_none=True)
        if data.get("type") != "mention":
            continue
        mentioned = data.get("mentioned") or {}
        found.append(
            (
                str(data.get("text") or ""),
                str(mentioned.get("id", "")),
                str(mentioned.get("name") or ""),
            )
        )
    return found


def channel_mentions(activity: ActivityBase) -> dict[str, str]:
    """Channels @mentioned in the message, name (lower-cased) to channel_ref."""
    return {
        name.lower(): conversation_ref(mentioned_id)
        for _, mentioned_id, name in mentions(activity)
        if mentioned_id.startswith("19:") and name
    }


def command_text(text: str | None, activity: ActivityBase) -> str:
    """What the person typed after @bridgebot: other mentions become plain @Name text."""
    value = text or ""
    bot_id = activity.recipient.id
    addressed = False
    for mention_text, mentioned_id, _ in mentions(activity):
        if mentioned_id == bot_id and mention_text:
            value = value.replace(mention_text, " ")
            addressed = True
    if not addressed and activity.conversation.conversation_type not in {None, PERSONAL}:
        # Without a mention entity, a leading mention is the bot being addressed.
        value = re.sub(r"^\s*<at>.*?</at>", " ", value, count=1, flags=re.IGNORECASE | re.DOTALL)
    value = _MENTION.sub(lambda match: "@" + match.group(1), value)
    value = html.unescape(value).replace("\u00a0", " ")
    return re.sub(r"[ \t]+", " ", value).strip()
