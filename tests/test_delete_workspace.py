"""`bridgebot delete-workspace`: one workspace's data and Slack tokens go, the others' stay."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from bot.deps import Deps
from bot.models import GlossaryTerm, InboxCommand, Occurrence, Person, Side, Workspace
from bot.services import command_inbox, glossary, occurrences, people, workspaces
from bot.settings import get_settings
from handlers.cli import cli

GONE, KEPT = "T0GONE", "T0KEPT"
CLIENT_ID = "1111.2222"

Run = Callable[..., Result]


@pytest.fixture
def run(database_url: str, deps: Deps, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """`bridgebot delete-workspace ...` in multi-workspace mode, two workspaces with data."""
    with deps.session_factory.begin() as session:
        for workspace_id in (GONE, KEPT):
            workspaces.ensure_workspace(
                session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
            )
            people.set_side(
                session=session, workspace_id=workspace_id, user_ref="U0ALICE", side=Side.IT
            )
            glossary.add_term(
                session=session,
                workspace_id=workspace_id,
                draft=glossary.TermDraft(name="Warm handover", definition="Passing work on."),
                author_ref="U0ALICE",
                now=deps.clock(),
            )
            occurrences.schedule(
                session=session,
                workspace_id=workspace_id,
                kind="post",
                subject_ref="weekly",
                due_at=deps.clock(),
                payload={"conversation_ref": "C0SHARED", "text": "hello"},
            )
            command_inbox.store(  # a command acknowledged and not run yet
                session=session,
                replay_key=f"signed:{workspace_id}",
                workspace_id=workspace_id,
                user_ref="U0ALICE",
                user_name=None,
                command="win",
                text="Shipped it",
                channel_ref=None,
                response_url=None,
                now=deps.clock(),
            )
    store = SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=deps.engine)
    for workspace_id in (GONE, KEPT):
        store.save(
            Installation(
                app_id="A0BRIDGE",
                team_id=workspace_id,
                user_id="U0INSTALLER",
                user_token="xoxp-user",
                bot_token=f"xoxb-{workspace_id}",
                bot_id="B0BOT",
                bot_user_id="U0BOT",
            )
        )
    for name, value in {
        "DATABASE_URL": database_url,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": "client-secret-0123456789",
        "SLACK_SIGNING_SECRET": "signing-secret-0123456789",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()

    def invoke(*args: str, answer: str = "") -> Result:
        return CliRunner().invoke(cli, ["delete-workspace", *args], input=answer)

    yield invoke
    get_settings.cache_clear()


def rows(deps: Deps, workspace_id: str) -> dict[str, int]:
    with deps.session_factory() as session:
        counts = {
            model.__tablename__: session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
            )
            or 0
            for model in (Person, GlossaryTerm, Occurrence, InboxCommand)
        }
        counts["workspaces"] = (
            session.scalar(
                select(func.count()).select_from(Workspace).where(Workspace.id == workspace_id)
            )
            or 0
        )
    store = SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=deps.engine)
    counts["bot tokens"] = int(store.find_bot(enterprise_id=None, team_id=workspace_id) is not None)
    return counts


def test_deletes_one_workspace_and_its_tokens_and_nothing_else(run: Run, deps: Deps) -> None:
    kept_before = rows(deps, KEPT)
    assert all(kept_before.values()), kept_before

    result = run("--workspace", GONE, "--yes")

    assert result.exit_code == 0, result.output
    assert f"deleted workspace {GONE}" in result.output
    assert set(rows(deps, GONE).values()) == {0}
    assert rows(deps, KEPT) == kept_before


def test_asks_first_and_keeps_everything_on_no(run: Run, deps: Deps) -> None:
    before = rows(deps, GONE)

    result = run("--workspace", GONE, answer="n\n")

    assert result.exit_code != 0
    assert "nothing deleted" in result.output
    assert rows(deps, GONE) == before


def test_an_unknown_workspace_is_named_in_a_clear_message(run: Run, deps: Deps) -> None:
    result = run("--workspace", "T0NOPE", "--yes")

    assert result.exit_code != 0
    assert "no workspace 'T0NOPE'" in result.output
    assert all(rows(deps, KEPT).values())
