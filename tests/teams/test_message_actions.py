"""… › More actions › Explain jargon in Teams: declared in the app manifest, answered in a
dialog only the person who chose it sees, through the SDK's HTTP path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.commands import build_router
from bot.commands.glossary import GLOSSARY_EXPLAIN
from bot.deps import Deps
from handlers.teams.manifest import manifest, message_extension
from handlers.teams.models import TeamsConversation
from tests.teams.activities import APP_ID, group_chat, message_action, personal
from tests.teams.conftest import ALICE, SHARED, Teams, card_text

CARD = "application/vnd.microsoft.card.adaptive"


def test_the_manifest_offers_explain_jargon_on_every_message() -> None:
    router = build_router()
    (extension,) = message_extension(APP_ID, router.message_actions())
    assert extension["botId"] == APP_ID
    (command,) = extension["commands"]
    assert command == {
        "id": GLOSSARY_EXPLAIN,
        "type": "action",
        "title": "Explain jargon",
        "description": "Every glossary term in this message, explained to you only",
        "context": ["message"],
        "fetchTask": True,
    }
    # The app manifest carries the router's message actions, and none when there are none.
    data = manifest(
        [], message_actions=router.message_actions(), app_id=APP_ID, base_url="https://b.example"
    )
    assert data["composeExtensions"] == [extension]
    assert manifest([], app_id=APP_ID, base_url="https://b.example")["composeExtensions"] == []


def explain(teams: Teams, html: str, **kwargs: Any) -> dict[str, Any]:
    who = kwargs.pop("who", ALICE)
    place = kwargs.pop("place", SHARED)
    answer: dict[str, Any] = teams.post(
        message_action(teams.connector.service_url, who, place, GLOSSARY_EXPLAIN, html, **kwargs)
    )
    return answer


def test_explain_jargon_on_a_channel_message_answers_in_a_private_dialog(teams: Teams) -> None:
    answer = explain(
        teams, "<p>Our <b>CAC</b> rose again&nbsp;and the <i>API</i><br>is slow &amp; flaky</p>"
    )

    task = answer["task"]
    assert task["type"] == "continue" and task["value"]["title"] == "Explain jargon"
    assert task["value"]["card"]["contentType"] == CARD
    shown = card_text(task["value"]["card"]["content"])
    assert "Jargon in this message (2):" in shown
    assert "CAC" in shown and "API" in shown
    # A dialog is the chooser's alone: nothing was posted in the channel, or anywhere.
    assert teams.connector.sent() == []


def test_a_chat_bridgebot_is_not_in_is_not_remembered_as_a_place_to_post(
    teams: Teams, teams_deps: Deps
) -> None:
    chat = group_chat("19:never-added-0000000000@thread.v2", name="Lunch")
    explain(teams, "<p>Our CAC</p>", place=chat)
    with teams_deps.session_factory() as session:
        kinds = dict(session.execute(select(TeamsConversation.ref, TeamsConversation.kind)).all())
    assert kinds == {ALICE.aad: "person"}


def test_a_message_without_glossary_terms_says_so(teams: Teams) -> None:
    answer = explain(teams, "<div>See you at lunch</div>", place=personal(ALICE))
    assert card_text(answer["task"]["value"]["card"]["content"]) == (
        "No glossary terms in that message."
    )


def test_a_message_with_no_text_and_an_unknown_action_get_a_short_notice(teams: Teams) -> None:
    assert explain(teams, "<img src='x.png'>")["task"] == {
        "type": "message",
        "value": "That message has no text to explain (only pictures or a card).",
    }
    unknown = teams.post(
        message_action(
            teams.connector.service_url, ALICE, SHARED, "glossary_delete_all", "<p>CAC</p>"
        )
    )
    assert unknown["task"]["type"] == "message"
    assert "no longer offers that action" in unknown["task"]["value"]
