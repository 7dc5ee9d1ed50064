"""/jargon in the console: cards as text, numbered buttons, forms filled in line by line."""

from __future__ import annotations

import asyncio
import io

from sqlalchemy import select

from bot.deps import Deps
from bot.models import GlossaryTerm
from bot.services import glossary
from handlers.console import CONSOLE_WORKSPACE, run_console


def console(deps: Deps, lines: list[str]) -> list[str]:
    """Type `lines` into the console (as user alice); return what it printed, line by line."""
    output = io.StringIO()
    stdin = io.StringIO("\n".join(lines) + "\n")
    asyncio.run(run_console(deps, input_stream=stdin, output=output, user_ref="alice"))
    return output.getvalue().splitlines()


def stored(deps: Deps, name: str) -> GlossaryTerm | None:
    with deps.session_factory() as session:
        term_id = glossary.find_id_by_name(
            session=session, workspace_id=CONSOLE_WORKSPACE, name=name
        )
        return None if term_id is None else session.get(GlossaryTerm, term_id)


def test_a_lookup_shows_the_card_and_its_numbered_buttons_work(deps: Deps) -> None:
    out = console(
        deps,
        ["/jargon CAC", "1", "/jargon atribution", "/jargon CAC", "3", "jargon xyzzy", "-1", "9"],
    )

    card = out[: out.index("== Customer lifetime value ==")]
    assert card[0] == "== Customer acquisition cost =="
    assert card[1].startswith("What it costs, on average, to win one new customer")
    assert any(line.startswith("For Marketing: The number finance asks about") for line in card)
    assert any(line.startswith("For IT: A ratio computed from spend") for line in card)
    assert any(line.startswith("Example: Our paid social CAC rose") for line in card)
    assert any("From: Marketing" in line and "1 view" in line for line in card)
    assert "[1] Customer lifetime value  [2] Attribution" in card
    assert "[3] Share in channel  [4] Edit" in card

    # Button 1 opened the related term's card; the typo found Attribution.
    assert "== Attribution ==" in out
    assert "  (Closest match to “atribution”)" in out
    # An unknown term offers to add it; 9 is not a button on that reply.
    assert "No term “xyzzy” in the glossary yet." in out
    assert out[out.index("No term “xyzzy” in the glossary yet.") + 1] == "[1] Add this term"
    assert out[-2:] == ["! There is no button with that number on the last reply."] * 2
    # Button 3 of the second card shared it.
    shared = out.index("[posted to the channel]")
    assert out[shared + 1] == "== Customer acquisition cost =="
    assert any(line.startswith("  (Shared by @alice · /jargon Customer") for line in out[shared:])
    footers = [line for line in out[:shared] if line.startswith("  (Also: CAC")]
    assert len(footers) == 2
    assert footers[0].endswith("· 1 view)")
    assert footers[1].endswith("· 2 views)")  # the second lookup counted a second view


def test_the_add_form_is_filled_line_by_line(deps: Deps) -> None:
    out = console(
        deps,
        [
            "/jargon add Zorblax",
            "",  # keep the name in brackets
            "ZBX, zorb",
            "A made-up word.",
            "Say it in campaigns.",
            "Never in code.",
            "Zorblax all the things.",
            "it",
            "CAC",
            "/jargon zbx",
        ],
    )

    assert out[0].startswith("== Add a term == (press Enter to keep the value in brackets")
    assert "Added “Zorblax”. Here is its card:" in out
    assert out.count("== Zorblax ==") == 2  # after saving, and looked up by its alias
    assert "For Marketing: Say it in campaigns." in out
    assert "For IT: Never in code." in out
    assert any("Also: ZBX, zorb · From: IT · Added by @alice" in line for line in out)
    term = stored(deps, "zorb")
    assert term is not None
    assert (term.name, term.definition, term.origin) == ("Zorblax", "A made-up word.", "it")
    assert (term.author_ref, term.related) == ("alice", ["CAC"])


def test_the_form_refuses_bad_fields_by_label_and_asks_only_them_again(deps: Deps) -> None:
    out = console(
        deps,
        [
            "/jargon add",
            "",  # no name: refused at once, before anything else is asked
            "Zorblax",
            "CAC",  # another term's alias
            "",  # no definition
            "",
            "",
            "",
            "sales",  # not an origin
            "",
            # Only the refused fields are asked again, the rest kept:
            "A made-up word.",  # definition
            "IT",  # origin, by its label
            "ZBX",  # aliases, refused once the form was whole
        ],
    )

    assert "! Term: Give the term a name." in out
    first = out.index("! Nothing was saved yet. Please correct:")
    assert out[first + 1 : first + 3] == [
        "  Plain definition: Write a plain definition, one or two sentences.",
        "  Whose term is it?: Origin is marketing, it or general.",
    ]
    second = out.index("! Nothing was saved yet. Please correct:", first + 1)
    assert out[second + 1] == (
        "  Also known as: “CAC” is already used by the term “Customer acquisition cost”."
    )
    assert "Added “Zorblax”. Here is its card:" in out
    term = stored(deps, "ZBX")
    assert term is not None
    assert (term.name, term.definition, term.origin) == ("Zorblax", "A made-up word.", "it")


def test_input_ending_inside_a_form_saves_nothing(deps: Deps) -> None:
    out = console(deps, ["/jargon add Zorblax", "", "", "A made-up word."])

    assert out[-1] == "! Input ended before the form was complete; nothing was saved."
    assert stored(deps, "Zorblax") is None
    with deps.session_factory() as session:
        assert not session.execute(
            select(GlossaryTerm.id).where(GlossaryTerm.author_ref == "alice")
        ).first()


def test_an_edit_form_keeps_what_is_left_blank(deps: Deps) -> None:
    console(deps, ["/jargon add Zorblax", "", "ZBX", "A made-up word.", "", "", "", "it", ""])

    out = console(
        deps, ["/jargon edit zbx", "", "", "A word made up for tests.", "", "", "", "", ""]
    )

    assert (
        "== Edit term == (press Enter to keep the value in brackets, '-' to empty an optional "
        "field, 'cancel' to leave the form)" in out
    )
    assert "Saved “Zorblax”. Here is its card:" in out
    term = stored(deps, "ZBX")
    assert term is not None
    assert (term.name, term.origin) == ("Zorblax", "it")
    assert term.definition == "A word made up for tests."


def test_a_dash_empties_an_optional_field(deps: Deps) -> None:
    console(
        deps, ["/jargon add Zorblax", "", "ZBX", "A made-up word.", "", "", "Zorb it.", "it", ""]
    )

    console(deps, ["/jargon edit zbx", "", "-", "", "", "", "-", "", ""])

    term = stored(deps, "Zorblax")
    assert term is not None
    assert (term.definition, term.example) == ("A made-up word.", "")
    assert stored(deps, "ZBX") is None  # the alias is gone
