"""Keeping cards under the size Teams accepts.

Teams refuses a message over about 100 KB with HTTP 413, counting its JSON in UTF-16 (so
every character costs at least two bytes). bridgebot keeps each card under a budget of
80 KB, which leaves room for the activity around it: a longer card is split into several
messages where it is posted, and shortened (with a note saying so) where it replaces
one message or answers a click, since one message can only be replaced by one.
"""

from __future__ import annotations

import copy
import json
from typing import Any

BUDGET_BYTES = 80_000
SHORTENED = "…"
CUT_NOTE = "Shortened: the rest did not fit in one Teams message."


def utf16_size(value: Any) -> int:
    """Bytes of `value` as JSON counted the way Teams does, in UTF-16."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-16-le"))


def _note() -> dict[str, Any]:
    return {"type": "TextBlock", "text": CUT_NOTE, "wrap": True, "isSubtle": True}


def _longest_text(node: Any, path: tuple[Any, ...] = ()) -> tuple[int, tuple[Any, ...]]:
    """(length, path) of the longest "text" string under `node`."""
    best: tuple[int, tuple[Any, ...]] = (0, ())
    if isinstance(node, dict):
        value = node.get("text")
        if isinstance(value, str) and len(value) > best[0]:
            best = (len(value), (*path, "text"))
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return best
    for key, child in items:
        if key != "text":
            found = _longest_text(child, (*path, key))
            if found[0] > best[0]:
                best = found
    return best


def shorten_element(element: dict[str, Any], budget: int) -> dict[str, Any]:
    """`element` with its longest texts cut (ending in …) until it fits `budget` bytes."""
    element = copy.deepcopy(element)
    while utf16_size(element) > budget:
        length, path = _longest_text(element)
        if length <= len(SHORTENED) + 1:
            # Nothing left to cut: the element is all structure; show the note instead.
            return _note()
        parent: Any = element
        for key in path[:-1]:
            parent = parent[key]
        value: str = parent["text"]
        over = utf16_size(element) - budget
        keep = max(1, min(len(value) // 2, len(value) - over // 2 - len(SHORTENED)))
        parent["text"] = value[:keep].rstrip() + SHORTENED
    return element


def fit_card(
    card: dict[str, Any], *, budget: int = BUDGET_BYTES, split: bool = True
) -> list[dict[str, Any]]:
    """`card` as one or more cards each within `budget` UTF-16 bytes.

    `split`: several cards, the body's elements in order, the buttons on the last. Else
    one card: the elements that fit, a note that the rest was cut, and the buttons.
    """
    if utf16_size(card) <= budget:
        return [card]
    body: list[dict[str, Any]] = list(card.get("body") or [])
    frame = {key: value for key, value in card.items() if key not in {"body", "actions"}}
    actions = card.get("actions")
    closing: dict[str, Any] = {"actions": actions} if actions else {}
    room = budget - utf16_size(frame | closing | {"body": [_note()]})
    parts: list[list[dict[str, Any]]] = [[]]
    for element in body:
        if utf16_size(element) > room:
            element = shorten_element(element, room)
        if utf16_size(frame | {"body": [*parts[-1], element, _note()]} | closing) > budget:
            if not split:
                parts[-1].append(_note())
                break
            parts.append([])
        parts[-1].append(element)
    cards = [frame | {"body": part} for part in parts if part]
    cards[-1] |= closing
    return cards
