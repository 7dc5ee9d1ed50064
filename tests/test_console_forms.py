"""Forms in the console: cancel, required fields, choices by label, a name checked first."""

from __future__ import annotations

from typing import cast

from bot.commands.glossary import term_form
from bot.deps import Deps
from bot.replies import FormField
from bot.router import CommandContext
from handlers.console_forms import prompt_for
from tests.test_console_glossary import console, stored


def test_cancel_leaves_a_form_and_saves_nothing(deps: Deps) -> None:
    out = console(deps, ["/jargon add Zorblax", "", "ZBX", "Cancel", "/jargon zbx"])

    assert "Cancelled; nothing was saved." in out
    assert stored(deps, "Zorblax") is None
    assert "No term “zbx” in the glossary yet." in out  # the console carried on


def test_a_dash_cannot_empty_a_required_field(deps: Deps) -> None:
    console(deps, ["/jargon add Zorblax", "", "", "A made-up word.", "", "", "", "it", ""])

    out = console(deps, ["/jargon edit Zorblax", "", "", "-", "", "", "", "", "", ""])

    assert "! Plain definition is required; type a value (Enter keeps the one shown)." in out
    term = stored(deps, "Zorblax")
    assert term is not None and term.definition == "A made-up word."


def test_choices_show_their_labels_and_take_them(deps: Deps) -> None:
    origin = next(field for field in term_form_fields() if field.name == "origin")
    prompt = prompt_for(origin, "general")
    assert prompt == (
        "Whose term is it? (marketing = Marketing, it = IT, general = Both sides) [Both sides]: "
    )

    console(deps, ["/jargon add Zorblax", "", "", "A made-up word.", "", "", "", "it", ""])
    console(deps, ["/jargon edit Zorblax", "", "", "", "", "", "", "both sides", ""])

    term = stored(deps, "Zorblax")
    assert term is not None and term.origin == "general"


def term_form_fields() -> tuple[FormField, ...]:
    return term_form(cast(CommandContext, None), None, "Zorblax").fields


def test_a_new_terms_name_is_checked_before_the_other_fields(deps: Deps) -> None:
    out = console(
        deps, ["/jargon add", "cac", "Zorblax", "", "A made-up word.", "", "", "", "", ""]
    )

    refused = out.index("! Term: “CAC” is already used by the term “Customer acquisition cost”.")
    assert not any("Also known as" in line for line in out[:refused])  # asked after
    assert stored(deps, "Zorblax") is not None

    typed = console(deps, ["/jargon add CAC"])
    assert typed[0].startswith("! “CAC” is already used by the term “Customer acquisition cost”.")
    assert not any("== Add a term ==" in line for line in typed)  # no form opened
