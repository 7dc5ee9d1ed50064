"""Wins and challenges in `bridgebot console`: the same posts, buttons as numbered choices."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.deps import Deps
from bot.models import BoardPost
from handlers.console import run_console
from tests.clock import Clock

# A Wednesday ahead of the real clock: the console's scheduler waits for it, so no
# scheduled message (a digest, a pulse) can interleave with the replies under test.
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def console(deps: Deps, lines: list[str], user: str = "alice") -> list[str]:
    """Feed `lines` to a console session; return the printed lines."""
    output = io.StringIO()
    source = io.StringIO("\n".join(lines) + "\n")
    asyncio.run(
        asyncio.wait_for(
            run_console(deps, input_stream=source, output=output, user_ref=user), timeout=30
        )
    )
    return output.getvalue().splitlines()


def after(lines: list[str], marker: str, occurrence: int = 1) -> list[str]:
    """The lines printed after the `occurrence`-th line starting with `marker`."""
    starts = [i for i, line in enumerate(lines) if line.startswith(marker)]
    printed = "\n".join(lines)
    assert len(starts) >= occurrence, f"{marker!r} printed {len(starts)} time(s):\n{printed}"
    return lines[starts[occurrence - 1] + 1 :]


def test_a_win_shows_a_numbered_celebrate_button_that_toggles(deps: Deps) -> None:
    lines = console(
        deps,
        [
            "/win Nothing to post to yet",
            "/bridge channel #marketing-it",
            "/bridge side it",
            "/win Shipped the dashboard <!channel>",
            "1",
            "1",
        ],
    )
    assert any("There is no shared channel yet" in line for line in lines)

    posted = after(lines, "[posted to marketing-it]")
    assert posted[0] == "Win from @alice (IT)"
    assert posted[1] == "Shipped the dashboard <!channel>"  # shown as typed, never a ping
    assert posted[2] == "[1] Celebrate"

    celebrated = after(lines, "[updated: marketing-it]")
    assert "  (1 celebrating: @alice)" in celebrated[:4]
    assert "[1] Celebrate (1)" in celebrated[:4]

    withdrawn = after(lines, "[updated: marketing-it]", 2)
    assert withdrawn[:3] == [
        "Win from @alice (IT)",
        "Shipped the dashboard <!channel>",
        "[1] Celebrate",
    ]

    with deps.session_factory() as session:
        texts = session.execute(select(BoardPost.text)).scalars().all()
    assert texts == ["Shipped the dashboard <!channel>"]


def test_a_challenge_offers_help_and_resolve_as_numbered_choices(deps: Deps) -> None:
    lines = console(
        deps,
        [
            "/bridge channel #marketing-it",
            "/challenge Campaign data arrives a day late",
            "1",  # I can help, on one's own challenge
            "/challenge Nobody reads the release notes",
            "2",  # Resolved, by its author
            "/challenge list",
        ],
    )
    posted = after(lines, "[posted to marketing-it]")
    assert posted[0] == "Challenge from @alice (no side yet) · Open"
    assert posted[1:3] == ["Campaign data arrives a day late", "[1] I can help  [2] Resolved"]
    assert "! That is your own challenge; others can offer help." in lines

    resolved = after(lines, "[updated: marketing-it]")
    assert resolved[:2] == [
        "Challenge from @alice (no side yet) · Resolved",
        "Nobody reads the release notes",
    ]
    assert not resolved[2].startswith("[1]")  # nothing left to click
    listing = after(lines, "== Recent challenges ==")
    assert listing[0].endswith("· Resolved: Nobody reads the release notes")
    assert listing[1].endswith("· Open: Campaign data arrives a day late")


def test_a_post_that_starts_with_list_or_help_is_posted_not_taken_as_a_sub_command(
    deps: Deps,
) -> None:
    lines = console(
        deps,
        [
            "/bridge channel #marketing-it",
            "/win list of 12 broken links fixed",
            "/challenge help needed: the campaign data arrives late",
            "/win list oops",
            "/win help",
        ],
    )

    with deps.session_factory() as session:
        texts = session.execute(select(BoardPost.text).order_by(BoardPost.id)).scalars().all()
    assert texts == [
        "list of 12 broken links fixed",
        "help needed: the campaign data arrives late",
    ]
    assert any("/win list takes nothing after it." in line for line in lines)  # a typo
    assert any(line.startswith("Usage: /win TEXT") for line in lines)
