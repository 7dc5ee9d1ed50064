"""The stand-up form names its channel and people as /bridge channel names a channel:
anything that is no channel or nobody is refused on its field; the channel defaults to
the shared channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.commands.standup import STANDUP_CREATE_FORM
from bot.deps import Deps
from bot.models import Standup
from bot.router import Caller, FormInvalid, RequestScope, run_command, run_form
from handlers.slack.slash_text import resolve_channel, resolve_user

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
ADMIN = Caller(workspace_id="T1", user_ref="UADMIN1", platform="slack", is_admin=True)


def scope(deps: Deps) -> RequestScope:
    """A Slack request: channels and people arrive as ids or escaped mentions."""
    return RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=ADMIN,
        now=NOW,
        default_timezone="UTC",
        resolve_channel=resolve_channel,
        resolve_user=resolve_user,
    )


def values(**changes: str) -> dict[str, str]:
    return {
        "name": "Weekly sync",
        "channel": "C0STANDUP",
        "weekdays": "mon,wed",
        "time": "09:30",
        "timezone": "UTC",
        "mode": "meeting",
        "audience": "chosen",
        "participants": "U0ALICE1,<@U0BOB123|bob>",
        "lead": "15",
        "deadline": "120",
    } | changes


def refused(deps: Deps, **changes: str) -> dict[str, str]:
    with pytest.raises(FormInvalid) as refusal:
        run_form(scope(deps), STANDUP_CREATE_FORM, values(**changes), "")
    return refusal.value.field_errors


def stored(deps: Deps) -> list[tuple[str, list[str]]]:
    with deps.session_factory() as session:
        rows = session.execute(select(Standup.channel_ref, Standup.participants)).all()
    return [(channel, list(people)) for channel, people in rows]


@pytest.mark.parametrize("person", ["@alice", "Alice", "alice bob"])
def test_a_person_who_is_nobody_is_refused_with_every_other_problem(
    deps: Deps, person: str
) -> None:
    errors = refused(deps, participants=f"U0ALICE1,{person}", channel="general", time="25:00")

    assert errors["participants"] == f"“{person}” is nobody in this workspace; pick people."
    assert errors["channel"] == "“general” is not a channel. Type # and pick one."
    assert "time" in errors
    assert stored(deps) == []


def test_people_and_the_channel_are_stored_as_ids(deps: Deps) -> None:
    run_form(scope(deps), STANDUP_CREATE_FORM, values(channel="<#C0STANDUP|sync>"), "")

    assert stored(deps) == [("C0STANDUP", ["U0ALICE1", "U0BOB123"])]


def test_the_channel_defaults_to_the_shared_channel(deps: Deps) -> None:
    assert not run_command(scope(deps), "bridge", "channel C0SHARED1").is_error
    form = run_command(scope(deps), "standup", "").form
    assert form is not None
    assert next(f.initial for f in form.fields if f.name == "channel") == "C0SHARED1"

    run_form(scope(deps), STANDUP_CREATE_FORM, values(channel=""), "")

    assert stored(deps) == [("C0SHARED1", ["U0ALICE1", "U0BOB123"])]


def test_with_no_shared_channel_an_empty_channel_is_asked_for(deps: Deps) -> None:
    assert refused(deps, channel="")["channel"] == "Choose the channel where it happens."
