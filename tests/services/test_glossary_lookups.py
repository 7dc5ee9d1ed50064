"""Typed glossary lookups are counted by the looker's side, never by person, for the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.deps import Deps
from bot.models import GlossaryLookup, Person
from bot.router import Caller, RequestScope, run_command
from bot.services import glossary_lookups

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def jargon(deps: Deps, user_ref: str, typed: str) -> str:
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=Caller(workspace_id="T1", user_ref=user_ref, platform="slack"),
        now=NOW,
        default_timezone="UTC",
    )
    return run_command(scope, "jargon", typed).fallback


def test_lookups_are_counted_by_side_with_what_was_found(deps: Deps) -> None:
    jargon(deps, "ann", "help")  # creates the workspace and its starter glossary
    with deps.session_factory.begin() as session:
        session.add(Person(workspace_id="T1", user_ref="ann", side="marketing"))
        session.add(Person(workspace_id="T1", user_ref="ian", side="it"))

    assert "Webhook" in jargon(deps, "ann", "webhook")  # an IT term, by Marketing
    jargon(deps, "ann", "CAC")  # Marketing's own term
    jargon(deps, "ian", "atribution")  # a typo, found by fuzzy match
    assert "No term" in jargon(deps, "ian", "zorblax roadmap")
    jargon(deps, "ian", "search cloud")  # a search is not a lookup

    with deps.session_factory() as session:
        stored = session.execute(
            select(
                GlossaryLookup.side,
                GlossaryLookup.query,
                GlossaryLookup.term_name,
                GlossaryLookup.term_origin,
                GlossaryLookup.found,
                GlossaryLookup.looked_up_on,
            ).order_by(GlossaryLookup.id)
        ).all()
        crossings = glossary_lookups.cross_side_by_month(
            session=session, workspace_id="T1", since=date(2026, 11, 1)
        )
        missing = glossary_lookups.not_found(
            session=session, workspace_id="T1", since=date(2026, 11, 1)
        )
    assert [tuple(row) for row in stored] == [
        ("marketing", "webhook", "Webhook", "it", True, date(2026, 11, 30)),
        ("marketing", "CAC", "Customer acquisition cost", "marketing", True, date(2026, 11, 30)),
        ("it", "atribution", "Attribution", "marketing", True, date(2026, 11, 30)),
        ("it", "zorblax roadmap", None, None, False, date(2026, 11, 30)),
    ]
    assert [(c.side, c.into_other_side, c.all_lookups) for c in crossings] == [
        ("it", 1, 2),
        ("marketing", 1, 2),
    ]
    assert [(m.term, m.lookups) for m in missing] == [("zorblax roadmap", 1)]
