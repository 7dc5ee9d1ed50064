"""Caches kept across processes by the change feed (PostgreSQL LISTEN/NOTIFY).

Two `Deps` on one PostgreSQL database stand for two server processes: each has its own
engine, change feed, glossary index and kept cards, as two workers or two instances do.
A warm lookup must make no query, and every change made through one must show in the
other's next lookups: glossary edits, settings, a forgotten author, a deleted workspace;
and while a feed cannot hear (its connection killed), lookups read through, never stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from bot.db import make_engine, make_session_factory
from bot.deps import Deps, build_deps
from bot.models import GlossaryLookup, GlossaryTerm
from bot.replies import Reply
from bot.router import Caller, RequestScope, run_command
from bot.services import (
    glossary,
    glossary_lookups,
    glossary_tally,
    workspace_deletion,
    workspaces,
)
from bot.settings import Settings

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
TEAM = "T0FEED"
ALICE = Caller(workspace_id=TEAM, user_ref="U0ALICE", platform="slack", is_admin=True)
HEARING_DEADLINE = 5.0  # seconds for a notice to reach the other process on a busy machine


def process(url: str) -> Deps:
    """One server process's dependencies, its change feed listening and its counts batched."""
    deps = build_deps(Settings(_env_file=None, database_url=url))
    deps.changes.start(deps.engine)
    deps.tally.start(deps.session_factory)
    assert deps.changes.wait_live(10), "the change feed did not connect"
    return deps


@pytest.fixture
def two_processes(pg_database_url: str) -> Iterator[tuple[Deps, Deps]]:
    first = process(pg_database_url)
    second = process(pg_database_url)
    try:
        yield first, second
    finally:
        for deps in (first, second):
            deps.tally.stop()
            deps.changes.stop()
            deps.engine.dispose()


def jargon(deps: Deps, args: str) -> str:
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=ALICE,
        now=NOW,
        default_timezone="UTC",
    )
    reply: Reply = run_command(scope, "jargon", args)
    return reply.fallback


