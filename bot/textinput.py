"""What typed text may contain: the checks every command, form and import shares."""

from __future__ import annotations

import re
import unicodedata

# Characters no person types: C0/C1 controls (tab and newline aside), line separators.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")

CONTROL_MESSAGE = "That text contains control characters; please retype it."


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def clean_field(value: str | None) -> str:
    """A form field as saved: Windows line ends made plain, trimmed, NFC-normalised."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return unicodedata.normalize("NFC", text)
