"""People and their side: one row per person per workspace, never shared across workspaces."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import Person, Side
from bot.services import people, workspaces


def _workspace(deps: Deps, workspace_id: str) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
        )


def _people_rows(deps: Deps, workspace_id: str) -> int:
    with deps.session_factory() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Person).where(Person.workspace_id == workspace_id)
            )
            or 0
        )


def test_setting_a_side_creates_the_person(deps: Deps) -> None:
    _workspace(deps, "T1")

    with deps.session_factory.begin() as session:
        view = people.set_side(
            session=session, workspace_id="T1", user_ref="U1", side=Side.IT, display_name="Ada"
        )

    assert view.side is Side.IT
    assert view.display_name == "Ada"
    with deps.session_factory() as session:
        stored = people.get_person(session=session, workspace_id="T1", user_ref="U1")
    assert stored is not None
    assert stored.side is Side.IT
    assert stored.display_name == "Ada"


def test_changing_a_side_updates_the_same_person(deps: Deps) -> None:
    _workspace(deps, "T1")
    with deps.session_factory.begin() as session:
        people.set_side(
            session=session, workspace_id="T1", user_ref="U1", side=Side.IT, display_name="Ada"
        )
    with deps.session_factory.begin() as session:
        people.set_side(session=session, workspace_id="T1", user_ref="U1", side=Side.MARKETING)

    with deps.session_factory() as session:
        stored = people.get_person(session=session, workspace_id="T1", user_ref="U1")
    assert stored is not None
    assert stored.side is Side.MARKETING
    # No new name given: the one already known is kept.
    assert stored.display_name == "Ada"
    assert _people_rows(deps, "T1") == 1


def test_the_same_user_ref_in_two_workspaces_is_two_people(deps: Deps) -> None:
    _workspace(deps, "TA")
    _workspace(deps, "TB")
    with deps.session_factory.begin() as session:
        people.set_side(session=session, workspace_id="TA", user_ref="U1", side=Side.IT)
        people.set_side(session=session, workspace_id="TB", user_ref="U1", side=Side.MARKETING)

    with deps.session_factory() as session:
        in_a = people.get_person(session=session, workspace_id="TA", user_ref="U1")
        in_b = people.get_person(session=session, workspace_id="TB", user_ref="U1")
    assert in_a is not None and in_a.side is Side.IT
    assert in_b is not None and in_b.side is Side.MARKETING
    assert _people_rows(deps, "TA") == 1
    assert _people_rows(deps, "TB") == 1


def test_another_workspace_never_sees_a_person(deps: Deps) -> None:
    _workspace(deps, "TA")
    _workspace(deps, "TB")
    with deps.session_factory.begin() as session:
        people.set_side(session=session, workspace_id="TA", user_ref="U1", side=Side.IT)

    with deps.session_factory() as session:
        assert people.get_person(session=session, workspace_id="TB", user_ref="U1") is None
        counts_b = people.count_by_side(session=session, workspace_id="TB")
    assert counts_b == {Side.MARKETING: 0, Side.IT: 0, Side.OTHER: 0}


def test_count_by_side(deps: Deps) -> None:
    _workspace(deps, "T1")
    _workspace(deps, "T2")
    with deps.session_factory.begin() as session:
        for user_ref, side in [
            ("U1", Side.MARKETING),
            ("U2", Side.MARKETING),
            ("U3", Side.IT),
            ("U4", Side.OTHER),
            ("U5", Side.IT),
        ]:
            people.set_side(session=session, workspace_id="T1", user_ref=user_ref, side=side)
        # U5 changes side: counted once, on the new side.
        people.set_side(session=session, workspace_id="T1", user_ref="U5", side=Side.MARKETING)
        # Someone in another workspace does not count here.
        people.set_side(session=session, workspace_id="T2", user_ref="U9", side=Side.IT)

    with deps.session_factory() as session:
        counts = people.count_by_side(session=session, workspace_id="T1")
    assert counts == {Side.MARKETING: 3, Side.IT: 1, Side.OTHER: 1}
