"""A person moves themselves to another side at most once in 30 days; admins and the
user-group sync are not limited; every move is recorded, and admins see how many."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.deps import Deps
from bot.models import Side, SideChange
from bot.services import people, workspaces
from bot.services.people import SideChangeTooSoon, SideSource

WS = "T0SIDES"
START = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # a Thursday


def ensure(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=WS, platform="slack", timezone="UTC"
        )


def move_self(
    deps: Deps, user: str, side: Side, now: datetime, *, is_admin: bool = False
) -> people.PersonView:
    with deps.session_factory.begin() as session:
        return people.change_own_side(
            session=session, workspace_id=WS, user_ref=user, side=side, now=now, is_admin=is_admin
        )


def side_of(deps: Deps, user: str) -> Side | None:
    with deps.session_factory() as session:
        person = people.get_person(session=session, workspace_id=WS, user_ref=user)
    return person.side if person else None


def recorded(deps: Deps) -> list[tuple[str, str]]:
    with deps.session_factory() as session:
        rows = session.execute(
            select(SideChange.user_ref, SideChange.source).order_by(SideChange.id)
        ).all()
    return [(user, source) for user, source in rows]


def test_a_second_change_within_30_days_is_refused_with_the_date_and_allowed_after(
    deps: Deps,
) -> None:
    ensure(deps)
    move_self(deps, "U0ALICE", Side.MARKETING, START - timedelta(days=90))  # first choice
    move_self(deps, "U0ALICE", Side.IT, START)

    with pytest.raises(SideChangeTooSoon) as refused:
        move_self(deps, "U0ALICE", Side.MARKETING, START + timedelta(days=29, hours=23))
    assert str(refused.value) == (
        "You changed your side on 05 March; you can change it again from "
        "Saturday 04 April 2026 at 15:00 UTC."
    )
    assert side_of(deps, "U0ALICE") == Side.IT

    move_self(deps, "U0ALICE", Side.MARKETING, START + timedelta(days=30))
    assert side_of(deps, "U0ALICE") == Side.MARKETING
    assert recorded(deps) == [("U0ALICE", "self"), ("U0ALICE", "self")]


def test_choosing_a_side_the_first_time_or_the_same_side_again_is_no_change(
    deps: Deps,
) -> None:
    ensure(deps)
    move_self(deps, "U0BOB", Side.IT, START)
    move_self(deps, "U0BOB", Side.IT, START + timedelta(hours=1))
    move_self(deps, "U0BOB", Side.OTHER, START + timedelta(hours=2))  # the one change
    move_self(deps, "U0BOB", Side.OTHER, START + timedelta(hours=3))

    assert recorded(deps) == [("U0BOB", "self")]


def test_admins_and_the_user_group_sync_are_not_limited(deps: Deps) -> None:
    ensure(deps)
    move_self(deps, "U0ADA", Side.IT, START)
    move_self(deps, "U0ADA", Side.MARKETING, START + timedelta(minutes=1), is_admin=True)
    move_self(deps, "U0ADA", Side.IT, START + timedelta(minutes=2), is_admin=True)
    move_self(deps, "U0CAROL", Side.MARKETING, START)
    move_self(deps, "U0CAROL", Side.IT, START + timedelta(minutes=1))
    with deps.session_factory.begin() as session:
        for minute, side in ((2, Side.MARKETING), (3, Side.IT)):
            people.set_side(
                session=session, workspace_id=WS, user_ref="U0CAROL", side=side,
                source=SideSource.SYNC, now=START + timedelta(minutes=minute),
            )  # fmt: skip

    assert side_of(deps, "U0ADA") == Side.IT and side_of(deps, "U0CAROL") == Side.IT
    assert recorded(deps) == [
        ("U0ADA", "admin"), ("U0ADA", "admin"),
        ("U0CAROL", "self"), ("U0CAROL", "sync"), ("U0CAROL", "sync"),
    ]  # fmt: skip
    # The sync does not use up the person's own change, nor does it lift the limit.
    with pytest.raises(SideChangeTooSoon):
        move_self(deps, "U0CAROL", Side.MARKETING, START + timedelta(days=1))


def test_side_changes_are_counted_over_a_period_and_forgotten_with_the_person(
    deps: Deps,
) -> None:
    ensure(deps)
    for n, user in enumerate(("U0A", "U0B", "U0C")):
        move_self(deps, user, Side.MARKETING, START - timedelta(days=60))
        move_self(deps, user, Side.IT, START + timedelta(hours=n))
    with deps.session_factory() as session:

        def between(start: datetime, end: datetime | None = None) -> int:
            return people.side_changes_between(
                session=session, workspace_id=WS, start=start, end=end
            )

        assert between(START) == 3
        assert between(START + timedelta(minutes=30)) == 2
        assert between(START, START + timedelta(hours=1)) == 1
        assert people.side_changes_between(session=session, workspace_id="T0ELSE", start=START) == 0
        exported = deps.router.privacy.export(session=session, workspace_id=WS, user_ref="U0A")
    assert exported["side_changes"] == [{"changed_at": START.isoformat(), "by": "self"}]

    with deps.session_factory.begin() as session:
        deps.router.privacy.forget(session=session, workspace_id=WS, user_ref="U0A", now=START)
    assert [user for user, _ in recorded(deps)] == ["U0B", "U0C"]
