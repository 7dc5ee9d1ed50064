"""A workspace on Teams is the tenant: sides, posts, terms and references never cross tenants."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.deps import Deps, build_deps
from bot.models import Person, Workspace
from bot.notify import DeliveryError
from bot.replies import message
from handlers.server import create_web_app
from handlers.teams.app import TeamsOptions
from tests.app_scheduler import app_scheduler
from tests.teams.activities import TENANT_A, TENANT_B, card_action, channel, person, personal
from tests.teams.conftest import (
    ADMIN,
    ALICE,
    NOW,
    SHARED,
    Teams,
    actions,
    card_text,
    outgoing_token,
    teams_settings_for,
)
from tests.teams.fake_connector import FakeConnector

MALLORY = person("Mallory", 7, TENANT_B)
ADMIN_B = person("Bea", 8, TENANT_B)
SHARED_B = channel(
    "19:shared-b00000000000000000000000@thread.tacv2",
    "19:team-b@thread.tacv2",
    TENANT_B,
    "general-b",
)


def test_sides_are_kept_per_tenant(teams: Teams, teams_deps: Deps) -> None:
    teams.say("bridge side marketing", ALICE)
    same_person_elsewhere = person("Alice", 1, TENANT_B)  # same ids, another organisation
    (answer,) = teams.say("bridge side", same_person_elsewhere)
    assert "You have not chosen a side yet" in card_text(answer.card)
    with teams_deps.session_factory() as session:
        rows = session.execute(select(Person.workspace_id, Person.side)).all()
        platforms = dict(session.execute(select(Workspace.id, Workspace.platform)).all())
    assert rows == [(TENANT_A, "marketing")]
    assert platforms == {TENANT_A: "teams", TENANT_B: "teams"}


def test_posts_and_terms_stay_in_their_tenant(teams: Teams) -> None:
    teams.say("bridge channel here", ADMIN, SHARED)
    (refused,) = teams.say("win From the other company", MALLORY)
    assert "There is no shared channel yet" in card_text(refused.card)
    assert teams.connector.sent(SHARED.channel_id) == []

    (form,) = teams.say("jargon add Moonshot", ALICE)
    inputs = {
        "in_name": "Moonshot",
        "in_definition": "A very ambitious goal.",
        "in_origin": "general",
    }
    teams.click(form, "Save", ALICE, inputs=inputs)
    (elsewhere,) = teams.say("jargon Moonshot", MALLORY)
    assert "Add this term" in [a["title"] for a in actions(elsewhere.card)]


def test_a_click_from_another_tenant_cannot_touch_a_post(teams: Teams) -> None:
    teams.say("bridge channel here", ADMIN, SHARED)
    _, post = teams.say("win Our launch", ALICE)
    celebrate = actions(post.card)[0]
    # Mallory replays the button (its post id) from her own tenant's channel.
    answer = teams.post(
        card_action(
            teams.connector.service_url, MALLORY, SHARED_B, celebrate, reply_to_id=post.message_id
        )
    )
    assert answer["value"] == "That post no longer exists."
    assert teams.connector.updates() == []


def test_references_are_looked_up_only_in_their_own_tenant(teams: Teams) -> None:
    teams.say("bridge side it", ALICE, SHARED)  # bridgebot now knows SHARED in tenant A
    notifier = app_scheduler(teams.client).notifier
    portal = teams.client.portal
    assert portal is not None
    with pytest.raises(DeliveryError):
        portal.call(notifier.post, TENANT_B, SHARED.channel_id, message("hello"))
    with pytest.raises(DeliveryError):
        portal.call(notifier.post, TENANT_B, ALICE.aad, message("hello"))
    assert teams.connector.sent(SHARED.channel_id) == []


@pytest.fixture
def single_tenant(database_url: str, connector: FakeConnector) -> Iterator[tuple[Teams, Deps]]:
    deps = build_deps(
        teams_settings_for(database_url, teams_tenant_id=TENANT_A),
        upgrade_schema=False,
        clock=lambda: NOW,
    )
    options = TeamsOptions(token=outgoing_token, dangerously_allow_unauthenticated_requests=True)
    try:
        with TestClient(create_web_app(deps, teams_options=options)) as client:
            yield Teams(client, connector, deps), deps
    finally:
        deps.engine.dispose()


def test_with_teams_tenant_id_set_other_tenants_are_ignored(
    single_tenant: tuple[Teams, Deps],
) -> None:
    teams, deps = single_tenant
    assert teams.say("bridge side it", MALLORY) == []
    assert teams.say("bridge side it", ALICE, personal(ALICE))
    with deps.session_factory() as session:
        assert list(session.execute(select(Workspace.id)).scalars()) == [TENANT_A]
