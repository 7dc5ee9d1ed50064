"""Workspaces: created once with default settings, and the shared channel."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import Side, Workspace, WorkspaceSettings
from bot.services import workspaces


def _count(deps: Deps, model: type[Workspace] | type[WorkspaceSettings]) -> int:
    with deps.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_first_visit_creates_the_workspace_with_default_settings(deps: Deps) -> None:
    with deps.session_factory() as session, pytest.raises(LookupError):
        workspaces.get_workspace(session=session, workspace_id="T1")

    with deps.session_factory.begin() as session:
        created = workspaces.ensure_workspace(
            session=session, workspace_id="T1", platform="slack", timezone="Europe/Paris"
        )
    assert created is True

    with deps.session_factory() as session:
        view = workspaces.get_workspace(session=session, workspace_id="T1")
        workspace = session.get(Workspace, "T1")
    assert workspace is not None and workspace.platform == "slack"
    assert view.timezone == "Europe/Paris"
    assert view.shared_channel_ref is None
    assert view.labels == {Side.MARKETING: "Marketing", Side.IT: "IT", Side.OTHER: "Other"}
    assert view.anonymity_threshold == 3
    assert view.label(Side.IT) == "IT"
    assert view.label(None) == "no side"


def test_ensure_workspace_is_idempotent(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        assert workspaces.ensure_workspace(
            session=session, workspace_id="T1", platform="slack", timezone="Europe/Paris"
        )
    with deps.session_factory.begin() as session:
        workspaces.set_shared_channel(session=session, workspace_id="T1", channel_ref="C1")
    # A later visit (with another default time zone) changes nothing.
    with deps.session_factory.begin() as session:
        again = workspaces.ensure_workspace(
            session=session, workspace_id="T1", platform="slack", timezone="Asia/Tokyo"
        )
    assert again is False

    assert _count(deps, Workspace) == 1
    assert _count(deps, WorkspaceSettings) == 1
    with deps.session_factory() as session:
        view = workspaces.get_workspace(session=session, workspace_id="T1")
    assert view.timezone == "Europe/Paris"
    assert view.shared_channel_ref == "C1"


def test_set_shared_channel_is_stored_per_workspace(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        for workspace_id in ("TA", "TB"):
            workspaces.ensure_workspace(
                session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
            )
        view = workspaces.set_shared_channel(session=session, workspace_id="TA", channel_ref="C1")
    assert view.shared_channel_ref == "C1"

    with deps.session_factory.begin() as session:
        workspaces.set_shared_channel(session=session, workspace_id="TA", channel_ref="C2")

    with deps.session_factory() as session:
        a = workspaces.get_workspace(session=session, workspace_id="TA")
        b = workspaces.get_workspace(session=session, workspace_id="TB")
    assert a.shared_channel_ref == "C2"
    assert b.shared_channel_ref is None
