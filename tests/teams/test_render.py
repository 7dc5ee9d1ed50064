"""Replies as Adaptive Cards: typed text stays literal, buttons carry actions, forms round-trip."""

from __future__ import annotations

from typing import Any

from microsoft_teams.cards import AdaptiveCard

from bot import replies
from bot.replies import (
    Attachment,
    Button,
    Buttons,
    ButtonStyle,
    FieldKind,
    Fields,
    Form,
    FormField,
    Heading,
    Note,
    Paragraph,
    Reply,
    bold,
    link,
    text,
)
from handlers.teams.render import (
    FORM_VERB,
    CardContext,
    FileLink,
    form_from_spec,
    form_spec,
    render_card,
    render_form,
    submitted_values,
    summary,
)
from tests.teams.conftest import actions, card_text

TYPED = (
    "Thanks **team** _all_ [click](https://evil.example) <at>Bob</at> # not a heading\n- not a list"
)


def runs(card: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextRun":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def kinds(card: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("type"), str):
                found.add(node["type"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def assert_valid(card: dict[str, Any]) -> None:
    """The Teams SDK's own Adaptive Card model accepts the card and keeps all of it."""
    parsed = AdaptiveCard.model_validate(card)
    assert parsed.model_dump(by_alias=True, exclude_none=True) == card


def test_typed_markdown_and_mentions_are_shown_literally_and_never_parsed() -> None:
    reply = Reply(
        blocks=(Heading(TYPED[:40]), Paragraph(text(bold("Win"), ": ", TYPED)), Note(text(TYPED)))
    )
    card = render_card(reply, CardContext())
    assert_valid(card)
    # Teams reads Markdown in TextBlock and FactSet only; none are used, and no mention entity.
    assert not kinds(card) & {"TextBlock", "FactSet"}
    assert "msteams" not in card or "entities" not in card["msteams"]
    shown = card_text(card)
    assert (
        "Thanks **team** _all_ [click](https://evil.example) <at>Bob</at> # not a heading" in shown
    )
    assert "- not a list" in shown
    # The link a person typed is text, not a link: only LINK spans get a selectAction.
    assert not [run for run in runs(card) if "selectAction" in run]


def test_spans_render_with_their_own_styles_and_mentions_become_names() -> None:
    paragraph = text(
        bold("Win"), " from ", replies.user("aad-1"), " in ", replies.channel("19:c@thread.tacv2"),
        " · ", link("open", "https://teams.example/x"), " · ", link("bad", "javascript:alert(1)"),
    )  # fmt: skip
    card = render_card(
        Reply(blocks=(Paragraph(paragraph),)),
        CardContext(names={"aad-1": "Alice <at>", "19:c@thread.tacv2": "marketing-it"}),
    )
    assert_valid(card)
    by_text = {run["text"]: run for run in runs(card)}
    assert by_text["Win"]["weight"] == "Bolder"
    assert "@Alice <at>" in by_text and "#marketing-it" in by_text
    assert by_text["open"]["selectAction"] == {
        "type": "Action.OpenUrl",
        "url": "https://teams.example/x",
    }
    assert "selectAction" not in by_text["bad (javascript:alert(1))"]
    unknown = render_card(Reply(blocks=(Paragraph(text(replies.user("aad-9"))),)), CardContext())
    assert card_text(unknown) == "a teammate"


def test_buttons_are_action_execute_with_their_action_value_and_channel() -> None:
    reply = Reply(
        blocks=(
            Buttons(
                (
                    Button("Celebrate", "board_celebrate", "42", ButtonStyle.PRIMARY),
                    Button("Delete", "x", "1", ButtonStyle.DANGER),
                )
            ),
        )
    )
    card = render_card(reply, CardContext(origin="19:shared@thread.tacv2"))
    assert_valid(card)
    celebrate, delete = actions(card)
    assert celebrate == {
        "type": "Action.Execute",
        "title": "Celebrate",
        "verb": "board_celebrate",
        "style": "positive",
        "data": {"bb": "action", "v": "42", "c": "19:shared@thread.tacv2"},
    }
    assert delete["style"] == "destructive"


def test_fields_errors_and_files() -> None:
    reply = Reply(
        blocks=(Fields((("Mean", text("4.2")), ("Agree", text("80%")), ("Gap", text("+12")))),),
        is_error=True,
        attachments=(Attachment("pulse-trend.png", b"png", "Trend"),),
    )
    files = (
        FileLink(
            "pulse-trend.png", "Trend", "https://bb.test/teams/files/t1/pulse-trend.png", True
        ),
        FileLink("pulse.csv", "CSV", "https://bb.test/teams/files/t2/pulse.csv", False),
    )
    card = render_card(reply, CardContext(files=files))
    assert_valid(card)
    assert card["body"][0]["type"] == "Container" and card["body"][0]["style"] == "attention"
    assert "Mean\n4.2\nAgree\n80%\nGap\n+12" in card_text(card)
    images = [n for n in card["body"][0]["items"] if n["type"] == "Image"]
    assert images == [{"type": "Image", "url": files[0].url, "altText": "Trend"}]
    assert {
        "type": "Action.OpenUrl",
        "title": "Download pulse.csv",
        "url": files[1].url,
    } in actions(card)
    assert summary(reply, {}) == "Mean: 4.2 · Agree: 80% · Gap: +12"


FORM = Form(
    callback_id="standup_create",
    title="New stand-up",
    submit_label="Create",
    metadata="m-1",
    fields=(
        FormField("name", "Name", "Stand-up", max_length=80),
        FormField("channel", "Channel", "19:b@thread.tacv2", kind=FieldKind.CHANNEL),
        FormField(
            "weekdays",
            "Days",
            "mon,wed",
            kind=FieldKind.MULTI_SELECT,
            options=(("mon", "Monday"), ("wed", "Wednesday")),
        ),
        FormField("time", "Time", "09:30", kind=FieldKind.TIME),
        FormField("people", "People", optional=True, kind=FieldKind.USERS),
        FormField("questions", "Questions", "a\nb", multiline=True, hint="One per line"),
    ),
)


def test_a_form_is_a_card_of_inputs_whose_submit_carries_the_form() -> None:
    card = render_form(
        FORM, origin="19:a@thread.tacv2", channels=[("19:a@thread.tacv2", "General")]
    )
    assert_valid(card)
    inputs = {n["id"]: n for n in card["body"] if n["type"].startswith("Input.")}
    assert inputs["in_name"]["value"] == "Stand-up" and inputs["in_name"]["isRequired"] is True
    assert (
        inputs["in_weekdays"]["isMultiSelect"] is True
        and inputs["in_weekdays"]["value"] == "mon,wed"
    )
    assert inputs["in_time"]["type"] == "Input.Time"
    assert inputs["in_people"]["choices.data"]["dataset"] == "graph.microsoft.com/users"
    # The form's own channel stays choosable next to the channels bridgebot knows.
    assert [c["value"] for c in inputs["in_channel"]["choices"]] == [
        "19:b@thread.tacv2",
        "19:a@thread.tacv2",
    ]
    submit, cancel = actions(card)
    assert submit["verb"] == FORM_VERB and submit["data"]["c"] == "19:a@thread.tacv2"
    assert cancel["title"] == "Cancel"


def test_a_submitted_form_comes_back_with_the_typed_values_and_errors_under_fields() -> None:
    spec = form_spec(FORM)
    typed = {"name": "", "channel": "19:a@thread.tacv2", "weekdays": "mon", "time": "25:99"}
    typed |= {"people": "", "questions": "why?"}
    values = submitted_values(spec, {f"in_{name}": value for name, value in typed.items()})
    assert values == typed
    again = form_from_spec(spec, values)
    assert again.callback_id == "standup_create" and again.metadata == "m-1"
    card = render_form(again, origin="", errors={"time": "Use HH:MM", "other": "Something else"})
    assert_valid(card)
    shown = card_text(card)
    assert shown.index("Something else") < shown.index("Use HH:MM")
    time_input = next(n for n in card["body"] if n.get("id") == "in_time")
    assert time_input["value"] == "25:99"
    assert card["body"][card["body"].index(time_input) + 1]["inlines"][0]["text"] == "Use HH:MM"
