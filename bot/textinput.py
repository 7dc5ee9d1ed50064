"""What typed text may contain: the checks every command, form and import shares."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

# Characters no person types: C0/C1 controls (tab and newline aside), line separators.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")

# Invisible characters that reorder what is shown (bidi embeddings, overrides, isolates
# and marks) or hide between letters (zero-width space, word joiner, byte order mark).
# A reader cannot see them, so removing them loses nothing the writer meant; left in,
# they let a file name show reversed or a name pose as another.
_INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
# Zero-width non-joiner and joiner are spelling in Persian and Indic scripts and glue
# emoji sequences (woman + ZWJ + laptop), so text keeps them; names may not have them.
_JOINERS = re.compile("[\u200c\u200d]")
_ASCII_NUMBER = re.compile("[0-9]{1,18}")

CONTROL_MESSAGE = "That text contains control characters; please retype it."
JOINER_MESSAGE = (
    "That name contains an invisible joining character (from a copy and paste?); please retype it."
)


def has_control_characters(value: str) -> bool:
    """Control or invisible characters that typed text must not keep (see strip_invisible)."""
    return _CONTROL.search(value) is not None or _INVISIBLE.search(value) is not None


def strip_invisible(value: str) -> str:
    """The text without direction controls and zero-width characters (joiners kept)."""
    return _INVISIBLE.sub("", value)


def has_joiners(value: str) -> bool:
    """A zero-width (non-)joiner, which would make two names that look alike differ."""
    return _JOINERS.search(value) is not None


def ascii_number(value: str) -> int | None:
    """The whole number written in ASCII digits, or None.

    int() and str.isdigit() also take "³", "٣" and "３" (and int("³") then fails), so
    every numeric field reads its value here.
    """
    text = value.strip()
    return int(text) if _ASCII_NUMBER.fullmatch(text) else None


# In a link, characters that end it or start its label in Slack's <url|label> markup, or
# that no address contains: "https://evil.example|Official Zoom" would show "Official Zoom".
_NOT_IN_LINKS = re.compile(r"[|<>\s\x00-\x1f\x7f-\x9f]")


def link_problem(value: str) -> str | None:
    """Why `value` is not a plain http(s) link, in words for the person; None if it is."""
    if not value.lower().startswith(("https://", "http://")):
        return "A link must start with https://."
    if _NOT_IN_LINKS.search(value) or _INVISIBLE.search(value) or has_joiners(value):
        return (
            "A link cannot contain spaces, |, < or > (they could disguise where it leads); "
            "paste the plain address, such as https://meet.example.com/abc-defg."
        )
    try:
        host = urlsplit(value).hostname
    except ValueError:
        host = None
    if not host:
        return "That link has no address after https://."
    return None


def clean_field(value: str | None) -> str:
    """A form field as saved: Windows line ends made plain, invisible characters
    removed, trimmed, NFC-normalised."""
    text = strip_invisible((value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    return unicodedata.normalize("NFC", text)
