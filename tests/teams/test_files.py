"""Files in Teams cards: the pulse chart shown as an image, calendars and exports as downloads."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from bot.deps import Deps
from tests.clock import Clock
from tests.teams.activities import person, personal
from tests.teams.conftest import ADMIN, ALICE, BOB, NOW, SHARED, Teams, actions, card_text
from tests.teams.fake_connector import Call
from tests.teams.test_proactive import create_standup, install_in_team, tick


def images(card: dict[str, Any]) -> list[dict[str, Any]]:
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Image":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def pulse_cards(teams: Teams, count: int) -> dict[str, Call]:
    """The pulse DMs by conversation, once `count` have arrived (they go out after the reply)."""
    deadline = time.monotonic() + 10
    while True:
        sent = teams.connector.sent()
        cards = {c.conversation: c for c in sent if "Weekly pulse" in card_text(c.card)}
        if len(cards) >= count:
            return cards
        assert time.monotonic() < deadline, f"{len(cards)} of {count} pulse DMs arrived"
        time.sleep(0.02)


def test_pulse_results_are_posted_with_the_trend_chart(teams: Teams, teams_deps: Deps) -> None:
    marketing = [ALICE, person("Mia", 11), person("Max", 12)]
    it = [BOB, person("Ian", 13), person("Ivy", 14)]
    teams.say("bridge channel here", ADMIN, SHARED)
    for who in marketing:
        teams.say("bridge side marketing", who)
    for who in it:
        teams.say("bridge side it", who)
    teams.say("pulse now", ADMIN)
    cards = pulse_cards(teams, count=len(marketing) + len(it))
    for who, choice in [*((p, "Agree") for p in marketing), *((p, "Disagree") for p in it)]:
        teams.click(cards[personal(who).conversation_id], choice, who)

    before = len(teams.connector.sent())
    tick(teams, teams_deps, NOW + timedelta(hours=48, minutes=1))
    (results,) = [c for c in teams.connector.sent()[before:] if c.conversation == SHARED.channel_id]
    shown = card_text(results.card)
    assert "Pulse results" in shown and "Marketing" in shown and "IT" in shown
    (chart,) = images(results.card)
    url = urlparse(chart["url"])
    assert (url.scheme, url.netloc) == ("https", "bridgebot.test")  # BRIDGEBOT_PUBLIC_URL
    served = teams.client.get(url.path)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content.startswith(b"\x89PNG")
    assert (
        teams.client.get(url.path.replace(url.path.split("/")[3], "not-the-token")).status_code
        == 404
    )


def test_a_calendar_is_a_download_button(teams: Teams) -> None:
    install_in_team(teams)
    create_standup(teams, [ALICE.aad])
    (answer,) = teams.say("standup calendar 1", ADMIN)
    download = next(a for a in actions(answer.card) if a["type"] == "Action.OpenUrl")
    assert download["title"] == "Download standup-1.ics"
    served = teams.client.get(urlparse(download["url"]).path)
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/calendar")
    assert served.headers["content-disposition"].startswith("attachment")
    assert b"BEGIN:VCALENDAR" in served.content


def test_files_expire(teams: Teams, teams_deps: Deps, clock: Clock) -> None:
    (answer,) = teams.say("bridge export-me", ALICE)
    download = next(a for a in actions(answer.card) if a["type"] == "Action.OpenUrl")
    path = urlparse(download["url"]).path
    assert teams.client.get(path).status_code == 200
    clock.now = NOW + timedelta(days=2)
    assert teams.client.get(path).status_code == 404