@contextmanager
def statements(deps: Deps) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(deps.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(deps.engine, "before_cursor_execute", count)


def lookup_statements(deps: Deps) -> list[str]:
    with statements(deps) as seen:
        jargon(deps, "CAC")
    return seen


def settles(deps: Deps) -> bool:
    """Whether lookups soon make no query: once the process heard the notices it is owed
    (its own commits' too, which it also applied at once), it answers from memory."""
    return eventually(lambda: lookup_statements(deps) == [])


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + HEARING_DEADLINE
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def term_id(deps: Deps, name: str) -> int:
    with deps.session_factory() as session:
        found = glossary.find_id_by_name(session=session, workspace_id=TEAM, name=name)
    assert found is not None
    return found


def edit_definition(deps: Deps, name: str, definition: str, editor: str = "U0ALICE") -> None:
    with deps.session_factory.begin() as session:
        card = glossary.get_card(session=session, workspace_id=TEAM, term_id=term_id(deps, name))
        glossary.edit_term(
            session=session,
            workspace_id=TEAM,
            term_id=card.id,
            draft=replace(card.draft(), definition=definition),
            editor_ref=editor,
            is_admin=True,
            now=NOW + timedelta(hours=1),
        )


def test_a_warm_lookup_makes_no_query_and_an_edit_elsewhere_shows_in_the_next_ones(
    two_processes: tuple[Deps, Deps],
) -> None:
    first, second = two_processes
    assert "Customer acquisition cost" in jargon(first, "CAC")  # seeds the workspace
    assert "Customer acquisition cost" in jargon(second, "CAC")
    assert settles(second)

    edit_definition(first, "CAC", "What a new customer costs us, all in.")
    # The editing process reads its own write at once; the other within the notice's trip.
    assert "What a new customer costs us, all in." in jargon(first, "CAC")
    assert eventually(lambda: "What a new customer costs us, all in." in jargon(second, "CAC"))
    assert settles(second), "once caught up, lookups are answered from memory again"


def test_settings_changed_elsewhere_show_on_the_next_cards(
    two_processes: tuple[Deps, Deps],
) -> None:
    first, second = two_processes
    jargon(first, "CAC")
    assert "For Marketing" in jargon(second, "CAC")
    with first.session_factory.begin() as session:
        workspaces.settings_row(session=session, workspace_id=TEAM).label_marketing = "Growth"
    assert "For Growth" in jargon(first, "CAC")
    assert eventually(lambda: "For Growth" in jargon(second, "CAC"))


def test_a_forgotten_author_vanishes_from_cards_kept_by_other_processes(
    two_processes: tuple[Deps, Deps],
) -> None:
    first, second = two_processes
    jargon(first, "CAC")
    edit_definition(first, "CAC", "Edited by someone who will ask to be forgotten.", "U0GONE")
    assert eventually(lambda: "U0GONE" in jargon(second, "CAC"))
    with first.session_factory.begin() as session:
        first.router.privacy.forget(session=session, workspace_id=TEAM, user_ref="U0GONE", now=NOW)
    assert eventually(lambda: "U0GONE" not in jargon(second, "CAC"))


def test_a_workspace_deleted_elsewhere_is_not_answered_from_memory(
    two_processes: tuple[Deps, Deps],
) -> None:
    first, second = two_processes
    jargon(first, "CAC")
    edit_definition(first, "CAC", "A definition that goes with its workspace.")
    assert eventually(lambda: "goes with its workspace" in jargon(second, "CAC"))
    with first.session_factory.begin() as session:
        assert workspace_deletion.delete_workspace(session=session, workspace_id=TEAM)
    # A deleted workspace starts again from the starter glossary, its old terms gone.
    second.router.known_workspaces.discard(TEAM)
    assert eventually(lambda: "goes with its workspace" not in jargon(second, "CAC"))


def test_while_the_feed_cannot_hear_lookups_read_through_and_then_trust_again(
    two_processes: tuple[Deps, Deps],
) -> None:
    first, second = two_processes
    jargon(first, "CAC")
    jargon(second, "CAC")
    with first.session_factory.begin() as session:
        # The listening connection of the second process dies (a restart of the server,
        # a proxy dropping it): everything the second holds is read again, until it is back.
        killed = session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%' "
                "AND pid <> pg_backend_pid()"
            )
        ).all()
    assert len(killed) == 2  # both processes' listeners
    assert eventually(lambda: not second.changes.live)
    edit_definition(first, "CAC", "Changed while nobody was listening.")
    with statements(second) as seen:
        assert "Changed while nobody was listening." in jargon(second, "CAC")
    assert seen, "a feed that cannot hear is not trusted"
    assert second.changes.wait_live(10), "the feed reconnects by itself"
    assert "Changed while nobody was listening." in jargon(second, "CAC")
    assert settles(second)


def lookups_stored(deps: Deps) -> int:
    with deps.session_factory() as session:
        return session.execute(
            select(func.coalesce(func.sum(GlossaryLookup.lookups), 0))
        ).scalar_one()


def views_stored(deps: Deps, name: str) -> int:
    with deps.session_factory() as session:
        return session.execute(
            select(GlossaryTerm.view_count).where(GlossaryTerm.id == term_id(deps, name))
        ).scalar_one()


def test_views_and_lookups_counted_in_memory_are_written_and_shown_at_once_here(
    two_processes: tuple[Deps, Deps],
) -> None:
    first, second = two_processes
    jargon(first, "CAC")
    # Views counted elsewhere show once written (within about a second) and read again.
    assert eventually(lambda: views_stored(first, "CAC") == 1)
    for _ in range(3):
        shown = jargon(second, "CAC")
    assert "4 views" in shown  # this process's own views show on its card at once
    jargon(second, "qzxwvjk")  # not found: counted for the dashboard's missing terms
    # Written in one batch within about a second; a stop writes what is pending.
    assert eventually(lambda: views_stored(second, "CAC") == 4)
    assert eventually(lambda: lookups_stored(second) == 5)
    jargon(second, "CAC")
    second.tally.stop()
    assert views_stored(second, "CAC") == 5
    assert lookups_stored(second) == 6


def test_counts_that_cannot_be_written_are_kept_for_the_next_try(
    two_processes: tuple[Deps, Deps],
) -> None:
    first, _ = two_processes
    jargon(first, "CAC")
    assert eventually(lambda: lookups_stored(first) == 1)
    first.tally.stop()
    # The database goes away (nothing listens on port 1): counts pile up, none is lost.
    down = make_session_factory(make_engine("postgresql://postgres@127.0.0.1:1/gone"))
    first.tally.start(down)
    jargon(first, "CAC")
    jargon(first, "no such term")
    first.tally.stop()  # its last write fails too; the counts stay
    first.tally.start(first.session_factory)  # the database is back
    assert eventually(lambda: lookups_stored(first) == 3)
    assert views_stored(first, "CAC") == 2


