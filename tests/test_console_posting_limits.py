"""Posting limits as a person meets them in `bridgebot console`: a clear refusal, nothing posted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.deps import Deps, build_deps
from bot.models import BoardPost, PulsePoll
from bot.settings import Settings
from tests.test_console_board import console


def posts(deps: Deps) -> list[str]:
    with deps.session_factory() as session:
        return list(session.execute(select(BoardPost.text).order_by(BoardPost.id)).scalars())


def test_a_sixth_post_in_a_minute_is_refused_and_says_when_to_post_again(deps: Deps) -> None:
    lines = console(
        deps,
        [
            "/bridge channel #marketing-it",
            "/win One",
            "/win Two",
            "/challenge Three",
            "/pulse ask Lunch together? | Yes | No",  # quick polls count too
            "/win Five",
            "/win Six",
        ],
    )

    printed = "\n".join(lines)
    assert "You have posted 5 times in the last minute" in printed
    assert "You can post again in 1 minute." in printed
    assert posts(deps) == ["One", "Two", "Three", "Five"]


@pytest.fixture
def strict_deps(settings: Settings) -> Iterator[Deps]:
    strict = settings.model_copy(
        update={"bridgebot_posts_per_person_minute": 2, "bridgebot_posts_per_workspace_hour": 3}
    )
    built = build_deps(strict, upgrade_schema=False)
    try:
        yield built
    finally:
        built.engine.dispose()


def test_the_limits_come_from_the_settings(strict_deps: Deps) -> None:
    lines = console(
        strict_deps,
        ["/bridge channel #marketing-it", "/win One", "/win Two", "/win Three"],
    )
    assert any("You have posted 2 times in the last minute" in line for line in lines)
    assert posts(strict_deps) == ["One", "Two"]

    lines = console(strict_deps, ["/pulse ask Lunch? | Yes | No", "/win Four"], user="bob")
    assert any("This workspace has had 3 posts in the last hour" in line for line in lines)
    with strict_deps.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(PulsePoll)) == 1
    assert posts(strict_deps) == ["One", "Two"]
