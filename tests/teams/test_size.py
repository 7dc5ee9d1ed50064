"""Cards Teams would refuse for their size (about 100 KB in UTF-16, HTTP 413): split or
shortened under an 80 KB budget; the stand-up form searches channels instead of listing
every one."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.replies import Button, Buttons, Paragraph, Reply, text
from handlers.teams import store
from handlers.teams.render import CHANNEL_DATASET, card_response
from handlers.teams.size import BUDGET_BYTES, CUT_NOTE, fit_card, utf16_size
from tests.app_scheduler import app_scheduler
from tests.teams.activities import TENANT_A, search
from tests.teams.conftest import ADMIN, ALICE, SHARED, TEAM_A, Teams, actions, card_text

# Two UTF-16 bytes for "é", four for the emoji: counted as Teams counts them.
LINE = "Réseau 🚀 " * 40


def big_card(paragraphs: int) -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": f"{n} {LINE}"}]}
            for n in range(paragraphs)
        ],
        "actions": [{"type": "Action.Execute", "title": "Celebrate", "verb": "board_celebrate"}],
    }


def test_size_is_counted_in_utf16() -> None:
    assert utf16_size("é") == 2 * len('"é"')
    assert utf16_size("🚀") == 4 + 4  # two quotes, then a surrogate pair


def test_a_card_over_budget_is_split_in_order_with_its_buttons_last() -> None:
    card = big_card(300)
    assert utf16_size(card) > 2 * BUDGET_BYTES
    parts = fit_card(card)
    assert len(parts) >= 3
    assert all(utf16_size(part) <= BUDGET_BYTES for part in parts)
    assert [e for part in parts for e in part["body"]] == card["body"]
    assert [("actions" in part) for part in parts] == [False] * (len(parts) - 1) + [True]


def test_a_card_that_replaces_one_is_shortened_and_says_so() -> None:
    answer = card_response(big_card(300))
    shown = answer["value"]
    assert utf16_size(shown) <= BUDGET_BYTES
    assert shown["body"][-1]["text"] == CUT_NOTE
    assert shown["actions"][0]["title"] == "Celebrate"
    # One paragraph longer than the whole budget is cut short, with an ellipsis.
    (alone,) = fit_card(big_card(1) | {"body": [big_card(1)["body"][0] | {"inlines": [
        {"type": "TextRun", "text": LINE * 200}]}]})  # fmt: skip
    assert utf16_size(alone) <= BUDGET_BYTES
    assert alone["body"][0]["inlines"][0]["text"].endswith("…")


def test_a_long_scheduled_message_arrives_in_parts_not_as_a_413(teams: Teams) -> None:
    teams.say("bridge side it", ALICE, SHARED)
    reply = Reply(
        blocks=tuple(Paragraph(text(f"{n} {LINE}")) for n in range(300))
        + (Buttons((Button("Celebrate", "board_celebrate", "1"),)),)
    )
    notifier = app_scheduler(teams.client).notifier
    before = len(teams.connector.sent(SHARED.channel_id))
    assert teams.client.portal is not None

    first = teams.client.portal.call(notifier.post, TENANT_A, SHARED.channel_id, reply)

    parts = teams.connector.sent(SHARED.channel_id)[before:]
    assert len(parts) >= 3 and all(part.message_id for part in parts)
    assert first == parts[0].message_id
    shown = "\n".join(card_text(part.card) for part in parts)
    assert all(f"{n} Réseau" in shown for n in range(300))
    assert [a["title"] for a in actions(parts[-1].card)] == ["Celebrate"]


def test_the_standup_form_searches_300_channels_instead_of_listing_them(
    teams: Teams, teams_deps: Deps
) -> None:
    teams.say("bridge side it", ADMIN, SHARED)
    with teams_deps.session_factory.begin() as session:
        for n in range(300):
            name = f"marketing-{n:03d}" if n % 3 == 0 else f"project-{n:03d}-long-channel-name"
            store.remember(
                session=session, workspace_id=TENANT_A, ref=f"19:ch{n:03d}@thread.tacv2",
                kind=store.CHANNEL, service_url=teams.connector.service_url,
                tenant_id=TENANT_A, conversation_id=f"19:ch{n:03d}@thread.tacv2",
                team_id=TEAM_A, name=name,
            )  # fmt: skip

    (form,) = teams.say("standup", ADMIN, SHARED)

    assert utf16_size(form.card) < 36_000
    (choice,) = [n for n in form.card["body"] if n.get("id") == "in_channel"]
    assert choice["choices.data"] == {"type": "Data.Query", "dataset": CHANNEL_DATASET}
    assert len(choice["choices"]) <= 15
    assert choice["choices"][0]["value"] == choice["value"] == SHARED.channel_id

    found = teams.post(
        search(teams.connector.service_url, ADMIN, SHARED, CHANNEL_DATASET, "MARKETING-01")
    )
    assert found["type"] == "application/vnd.microsoft.search.searchResponse"
    results = found["value"]["results"]
    assert [r["title"] for r in results] == [f"#marketing-{n:03d}" for n in (12, 15, 18)]
    assert results[0]["value"] == "19:ch012@thread.tacv2"
    # A search never reaches another dataset or returns more than Teams shows.
    other = teams.post(search(teams.connector.service_url, ADMIN, SHARED, "people", "m"))
    assert other["value"]["results"] == []
    many = teams.post(search(teams.connector.service_url, ADMIN, SHARED, CHANNEL_DATASET, "-"))
    assert len(many["value"]["results"]) == 15
