"""The command router: parsing, refusing bad input, and one transaction per command."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.commands.bridge import BRIDGE_SETTINGS_FORM, parse_side
from bot.commands.glossary import GLOSSARY_ADD_FORM
from bot.deps import Deps
from bot.models import GlossaryTerm, Person, Side, Workspace
from bot.replies import Reply
from bot.router import (
    MAX_COMMAND_LENGTH,
    Caller,
    Command,
    CommandContext,
    CommandRouter,
    FormInvalid,
    RequestScope,
    UsageError,
    parse_line,
    run_command,
    run_form,
)
from bot.services import glossary, people, workspaces

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = Caller(workspace_id="T1", user_ref="U1", platform="slack", display_name="Alice")
ADMIN = Caller(workspace_id="T1", user_ref="UADMIN", platform="slack", is_admin=True)
CHANNELS = {"#marketing-it": "C123", "<#C123|marketing-it>": "C123"}


def run(deps: Deps, line: str, caller: Caller = ALICE, **kwargs: Any) -> Reply:
    name, args = parse_line(line)
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=kwargs.pop("router", deps.router),
        caller=caller,
        now=NOW,
        default_timezone="UTC",
        **kwargs,
    )
    return run_command(scope, name, args)


def picked_channel(value: str) -> str | None:
    """A channel as a platform's picker gives a form: its id, as chosen."""
    return value.strip() or None


def scope(deps: Deps, caller: Caller) -> RequestScope:
    return RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=caller,
        now=NOW,
        default_timezone="UTC",
        resolve_channel=picked_channel,
    )


def refused_form(
    deps: Deps, callback_id: str, values: dict[str, str], caller: Caller
) -> dict[str, str]:
    """Submit a form that must be refused; its errors by field."""
    with pytest.raises(FormInvalid) as refused:
        run_form(scope(deps, caller), callback_id, values, "")
    return refused.value.field_errors


def person_count(deps: Deps) -> int:
    with deps.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Person)) or 0


def shared_channel(deps: Deps) -> str | None:
    with deps.session_factory() as session:
        return workspaces.get_workspace(session=session, workspace_id="T1").shared_channel_ref


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/jargon CAC", ("jargon", "CAC")),
        ("jargon CAC", ("jargon", "CAC")),
        ("  /Jargon   pen test  ", ("jargon", "pen test")),
        ("/bridge", ("bridge", "")),
        ("jargon\nCAC", ("jargon", "CAC")),
        ("win\u2003Shipped it\nat last", ("win", "Shipped it\nat last")),
        ("", ("", "")),
    ],
)
def test_parse_line(line: str, expected: tuple[str, str]) -> None:
    assert parse_line(line) == expected


def test_unknown_command_lists_the_known_ones(deps: Deps) -> None:
    reply = run(deps, "/frobnicate now")

    assert reply.is_error
    assert "There is no /frobnicate command here." in reply.fallback
    for known in ("/bridge", "/jargon", "/standup", "/pulse"):
        assert known in reply.fallback


def test_control_characters_are_refused(deps: Deps) -> None:
    for args in ("side \x07it", "side it\x1b[31m", "side\u2028it", "side \x00it"):
        reply = run(deps, f"/bridge {args}")

        assert reply.is_error, repr(args)
        assert "That text contains control characters; please retype it." in reply.fallback
        assert "Usage: /bridge [help" in reply.fallback
    assert person_count(deps) == 0


def test_control_characters_in_a_form_are_refused_field_by_field(deps: Deps) -> None:
    values = {
        "name": "Zero\x00Day",
        "definition": "Two lines\r\nare fine",
        "example": "Bell\x07",
        "origin": "it",
    }
    errors = refused_form(deps, GLOSSARY_ADD_FORM, values, ALICE)

    assert errors == {
        "name": "That text contains control characters; please retype it.",
        "example": "That text contains control characters; please retype it.",
    }
    with deps.session_factory() as session:
        assert session.execute(select(func.count()).select_from(GlossaryTerm)).scalar_one() == 0


def test_oversized_input_is_refused(deps: Deps) -> None:
    reply = run(deps, "/bridge side " + "it" * MAX_COMMAND_LENGTH)

    assert reply.is_error
    assert f"commands take at most {MAX_COMMAND_LENGTH:,}" in reply.fallback
    assert person_count(deps) == 0

    at_the_limit = run(deps, "/bridge side it" + " " * (MAX_COMMAND_LENGTH - len("side it")))
    assert not at_the_limit.is_error, at_the_limit.fallback


def test_bridge_side_is_saved(deps: Deps) -> None:
    reply = run(deps, "/bridge side it")

    assert not reply.is_error
    assert reply.fallback == "Done: you are on the IT side."
    with deps.session_factory() as session:
        person = people.get_person(session=session, workspace_id="T1", user_ref="U1")
    assert person is not None
    assert person.side is Side.IT
    assert person.display_name == "Alice"
    assert run(deps, "/bridge side").fallback == "You are on the IT side."


def test_bridge_side_with_an_unknown_side_is_an_error_and_stores_nothing(deps: Deps) -> None:
    reply = run(deps, "/bridge side martians")

    assert reply.is_error
    assert "“martians” is not a side. Choose marketing, it or other." in reply.fallback
    assert "Usage: /bridge side marketing|it|other" in reply.fallback
    assert person_count(deps) == 0


