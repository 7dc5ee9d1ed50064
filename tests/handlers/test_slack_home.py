"""The App Home tab over signed HTTP: what it shows, the side selector, retries handled once."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.commands.home import term_of_the_day
from bot.deps import Deps
from bot.models import GlossaryTerm, Person, Side
from bot.services import availability, board, glossary, people, pulse, standups, workspaces
from bot.services.standups import StandupDraft
from tests.conftest import SlackStart
from tests.fake_slack import TEAM_ID, Call, FakeSlack
from tests.idle import wait_until_idle
from tests.signing import (
    app_home_opened_body,
    home_action_body,
    json_headers,
    slack_headers,
)

# A Wednesday in the future: the app's own scheduler waits for it, so no tick interferes.
NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)
ALICE, BOB = "U0ALICE", "U0BOB"
MARKETING = ["U0MK1", "U0MK2", "U0MK3"]
IT = ["U0IT1", "U0IT2", "U0IT3"]


@pytest.fixture
def slack_start() -> SlackStart:
    return SlackStart(now=NOW, members=(ALICE, BOB))


def seed(deps: Deps) -> None:
    """A workspace with its glossary, a stand-up Alice is in, an open challenge, a closed pulse."""
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=TEAM_ID, platform="slack", timezone="UTC"
        )
        glossary.seed_starter(session=session, workspace_id=TEAM_ID, now=NOW)
        for side, users in ((Side.MARKETING, MARKETING), (Side.IT, IT)):
            for user in users:
                people.set_side(session=session, workspace_id=TEAM_ID, user_ref=user, side=side)
        standups.create(
            session=session,
            workspace_id=TEAM_ID,
            draft=StandupDraft(
                name="Launch sync",
                channel_ref="C0STAND",
                weekdays="thu",
                local_time="10:00",
                timezone="Europe/London",
                participants=f"{ALICE},{BOB}",
            ),
            creator_ref=BOB,
            now=NOW - timedelta(days=7),
            secret_key=deps.secret_key,
        )
        board.create_post(
            session=session, workspace_id=TEAM_ID, kind="challenge", author_ref=BOB,
            text="Need help wiring UTM tags into the CRM", channel_ref="C0SHARED",
            now=NOW - timedelta(days=1), source="command",
        )  # fmt: skip
        slot = NOW - timedelta(days=2, hours=2)
        poll, _ = pulse.open_weekly(
            session=session, workspace_id=TEAM_ID, slot=slot, now=slot,
            open_for=timedelta(hours=48),
        )  # fmt: skip
        for users, value in ((MARKETING, 4), (IT, 2)):
            for user in users:
                for question in range(3):
                    pulse.vote(
                        session=session, workspace_id=TEAM_ID, poll_id=poll.id,
                        question=question, value=value, user_ref=user,
                        secret_key=deps.secret_key, now=slot + timedelta(hours=1),
                    )  # fmt: skip
        pulse.close(
            session=session, workspace_id=TEAM_ID, poll_id=poll.id, now=slot + timedelta(hours=48)
        )


def open_home(client: TestClient, user: str, event_id: str, **headers: str) -> int:
    body = app_home_opened_body(user, event_id=event_id)
    response = client.post("/slack/events", content=body, headers=json_headers(body) | headers)
    return response.status_code


def click(client: TestClient, action_id: str, value: str, user: str, trigger_id: str) -> int:
    body = home_action_body(action_id, value, user_id=user, trigger_id=trigger_id)
    return client.post("/slack/events", content=body, headers=slack_headers(body)).status_code


def publishes(fake: FakeSlack, user: str) -> list[Call]:
    return [call for call in fake.calls_to("views.publish") if call.params["user_id"] == user]


def wait_for_publishes(fake: FakeSlack, user: str, count: int, timeout: float = 10.0) -> Call:
    deadline = time.monotonic() + timeout
    while len(publishes(fake, user)) < count:
        assert time.monotonic() < deadline, f"expected {count} home view(s) for {user}"
        time.sleep(0.02)
    return publishes(fake, user)[count - 1]


def view_of(call: Call) -> dict[str, Any]:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def side_buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"].startswith("home_side")
    ]


def sections(view: dict[str, Any]) -> str:
    return "\n".join(
        block["text"]["text"] for block in view["blocks"] if block["type"] == "section"
    )


def side_of(deps: Deps, user: str) -> str | None:
    with deps.session_factory() as session:
        return session.execute(
            select(Person.side).where(Person.workspace_id == TEAM_ID, Person.user_ref == user)
        ).scalar_one_or_none()


def test_opening_the_home_tab_publishes_the_persons_overview(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    seed(slack_deps)
    assert open_home(slack_http, ALICE, "Ev0HOME0001") == 200

    call = wait_for_publishes(fake_slack, ALICE, 1)
    view = view_of(call)
    assert view["type"] == "home"
    shown = sections(view)
    # Alice has no side yet: three buttons to choose one, none marked.
    assert "Choose your side" in shown
    buttons = side_buttons(view)
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [
        ("Marketing", "marketing"),
        ("IT", "it"),
        ("Other", "other"),
    ]
    assert all("style" not in b for b in buttons)
    # Her next stand-up, in its own time zone; the open challenge; the gap; a term.
    assert "Thu 07 Mar 10:00 (Europe/London)" in shown
    assert "*Launch sync* in <#C0STAND>" in shown
    assert "Need help wiring UTM tags into the CRM" in shown
    assert "Marketing 100% vs IT 0% agree" in shown
    assert "+100 points" in shown
    term_block = next(b for b in view["blocks"] if "Term of the day" in json.dumps(b))
    name, _, definition = (
        term_block["text"]["text"].partition("*Term of the day: *")[2].partition("\n")
    )
    with slack_deps.session_factory() as session:
        stored = session.execute(
            select(GlossaryTerm.definition).where(
                GlossaryTerm.workspace_id == TEAM_ID,
                GlossaryTerm.name == name.replace("&amp;", "&"),
            )
        ).scalar_one()
    assert definition.replace("&amp;", "&") == stored


def test_a_side_button_sets_the_side_and_marks_it(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    seed(slack_deps)
    open_home(slack_http, ALICE, "Ev0HOME0002")
    it_button = next(
        b
        for b in side_buttons(view_of(wait_for_publishes(fake_slack, ALICE, 1)))
        if b["value"] == "it"
    )

    assert click(slack_http, it_button["action_id"], "it", ALICE, "111.42.aaaa") == 200

    view = view_of(wait_for_publishes(fake_slack, ALICE, 2))
    assert side_of(slack_deps, ALICE) == "it"
    assert "*You are on the IT side.*" in sections(view)
    styles = {b["value"]: b.get("style") for b in side_buttons(view)}
    assert styles == {"marketing": None, "it": "primary", "other": None}
    assert fake_slack.calls_to("response_url") == []  # the Home view is the answer


def test_a_retried_event_is_acknowledged_but_not_handled_again(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    seed(slack_deps)
    assert open_home(slack_http, ALICE, "Ev0HOMERETRY") == 200
    wait_for_publishes(fake_slack, ALICE, 1)

    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert open_home(slack_http, ALICE, "Ev0HOMERETRY", **retry) == 200
    # A later, different event is handled; by then the retry would have been too.
    assert open_home(slack_http, BOB, "Ev0HOMEOTHER") == 200
    wait_for_publishes(fake_slack, BOB, 1)
    wait_until_idle(slack_http)
    assert len(publishes(fake_slack, ALICE)) == 1


def test_a_repeated_click_changes_the_side_once_and_publishes_once(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    seed(slack_deps)
    with slack_deps.session_factory.begin() as session:
        people.set_side(session=session, workspace_id=TEAM_ID, user_ref=ALICE, side=Side.OTHER)
    open_home(slack_http, ALICE, "Ev0HOME0003")
    wait_for_publishes(fake_slack, ALICE, 1)

    # Slack sends the same payload again (same trigger_id), e.g. after a slow answer.
    assert click(slack_http, "home_side:0", "marketing", ALICE, "222.42.bbbb") == 200
    assert click(slack_http, "home_side:0", "marketing", ALICE, "222.42.bbbb") == 200
    view = view_of(wait_for_publishes(fake_slack, ALICE, 2))
    assert "*You are on the Marketing side.*" in sections(view)

    # Bob's own click goes through, showing clicks are still handled; Alice's ran once.
    assert click(slack_http, "home_side:1", "it", BOB, "333.42.cccc") == 200
    wait_for_publishes(fake_slack, BOB, 1)
    wait_until_idle(slack_http)
    assert len(publishes(fake_slack, ALICE)) == 2
    assert side_of(slack_deps, ALICE) == "marketing"
    assert side_of(slack_deps, BOB) == "it"


def test_the_term_of_the_day_holds_all_day_and_a_new_term_rarely_changes_it() -> None:
    terms = list(range(1, 151))
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(60)]
    chosen = [term_of_the_day(terms, day) for day in days]
    assert len(set(chosen)) > 40  # a different one most days
    assert term_of_the_day(reversed(terms), days[0]) == chosen[0]  # whatever the order
    # One term more changes a day's choice only on the days that term wins.
    with_one_more = [term_of_the_day([*terms, 151], day) for day in days]
    changed = [
        day
        for day, before, after in zip(days, chosen, with_one_more, strict=True)
        if before != after
    ]
    assert all(term_of_the_day([*terms, 151], day) == 151 for day in changed)
    assert len(changed) < 5
    assert term_of_the_day([], days[0]) is None


def test_the_home_tab_shows_ones_time_off_and_todays_holiday(
    slack_http: TestClient, fake_slack: FakeSlack, slack_deps: Deps
) -> None:
    seed(slack_deps)
    with slack_deps.session_factory.begin() as session:
        availability.add_time_off(
            session=session,
            workspace_id=TEAM_ID,
            user_ref=ALICE,
            first_day=date(2030, 3, 6),
            last_day=date(2030, 3, 8),
            today=NOW.date(),
            now=NOW,
        )
        # Wednesday 6 March 2030 is Independence Day in Ghana, Bob's region.
        availability.set_region(session=session, workspace_id=TEAM_ID, user_ref=BOB, region="GH")
    assert open_home(slack_http, ALICE, "Ev0HOMEAWAY1") == 200
    alice = json.dumps(view_of(wait_for_publishes(fake_slack, ALICE, 1)))
    assert "You are away: Wed 06 Mar 2030 to Fri 08 Mar 2030 (/bridge away off to cancel)." in alice
    assert open_home(slack_http, BOB, "Ev0HOMEAWAY2") == 200
    bob = json.dumps(view_of(wait_for_publishes(fake_slack, BOB, 1)))
    assert "Today is Independence Day in GH: no stand-up or pulse asks you anything." in bob
    assert "You are away" not in bob