def test_with_listening_off_every_lookup_reads_the_revision_and_is_never_stale(
    pg_database_url: str,
) -> None:
    # Behind a pooler that cannot carry LISTEN, and with no direct URL given.
    deps = build_deps(Settings(_env_file=None, database_url=pg_database_url))
    deps.changes.start(deps.engine, "off")
    other = process(pg_database_url)
    try:
        jargon(deps, "CAC")
        with statements(deps) as seen:
            jargon(deps, "CAC")
        assert seen, "nothing is trusted without a listener"
        edit_definition(other, "CAC", "Seen at once by a process that reads through.")
        assert "Seen at once by a process that reads through." in jargon(deps, "CAC")
    finally:
        for each in (deps, other):
            each.tally.stop()
            each.changes.stop()
            each.engine.dispose()


def test_a_listen_url_of_its_own_is_used_for_the_notices(pg_database_url: str) -> None:
    # What an instance behind PgBouncer in transaction mode sets: PostgreSQL itself.
    deps = build_deps(Settings(_env_file=None, database_url=pg_database_url))
    deps.changes.start(deps.engine, pg_database_url)
    deps.tally.start(deps.session_factory)
    try:
        assert deps.changes.wait_live(10)
        jargon(deps, "CAC")
        assert settles(deps)
    finally:
        deps.tally.stop()
        deps.changes.stop()
        deps.engine.dispose()


def test_alike_lookups_are_written_as_one_row_with_their_number(
    two_processes: tuple[Deps, Deps],
) -> None:
    first, _ = two_processes
    jargon(first, "CAC")
    assert eventually(lambda: lookups_stored(first) == 1)
    first.tally.stop()
    first.tally.start(first.session_factory)
    for _ in range(5):
        jargon(first, "CAC")
    first.tally.stop()  # one batch
    with first.session_factory() as session:
        rows = (
            session.execute(select(GlossaryLookup.lookups).order_by(GlossaryLookup.id))
            .scalars()
            .all()
        )
        top = glossary_lookups.top_terms_by_side(
            session=session, workspace_id=TEAM, since=NOW.date()
        )
    assert rows == [1, 5]
    assert [(count.term, count.lookups) for count in top] == [("Customer acquisition cost", 6)]


def test_past_the_cap_new_lookups_are_dropped_and_said_once(
    two_processes: tuple[Deps, Deps],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, _ = two_processes
    jargon(first, "CAC")
    assert eventually(lambda: lookups_stored(first) == 1)
    first.tally.stop()
    # The database is away (nothing listens on port 1) and at most two kinds may wait.
    monkeypatch.setattr(glossary_tally, "MAX_PENDING_LOOKUPS", 2)
    down = make_session_factory(make_engine("postgresql://postgres@127.0.0.1:1/gone"))
    first.tally.start(down)
    for query in ("CAC", "CAC", "churn", "no such term", "nor this one"):
        jargon(first, query)
    first.tally.stop()
    first.tally.start(first.session_factory)
    assert eventually(lambda: lookups_stored(first) == 1 + 3)  # CAC twice, churn
    assert "dropped 2 lookup(s) past 2 waiting" in caplog.text


def test_the_dashboard_reads_this_processs_counts_not_yet_written(
    two_processes: tuple[Deps, Deps], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = two_processes
    jargon(first, "CAC")
    first.tally.stop()
    # A writer that would not write for an hour: only the dashboard's read writes them.
    monkeypatch.setattr(glossary_tally, "FLUSH_SECONDS", 3600.0)
    first.tally.start(first.session_factory)
    jargon(first, "CAC")
    jargon(first, "qzxwvjk")
    with first.session_factory() as session:
        top = glossary_lookups.top_terms_by_side(
            session=session, workspace_id=TEAM, since=NOW.date()
        )
        missing = glossary_lookups.not_found(session=session, workspace_id=TEAM, since=NOW.date())
    assert [(count.term, count.lookups) for count in top] == [("Customer acquisition cost", 2)]
    assert [(count.term, count.lookups) for count in missing] == [("qzxwvjk", 1)]
