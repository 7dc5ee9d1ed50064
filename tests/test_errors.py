"""One error vocabulary: services raise bot.errors, the router maps each kind once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.deps import Deps
from bot.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from bot.models import Person, Side
from bot.replies import Reply
from bot.router import (
    Caller,
    Command,
    CommandContext,
    CommandRouter,
    RequestScope,
    run_command,
    run_form,
)
from bot.services import board, glossary, people, pulse

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = Caller(workspace_id="T1", user_ref="U1", platform="slack")
USAGE = "/try WHAT"


def scope(deps: Deps, router: CommandRouter) -> RequestScope:
    return RequestScope(
        session_factory=deps.session_factory,
        router=router,
        caller=ALICE,
        now=NOW,
        default_timezone="UTC",
    )


def router_with(handler: Callable[[CommandContext, str], Reply]) -> CommandRouter:
    router = CommandRouter()
    router.register(Command("try", "Test", USAGE, (), handler))
    return router


def write_then(fail: Callable[[CommandContext], object]) -> Callable[[CommandContext, str], Reply]:
    """A command that stores a side, then fails as `fail` does."""

    def handler(ctx: CommandContext, args: str) -> Reply:
        people.set_side(
            session=ctx.session, workspace_id=ctx.workspace_id, user_ref="U1", side=Side.IT
        )
        fail(ctx)
        raise AssertionError("the failure above did not happen")

    return handler


def missing_poll(ctx: CommandContext) -> object:
    return pulse.get_poll(session=ctx.session, workspace_id=ctx.workspace_id, poll_id=404)


def missing_term(ctx: CommandContext) -> object:
    return glossary.get_card(session=ctx.session, workspace_id=ctx.workspace_id, term_id=404)


def blank_win(_: CommandContext) -> object:
    return board.validate_text("win", " ")


def person_count(deps: Deps) -> int:
    with deps.session_factory() as session:
        return session.execute(select(func.count()).select_from(Person)).scalar_one()


@pytest.mark.parametrize(
    ("refusal", "shows_usage"),
    [
        (NotFound("That poll no longer exists."), False),
        (NotAllowed("Only workspace admins can do that."), False),
        (Conflict("A pulse is already open."), False),
        (Invalid("Say which term."), True),
    ],
    ids=["not-found", "not-allowed", "conflict", "invalid"],
)
def test_each_kind_of_refusal_is_a_private_error_and_nothing_is_kept(
    deps: Deps, refusal: DomainError, shows_usage: bool
) -> None:
    def refuse(_: CommandContext) -> None:
        raise refusal

    reply = run_command(scope(deps, router_with(write_then(refuse))), "try", "")

    assert reply.is_error
    assert str(refusal) in reply.fallback
    # A command typed wrong is shown how to type it; other refusals are not about typing.
    assert (f"Usage: {USAGE}" in reply.fallback) is shows_usage
    assert person_count(deps) == 0


def test_a_refusal_with_its_own_usage_line_keeps_it(deps: Deps) -> None:
    def refuse(_: CommandContext) -> None:
        raise Invalid("Separate the question and the options with |.", "/try ask Q | A | B")

    reply = run_command(scope(deps, router_with(write_then(refuse))), "try", "")

    assert "Usage: /try ask Q | A | B" in reply.fallback
    assert f"Usage: {USAGE}" not in reply.fallback


@pytest.mark.parametrize(
    ("service_call", "message", "shows_usage"),
    [
        (missing_poll, "That poll no longer exists.", False),
        (missing_term, "That term has been deleted.", False),
        (blank_win, "Write your win after the command", True),
    ],
    ids=["poll", "term", "win-text"],
)
def test_a_services_refusal_reaches_the_person_untranslated(
    deps: Deps, service_call: Callable[[CommandContext], object], message: str, shows_usage: bool
) -> None:
    reply = run_command(scope(deps, router_with(write_then(service_call))), "try", "")

    assert reply.is_error
    assert message in reply.fallback
    assert (f"Usage: {USAGE}" in reply.fallback) is shows_usage
    assert person_count(deps) == 0


def test_anything_outside_the_vocabulary_reaches_the_adapters_error_path(deps: Deps) -> None:
    """A bug is not a refusal: its text (which may say anything) is never shown as one."""

    def crash(_: CommandContext) -> None:
        raise LookupError("row 404 of table pulse_polls")

    with pytest.raises(LookupError):
        run_command(scope(deps, router_with(write_then(crash))), "try", "")
    assert person_count(deps) == 0
    # The same kind of problem, raised as the vocabulary's, is a reply.
    refused = run_command(scope(deps, router_with(write_then(missing_poll))), "try", "")
    assert refused.is_error and "That poll no longer exists." in refused.fallback


def test_field_errors_reach_the_form_and_other_form_refusals_are_replies(deps: Deps) -> None:
    def submit(ctx: CommandContext, values: dict[str, str], metadata: str) -> Reply:
        if values["name"] == "":
            raise Invalid(field_errors={"name": "Give it a name."})
        raise Conflict("That poll closed on Friday.")

    router = CommandRouter()
    router.register_form("try_form", submit)

    with pytest.raises(Invalid) as fields:
        run_form(scope(deps, router), "try_form", {"name": ""}, "")
    assert fields.value.field_errors == {"name": "Give it a name."}

    reply = run_form(scope(deps, router), "try_form", {"name": "Lunch"}, "")
    assert reply.is_error and "That poll closed on Friday." in reply.fallback
