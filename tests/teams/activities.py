"""Activities built as Teams sends them to a bot's messaging endpoint."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

APP_ID = "0b0b0b0b-1111-4222-8333-444455556666"
BOT_ID = f"28:{APP_ID}"
TENANT_A = "aaaa0000-0000-4000-8000-00000000000a"
TENANT_B = "bbbb0000-0000-4000-8000-00000000000b"

_ids = itertools.count(1_650_000_000_000)


@dataclass(frozen=True)
class Person:
    name: str
    member_id: str  # 29:…
    aad: str  # Entra object id: bridgebot's user_ref
    tenant: str = TENANT_A

    def account(self) -> dict[str, Any]:
        return {"id": self.member_id, "name": self.name, "aadObjectId": self.aad}


def person(name: str, number: int, tenant: str = TENANT_A) -> Person:
    return Person(
        name,
        f"29:1{name.lower()}-{number:04d}",
        f"{number:08x}-0000-4000-8000-{number:012x}",
        tenant,
    )


@dataclass(frozen=True)
class Place:
    """Where an activity happens: a 1:1 chat, a channel of a team, or a group chat."""

    kind: str  # personal | channel | groupChat
    conversation_id: str
    tenant: str = TENANT_A
    team_id: str | None = None
    name: str | None = None

    @property
    def channel_id(self) -> str:
        return self.conversation_id.split(";", 1)[0]


def personal(who: Person) -> Place:
    return Place("personal", f"a:1-personal-{who.member_id}", who.tenant)


def channel(
    channel_id: str, team_id: str, tenant: str = TENANT_A, name: str | None = None
) -> Place:
    return Place("channel", channel_id, tenant, team_id, name)


def _conversation(place: Place, thread: str | None) -> dict[str, Any]:
    conversation: dict[str, Any] = {
        "conversationType": place.kind,
        "tenantId": place.tenant,
        "id": place.conversation_id,
    }
    if place.kind == "channel":
        conversation["isGroup"] = True
        conversation["id"] = (
            f"{place.channel_id};messageid={thread}" if thread else place.channel_id
        )
    elif place.kind == "groupChat":
        conversation["isGroup"] = True
    return conversation


def _channel_data(place: Place) -> dict[str, Any]:
    data: dict[str, Any] = {"tenant": {"id": place.tenant}}
    if place.kind == "channel":
        channel_info: dict[str, Any] = {"id": place.channel_id}
        if place.name:
            channel_info["name"] = place.name
        data |= {
            "teamsChannelId": place.channel_id,
            "teamsTeamId": place.team_id,
            "channel": channel_info,
            "team": {"id": place.team_id},
        }
    return data


def _base(
    kind: str, who: Person, place: Place, service_url: str, thread: str | None
) -> dict[str, Any]:
    return {
        "type": kind,
        "id": str(next(_ids)),
        "timestamp": "2026-03-04T12:00:00.000Z",
        "localTimestamp": "2026-03-04T12:00:00.000+00:00",
        "channelId": "msteams",
        "serviceUrl": service_url + "/",
        "from": who.account(),
        "conversation": _conversation(place, thread),
        "recipient": {"id": BOT_ID, "name": "bridgebot"},
        "channelData": _channel_data(place),
        "locale": "en-US",
    }


def message(
    service_url: str,
    text: str,
    who: Person,
    place: Place,
    *,
    mentions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A message typed to the bot; outside a 1:1 chat it starts with @bridgebot."""
    activity = _base("message", who, place, service_url, None)
    entities: list[dict[str, Any]] = [
        {
            "type": "clientInfo",
            "locale": "en-US",
            "country": "US",
            "platform": "Web",
            "timezone": "Europe/London",
        }
    ]
    if place.kind != "personal":
        text = f"<at>bridgebot</at> {text}"
        entities.append(
            {
                "type": "mention",
                "text": "<at>bridgebot</at>",
                "mentioned": {"id": BOT_ID, "name": "bridgebot"},
            }
        )
    entities.extend(mentions or [])
    if place.kind == "channel":
        activity["conversation"]["id"] = f"{place.channel_id};messageid={activity['id']}"
    return activity | {"text": text, "textFormat": "plain", "entities": entities}


