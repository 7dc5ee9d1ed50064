"""Export-me and forget-me in Teams cover what the Teams adapter stores about a person:
where bridgebot reaches them, and the files made for them, in the command's transaction."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.models import Person
from bot.services.privacy import Forgotten, PrivacyHooks
from handlers.teams.models import TeamsConversation, TeamsFile
from tests.teams.activities import personal
from tests.teams.conftest import ALICE, BOB, SHARED, Teams, actions, card_text
from tests.teams.fake_connector import Call


def download_path(answer: Call) -> str:
    link = next(a for a in actions(answer.card) if a["type"] == "Action.OpenUrl")
    return urlparse(link["url"]).path


def forget_me(teams: Teams) -> str:
    (confirm,) = teams.say("bridge forget-me", ALICE, SHARED)
    answer = teams.click(
        confirm, "Forget me", ALICE, personal(ALICE), message_id=confirm.message_id
    )
    return card_text(answer["value"]) if isinstance(answer.get("value"), dict) else str(answer)


def teams_rows(deps: Deps) -> tuple[set[str], set[str | None]]:
    with deps.session_factory() as session:
        refs = set(session.execute(select(TeamsConversation.ref)).scalars())
        owners = set(session.execute(select(TeamsFile.owner_ref)).scalars())
    return refs, owners


def test_export_me_lists_where_teams_reaches_you_and_the_files_made_for_you(
    teams: Teams,
) -> None:
    (first,) = teams.say("bridge export-me", ALICE)
    (second,) = teams.say("bridge export-me", ALICE)

    exported = json.loads(teams.client.get(download_path(second)).content)
    (contact,) = exported["teams_contact"]
    assert contact["name"] == ALICE.name and contact["member_id"] == ALICE.member_id
    # The first export is a file made for her; the second one lists it.
    assert [f["filename"] for f in exported["teams_files"]] == ["bridgebot-my-data.json"]
    assert teams.client.get(download_path(first)).status_code == 200


def test_forget_me_deletes_where_teams_reaches_you_and_your_files_only(
    teams: Teams, teams_deps: Deps
) -> None:
    teams.say("bridge side it", ALICE, SHARED)
    (hers,) = teams.say("bridge export-me", ALICE)
    (his,) = teams.say("bridge export-me", BOB)

    assert "bridgebot has forgotten you here" in forget_me(teams)

    refs, owners = teams_rows(teams_deps)
    assert ALICE.aad not in refs and {BOB.aad, SHARED.channel_id} <= refs
    assert owners == {BOB.aad}
    assert teams.client.get(download_path(hers)).status_code == 404
    assert teams.client.get(download_path(his)).status_code == 200


def test_forget_me_in_teams_is_one_transaction(teams: Teams, teams_deps: Deps) -> None:
    teams.say("bridge side it", ALICE, SHARED)
    teams.say("bridge export-me", ALICE)

    def fail(*, session: Session, workspace_id: str, user_ref: str, now: datetime) -> Forgotten:
        raise RuntimeError("a feature failed while forgetting")

    teams_deps.router.privacy.register(PrivacyHooks("failing", export=lambda **_: {}, forget=fail))
    assert "bridgebot has forgotten you here" not in forget_me(teams)

    # Nothing was forgotten, the Teams rows included: no second transaction ran.
    refs, owners = teams_rows(teams_deps)
    assert ALICE.aad in refs and owners == {ALICE.aad}
    with teams_deps.session_factory() as session:
        assert session.scalars(select(Person.user_ref)).all() == [ALICE.aad]
