"""The Teams app package: manifest.json listing the router's commands and message actions,
two icons, zipped.

The icons are drawn here (a bridge over two banks, in the two sides' colours) and
encoded as PNG with the standard library, so no image file is kept in the repository.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlparse

from bot.router import Command, MessageAction, TeamsMenuEntry

MANIFEST_SCHEMA = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
)
MANIFEST_VERSION = "1.17"
ACCENT = "#5B5FC7"
MARKETING = (217, 95, 2)  # the colours of the pulse chart
IT = (27, 158, 119)
WHITE = (255, 255, 255)

# Teams shows the command menu in the compose box: at most 10 lines per scope, titles up
# to 32 characters, descriptions up to 128.
MAX_MENU_ENTRIES = 10
MAX_TITLE = 32
MAX_DESCRIPTION = 128
# The adapter reads a bare "help" as "bridge help" (handlers/teams/messages.py).
HELP_ENTRY = TeamsMenuEntry("help", "What bridgebot does and every command")
# A message extension's command ids take at most 64 characters; a bot has at most 10.
MAX_EXTENSION_COMMANDS = 10
MAX_COMMAND_ID = 64


def command_menu(commands: Iterable[Command]) -> list[dict[str, str]]:
    """The compose-box menu for the router's commands; refuses one Teams would refuse."""
    entries = [HELP_ENTRY, *(entry for command in commands for entry in command.teams_entries())]
    if len(entries) > MAX_MENU_ENTRIES:
        raise ValueError(
            f"Teams lists at most {MAX_MENU_ENTRIES} commands and there are {len(entries)}: "
            "give a command teams_menu=() to leave it out of the menu"
        )
    for entry in entries:
        if len(entry.title) > MAX_TITLE or len(entry.description) > MAX_DESCRIPTION:
            raise ValueError(
                f"the Teams menu line {entry.title!r} is too long: titles take at most "
                f"{MAX_TITLE} characters, descriptions {MAX_DESCRIPTION}"
            )
    return [{"title": entry.title, "description": entry.description} for entry in entries]


def message_extension(app_id: str, actions: Iterable[MessageAction]) -> list[dict[str, Any]]:
    """The router's message actions as one message extension (… › More actions › TITLE).

    Each is an action command in the message context whose dialog bridgebot fills
    (fetchTask): Teams sends the message, bridgebot answers with a card only the person
    who chose it sees.
    """
    listed = list(actions)
    if not listed:
        return []
    if len(listed) > MAX_EXTENSION_COMMANDS:
        raise ValueError(f"Teams allows {MAX_EXTENSION_COMMANDS} message actions per app")
    for action in listed:
        if (
            len(action.action_id) > MAX_COMMAND_ID
            or len(action.title) > MAX_TITLE
            or len(action.description) > MAX_DESCRIPTION
        ):
            raise ValueError(f"the Teams message action {action.title!r} is too long")
    commands = [
        {
            "id": action.action_id,
            "type": "action",
            "title": action.title,
            "description": action.description,
            "context": ["message"],
            "fetchTask": True,
        }
        for action in listed
    ]
    return [{"botId": app_id, "canUpdateConfiguration": False, "commands": commands}]


def manifest(
    commands: Iterable[Command],
    *,
    message_actions: Iterable[MessageAction] = (),
    app_id: str,
    base_url: str,
    developer: str = "bridgebot",
    version: str = "1.0.0",
    privacy_url: str | None = None,
    terms_url: str | None = None,
) -> dict[str, Any]:
    """manifest.json for the bot whose Microsoft App ID is `app_id`, listing the router's
    `commands`."""
    host = urlparse(base_url).hostname or ""
    menu = command_menu(commands)
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": developer,
            "websiteUrl": base_url,
            "privacyUrl": privacy_url or base_url,
            "termsOfUseUrl": terms_url or base_url,
        },
        "name": {"short": "bridgebot", "full": "bridgebot: Marketing and IT as one team"},
        "description": {
            "short": "Joint stand-ups, wins, pulse polls and jargon for Marketing and IT.",
            "full": (
                "bridgebot helps Marketing and IT work as one team: joint stand-ups with "
                "reminders, a shared board of wins and challenges where challenges find help, "
                "a weekly anonymous pulse reported per side, and a glossary that explains every "
                "term for Marketing and for IT."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team", "groupChat"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [{"scopes": ["personal", "team", "groupChat"], "commands": menu}],
            }
        ],
        "composeExtensions": message_extension(app_id, message_actions),
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host] if host else [],
    }


# -- icons --------------------------------------------------------------------------------


def png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """An RGBA PNG whose pixel (x, y) is pixel(x, y)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # no filter
        for x in range(width):
            rows.extend(pixel(x, y))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def _bridge(u: float, v: float) -> str | None:
    """Which part of the drawing (u, v in 0..1, v downwards) is at a point, if any."""
    arch_centre, arch_radius = (0.5, 0.78), 0.34
    distance = ((u - arch_centre[0]) ** 2 + (v - arch_centre[1]) ** 2) ** 0.5
    if 0.16 <= u <= 0.84 and 0.38 <= v <= 0.46:
        return "deck"
    if arch_radius - 0.06 <= distance <= arch_radius and v <= arch_centre[1]:
        return "arch"
    if 0.08 <= u <= 0.2 and 0.38 <= v <= 0.86:
        return "left"
    if 0.8 <= u <= 0.92 and 0.38 <= v <= 0.86:
        return "right"
    return None


def color_icon(size: int = 192) -> bytes:
    """Full-colour icon: a white bridge between a Marketing bank and an IT bank."""
    accent = (0x5B, 0x5F, 0xC7)

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        part = _bridge((x + 0.5) / size, (y + 0.5) / size)
        colour = {"left": MARKETING, "right": IT, "deck": WHITE, "arch": WHITE}.get(
            part or "", accent
        )
        return (*colour, 255)

    return png(size, size, pixel)


def outline_icon(size: int = 32) -> bytes:
    """Outline icon: the same bridge in white on a transparent background."""

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        part = _bridge((x + 0.5) / size, (y + 0.5) / size)
        return (255, 255, 255, 255) if part else (255, 255, 255, 0)

    return png(size, size, pixel)


def package(manifest_data: dict[str, Any]) -> bytes:
    """The zip to upload in Teams (Apps › Manage your apps › Upload an app)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest_data, indent=2))
        archive.writestr("color.png", color_icon())
        archive.writestr("outline.png", outline_icon())
    return buffer.getvalue()