def card_action(
    service_url: str,
    who: Person,
    place: Place,
    action: dict[str, Any],
    *,
    reply_to_id: str,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A click on an Action.Execute button of a card the bot posted (message reply_to_id)."""
    thread = reply_to_id if place.kind == "channel" else None
    activity = _base("invoke", who, place, service_url, thread)
    data = dict(action.get("data") or {}) | (inputs or {})
    return activity | {
        "name": "adaptiveCard/action",
        "replyToId": reply_to_id,
        "value": {
            "action": {
                "type": "Action.Execute",
                "title": action.get("title"),
                "verb": action.get("verb"),
                "data": data,
            },
            "trigger": "manual",
        },
    }


def bot_added(service_url: str, who: Person, place: Place) -> dict[str, Any]:
    """bridgebot installed in a team (its General channel) or in a 1:1 chat."""
    activity = _base("conversationUpdate", who, place, service_url, None)
    return activity | {"membersAdded": [{"id": BOT_ID}]}


def bot_removed(service_url: str, who: Person, place: Place) -> dict[str, Any]:
    """bridgebot removed from a team (the event arrives in its General channel)."""
    activity = _base("conversationUpdate", who, place, service_url, None)
    activity["channelData"]["eventType"] = "teamMemberRemoved"
    return activity | {"membersRemoved": [{"id": BOT_ID}]}


def channel_deleted(service_url: str, who: Person, place: Place, deleted: Place) -> dict[str, Any]:
    activity = _base("conversationUpdate", who, place, service_url, None)
    activity["channelData"] |= {
        "eventType": "channelDeleted",
        "channel": {"id": deleted.channel_id, "name": deleted.name},
    }
    return activity


def members_added(
    service_url: str, who: Person, place: Place, added: list[Person]
) -> dict[str, Any]:
    activity = _base("conversationUpdate", who, place, service_url, None)
    activity["channelData"]["eventType"] = "teamMemberAdded"
    return activity | {"membersAdded": [p.account() for p in added]}


def message_action(
    service_url: str,
    who: Person,
    place: Place,
    command_id: str,
    html: str,
    *,
    context: str = "message",
) -> dict[str, Any]:
    """… › More actions › an action of bridgebot's, chosen on a message whose body is `html`."""
    activity = _base("invoke", who, place, service_url, None)
    return activity | {
        "name": "composeExtension/fetchTask",
        "value": {
            "commandId": command_id,
            "commandContext": context,
            "context": {"theme": "default"},
            "messagePayload": {
                "id": str(next(_ids)),
                "messageType": "message",
                "from": {"user": {"id": "29:1someone", "displayName": "Someone"}},
                "body": {"contentType": "html", "content": html},
                "attachments": [],
                "mentions": [],
                "reactions": [],
            },
        },
    }


def search(
    service_url: str, who: Person, place: Place, dataset: str, query: str, top: int = 15
) -> dict[str, Any]:
    """Someone typing `query` in a card's search-as-you-type choice (Data.Query `dataset`)."""
    activity = _base("invoke", who, place, service_url, None)
    return activity | {
        "name": "application/search",
        "value": {
            "kind": "search",
            "queryText": query,
            "queryOptions": {"skip": 0, "top": top},
            "dataset": dataset,
        },
    }


def group_chat(chat_id: str, tenant: str = TENANT_A, name: str | None = None) -> Place:
    return Place("groupChat", chat_id, tenant, None, name)


def bot_removed_from_chat(service_url: str, who: Person, place: Place) -> dict[str, Any]:
    """Someone removed bridgebot from a group chat."""
    activity = _base("conversationUpdate", who, place, service_url, None)
    return activity | {"membersRemoved": [{"id": BOT_ID}]}


def uninstalled(service_url: str, who: Person, place: Place) -> dict[str, Any]:
    """bridgebot's app removed: a personal uninstall in a 1:1 chat, or from a chat or team."""
    activity = _base("installationUpdate", who, place, service_url, None)
    return activity | {"action": "remove"}
