"""Odd input: digits that are not ASCII, invisible direction and zero-width characters,
links whose label could be forged. Each gets a clear message or is made harmless."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.commands.bridge import BRIDGE_SETTINGS_FORM
from bot.commands.glossary import GLOSSARY_ADD_FORM
from bot.commands.pulse import PULSE_SCHEDULE_FORM
from bot.commands.standup import STANDUP_CREATE_FORM
from bot.deps import Deps
from bot.models import BoardPost, GlossaryKey, GlossaryTerm, Standup, WorkspaceSettings
from bot.replies import link
from bot.router import Caller, parse_line, run_form
from bot.services import glossary_io, workspaces
from bot.services.pulse import ALL_SIDES
from bot.settings import Settings
from handlers.slack.render import render_span
from tests.test_router import ADMIN, ALICE, CHANNELS, NOW, refused_form, run, scope

# Superscript three, Arabic-Indic three, full-width five: str.isdigit() is True for all.
NOT_ASCII_NUMBERS = ("³", "٣", "５", "1²")
ZWSP, RLO, PDI, LRM, BOM, ZWJ = "\u200b", "\u202e", "\u2069", "\u200e", "\ufeff", "\u200d"
JOINER_MESSAGE = (
    "That name contains an invisible joining character (from a copy and paste?); please retype it."
)
LINK_MESSAGE = "A link cannot contain spaces, |, < or > (they could disguise where it leads)"


def settings_values(**changes: str) -> dict[str, str]:
    return {
        "timezone": "UTC",
        "label_marketing": "Marketing",
        "label_it": "IT",
        "label_other": "Other",
        "anonymity_threshold": "3",
        "pulse_audience": ALL_SIDES,
        "digest_weekday": "fri",
        "digest_time": "16:00",
    } | changes


def standup_values(**changes: str) -> dict[str, str]:
    return {
        "name": "Weekly sync",
        "channel": "C0TEAM",
        "weekdays": "mon,wed",
        "time": "09:30",
        "timezone": "UTC",
        "mode": "meeting",
        "lead": "15",
        "deadline": "120",
    } | changes


def submit(deps: Deps, callback_id: str, values: dict[str, str], caller: Caller = ADMIN) -> None:
    run_form(scope(deps, caller), callback_id, values, "")


def stored_threshold(deps: Deps) -> int:
    with deps.session_factory() as session:
        return session.execute(select(WorkspaceSettings.anonymity_threshold)).scalar_one()


# -- numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("typed", NOT_ASCII_NUMBERS)
def test_the_settings_form_answers_a_non_ascii_threshold_with_a_field_error(
    deps: Deps, typed: str
) -> None:
    run(deps, "/bridge side it", caller=ADMIN)  # the workspace exists, with its settings

    errors = refused_form(
        deps, BRIDGE_SETTINGS_FORM, settings_values(anonymity_threshold=typed), ADMIN
    )

    assert errors == {"anonymity_threshold": "A number from 3 to 50 (never below 3)."}
    assert stored_threshold(deps) == 3
    submit(deps, BRIDGE_SETTINGS_FORM, settings_values(anonymity_threshold="7"))
    assert stored_threshold(deps) == 7


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/pulse results ³", "WEEKS is a number from 1 to 52."),
        ("/pulse results ١٢", "WEEKS is a number from 1 to 52."),
        ("/standup pause ٣", "Give the stand-up's number, as shown by /standup list"),
        ("/standup delete ³", "Give the stand-up's number, as shown by /standup list"),
    ],
)
def test_commands_take_only_ascii_numbers(deps: Deps, line: str, message: str) -> None:
    reply = run(deps, line, caller=ADMIN)
    assert reply.is_error
    assert message in reply.fallback


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("lead", "１５", "Write a number of minutes, such as 15."),
        ("deadline", "٢٠", "Write a number of minutes, such as 15."),
        ("time", "１０:００", ""),
    ],
)
def test_stand_up_numbers_and_times_take_only_ascii_digits(
    deps: Deps, field: str, typed: str, message: str
) -> None:
    errors = refused_form(deps, STANDUP_CREATE_FORM, standup_values(**{field: typed}), ALICE)
    assert list(errors) == [field]
    assert message in errors[field]


def test_the_pulse_schedule_refuses_non_ascii_hours(deps: Deps) -> None:
    values = {"enabled": "on", "weekday": "mon", "time": "10:00", "hours": "⁴⁸"}
    errors = refused_form(deps, PULSE_SCHEDULE_FORM, values, ADMIN)
    assert errors == {"hours": "Between 1 and 168 hours."}


def test_a_typed_button_with_a_non_ascii_id_is_out_of_date(deps: Deps) -> None:
    from bot.router import run_action

    reply = run_action(scope(deps, ALICE), "board_celebrate", "٣")
    assert reply.is_error
    assert "That button is out of date." in reply.fallback


# -- invisible characters -------------------------------------------------------------


def test_a_post_keeps_its_words_but_not_its_invisible_characters(deps: Deps) -> None:
    run(deps, "/bridge channel #marketing-it", caller=ADMIN, resolve_channel=CHANNELS.get)

    reply = run(deps, f"/win {BOM}Shipped{ZWSP} the {RLO}page{PDI} {LRM}at last 👩{ZWJ}💻")

    assert not reply.is_error, reply.fallback
    with deps.session_factory() as session:
        texts = session.execute(select(BoardPost.text)).scalars().all()
    assert texts == [f"Shipped the page at last 👩{ZWJ}💻"]  # the emoji's joiner stays


def test_a_command_name_after_a_byte_order_mark_is_still_the_command() -> None:
    assert parse_line(f"{BOM}{ZWSP}jargon CAC") == ("jargon", "CAC")


def test_a_glossary_term_is_saved_without_invisible_characters(deps: Deps) -> None:
    values = {
        "name": f"Zor{ZWSP}blax{RLO}",
        "aliases": f"zorb{BOM}",
        "definition": f"What a new customer costs{LRM}.",
        "origin": "marketing",
    }
    submit(deps, GLOSSARY_ADD_FORM, values, caller=ALICE)

    with deps.session_factory() as session:
        term = session.execute(
            select(GlossaryTerm).where(GlossaryTerm.definition.startswith("What a new"))
        ).scalar_one()
        keys = (
            session.execute(select(GlossaryKey.text).where(GlossaryKey.term_id == term.id))
            .scalars()
            .all()
        )
    assert (term.name, term.definition) == ("Zorblax", "What a new customer costs.")
    assert sorted(keys) == ["Zorblax", "zorb"]


def test_a_joiner_inside_a_name_or_alias_is_refused(deps: Deps) -> None:
    values = {
        "name": f"Zor{ZWJ}blax",
        "aliases": f"zo{ZWJ}rb",
        "definition": "What a new customer costs.",
        "origin": "marketing",
    }
    errors = refused_form(deps, GLOSSARY_ADD_FORM, values, ALICE)
    assert errors == {"name": JOINER_MESSAGE, "aliases": JOINER_MESSAGE}


def test_a_side_label_with_a_joiner_is_refused(deps: Deps) -> None:
    errors = refused_form(
        deps, BRIDGE_SETTINGS_FORM, settings_values(label_it=f"I{ZWJ}T team"), ADMIN
    )
    assert errors == {"label_it": JOINER_MESSAGE}


def test_a_glossary_file_is_imported_without_invisible_characters(
    deps: Deps, tmp_path: Path
) -> None:
    path = tmp_path / "terms.csv"
    path.write_text(
        f"name,definition,origin\nZor{ZWSP}blax,A made-up word{RLO}.,marketing\n",
        encoding="utf-8",
    )
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id="T1", platform="slack", timezone="UTC"
        )
        report = glossary_io.import_rows(
            session=session,
            workspace_id="T1",
            rows=glossary_io.read_rows(path),
            editor_ref=None,
            now=NOW,
        )
    assert not report.rejected, report.rejected
    with deps.session_factory() as session:
        term = session.execute(select(GlossaryTerm)).scalar_one()
    assert (term.name, term.definition) == ("Zorblax", "A made-up word.")


# -- links ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "https://evil.example|Official Zoom",
        "https://evil.example/<https://zoom.us>",
        "https://evil.example/a b",
        "https://evil.example/\u3000Official",
        "https://",
    ],
)
def test_a_call_link_that_could_forge_its_label_is_refused(deps: Deps, typed: str) -> None:
    errors = refused_form(deps, STANDUP_CREATE_FORM, standup_values(call_link=typed), ALICE)

    assert list(errors) == ["call_link"]
    assert LINK_MESSAGE in errors["call_link"] or "no address" in errors["call_link"]
    with deps.session_factory() as session:
        assert session.execute(select(Standup)).first() is None

    submit(deps, STANDUP_CREATE_FORM, standup_values(call_link="https://zoom.us/j/1?pwd=a&b=c"))
    with deps.session_factory() as session:
        assert session.execute(select(Standup.call_link)).scalar_one() == (
            "https://zoom.us/j/1?pwd=a&b=c"
        )


def test_slack_links_cannot_take_a_label_from_their_address() -> None:
    """A link stored before links were checked still shows its own label, not the forged one."""
    rendered = render_span(link("Join the call", "https://evil.example|Official Zoom"))
    assert rendered == "<https://evil.example%7COfficial%20Zoom|Join the call>"


def test_the_public_url_setting_must_be_a_plain_address() -> None:
    with pytest.raises(ValueError, match="plain address, without spaces"):
        Settings(_env_file=None, bridgebot_public_url="https://bridge.example|Official")