def test_unknown_bridge_option_shows_the_usage_line(deps: Deps) -> None:
    reply = run(deps, "/bridge frobnicate")

    assert reply.is_error
    assert "/bridge has no “frobnicate” option." in reply.fallback
    assert "Usage: /bridge [help | side marketing|it|other" in reply.fallback


def test_a_command_that_fails_after_writing_leaves_nothing_behind(deps: Deps) -> None:
    def write_then_fail(ctx: CommandContext, args: str) -> Reply:
        people.set_side(
            session=ctx.session, workspace_id=ctx.workspace_id, user_ref="U1", side=Side.IT
        )
        raise UsageError("That went wrong halfway.", "/halfway")

    router = CommandRouter()
    router.register(Command("halfway", "Test", "/halfway", (), write_then_fail))

    reply = run(deps, "/halfway", router=router)

    assert reply.is_error
    assert "That went wrong halfway." in reply.fallback
    assert "Usage: /halfway" in reply.fallback
    assert person_count(deps) == 0
    # Even the workspace created on this first visit is rolled back with the rest.
    with deps.session_factory() as session:
        assert session.get(Workspace, "T1") is None


def test_an_unexpected_error_propagates_and_rolls_back(deps: Deps) -> None:
    def write_then_crash(ctx: CommandContext, args: str) -> Reply:
        people.set_side(
            session=ctx.session, workspace_id=ctx.workspace_id, user_ref="U1", side=Side.IT
        )
        raise RuntimeError("bug")

    router = CommandRouter()
    router.register(Command("crash", "Test", "/crash", (), write_then_crash))

    with pytest.raises(RuntimeError, match="bug"):
        run(deps, "/crash", router=router)
    assert person_count(deps) == 0


def test_bridge_channel_by_a_non_admin_is_refused(deps: Deps) -> None:
    run(deps, "/bridge side it")

    reply = run(deps, "/bridge channel #marketing-it", resolve_channel=CHANNELS.get)

    assert reply.is_error
    assert "Only workspace admins can choose the shared channel." in reply.fallback
    assert shared_channel(deps) is None


def test_bridge_channel_by_an_admin_sets_a_real_channel(deps: Deps) -> None:
    reply = run(deps, "/bridge channel <#C123|marketing-it>", ADMIN, resolve_channel=CHANNELS.get)

    assert not reply.is_error, reply.fallback
    assert "Wins, challenges and digests will be posted in #C123." in reply.fallback
    assert shared_channel(deps) == "C123"

    reply = run(deps, "/bridge channel #nowhere", ADMIN, resolve_channel=CHANNELS.get)

    assert reply.is_error
    assert "“#nowhere” is not a channel." in reply.fallback
    assert "Usage: /bridge channel #CHANNEL" in reply.fallback
    assert shared_channel(deps) == "C123"


def test_bridge_help_lists_the_commands(deps: Deps) -> None:
    for line in ("/bridge help", "/bridge", "bridge HELP"):
        reply = run(deps, line)

        assert not reply.is_error, line
        for usage in (
            "/bridge side marketing|it|other",
            "/bridge channel #CHANNEL",
            "/bridge settings",
            "/bridge forget-me",
            "/jargon",
            "/standup",
            "/pulse",
            "/win",
        ):
            assert usage in reply.fallback, (line, usage)


def test_a_side_label_may_not_be_another_sides_name_nor_too_long(deps: Deps) -> None:
    values = {
        "timezone": "UTC",
        "label_marketing": "IT",  # then "/bridge side it" could mean Marketing
        "label_it": "E" * 41,
        "label_other": "Everyone else",
        "anonymity_threshold": "3",
        "digest_weekday": "fri",
        "digest_time": "16:00",
    }
    errors = refused_form(deps, BRIDGE_SETTINGS_FORM, values, ADMIN)

    assert set(errors) == {"label_marketing", "label_it"}
    assert "another side's name" in errors["label_marketing"]


def test_a_side_name_wins_over_a_label() -> None:
    labels = {Side.MARKETING: "IT", Side.IT: "Engineering", Side.OTHER: "Other"}
    assert parse_side("it", labels) is Side.IT
    assert parse_side("engineering", labels) is Side.IT


def test_warm_ups_run_in_the_background_each_once_and_one_failing_stops_no_other(
    deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    """A server starts the warm-ups (building indexes) without waiting for them."""
    router = CommandRouter()
    ran: list[str] = []

    def failing(_factory: Any) -> None:
        ran.append("failing")
        raise RuntimeError("no database")

    router.warm_ups += [
        failing,
        lambda factory: ran.append(f"second {factory is deps.session_factory}"),
    ]
    thread = router.start_warm_ups(deps.session_factory)
    thread.join(10)
    assert ran == ["failing", "second True"]
    assert "a warm-up failed; its work is done on first use" in caplog.text


def test_the_warm_ups_read_the_starter_glossary_so_that_no_lookup_does(deps: Deps) -> None:
    # Every card says whether its term is a starter term, from a file read once.
    glossary._starter_keys.cache_clear()
    glossary.starter_drafts.cache_clear()
    deps.router.start_warm_ups(deps.session_factory).join(10)
    assert glossary._starter_keys.cache_info().currsize == 1
