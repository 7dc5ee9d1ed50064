"""Small wording helpers shared by every command's replies."""

from __future__ import annotations

import pytest

from bot.replies import counted


@pytest.mark.parametrize(
    ("number", "expected"),
    [(0, "0 people"), (1, "1 person"), (2, "2 people")],
)
def test_counted_uses_the_singular_for_one(number: int, expected: str) -> None:
    assert counted(number, "person", "people") == expected


def test_counted_adds_an_s_by_default() -> None:
    assert (counted(1, "vote"), counted(3, "vote")) == ("1 vote", "3 votes")
