"""The collaboration-health score: each part from its own figures, the score their average,
a month with nothing to measure left without a score, and nothing of another workspace."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.models import (
    BoardPost,
    ChallengeHelper,
    Occurrence,
    Person,
    Standup,
    StandupAnswer,
)
from bot.services import dashboard, glossary_lookups, workspaces
from bot.services.standups import QUESTIONS_DM
from tests.handlers.test_dashboard_http import IT, MARKETING, weekly_pulse

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def seed(deps: Deps, workspace_id: str) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
        )
        for user_ref, side in (MARKETING | IT).items():
            session.add(Person(workspace_id=workspace_id, user_ref=user_ref, side=side))


def stand_up(session: Session, workspace_id: str) -> None:
    """November: four marketers and two IT people asked; three and one answered."""
    standup = Standup(
        workspace_id=workspace_id,
        number=1,
        name="Joint",
        channel_ref="C1",
        weekdays="mon",
        local_time=time(10),
        timezone="UTC",
        mode="async",
        questions=["A win"],
        participants=[],
        calendar_token=f"token-{workspace_id}",
    )
    session.add(standup)
    session.flush()
    asked = ["m0", "m1", "m2", "m3", "i0", "i1"]
    session.execute(
        insert(Occurrence),
        [
            {
                "workspace_id": workspace_id,
                "kind": QUESTIONS_DM,
                "subject_ref": f"standup:{standup.id}",
                "due_at": NOV,
                "recipient_ref": user_ref,
                "payload": {"standup_id": standup.id},
                "status": "sent",
            }
            for user_ref in asked
        ],
    )
    session.execute(
        insert(StandupAnswer),
        [
            {
                "workspace_id": workspace_id,
                "standup_id": standup.id,
                "local_date": NOV.date(),
                "user_ref": user_ref,
                "answers": ["ok"],
            }
            for user_ref in ("m0", "m1", "m2", "i0")
        ],
    )


def board(session: Session, workspace_id: str) -> None:
    """Four challenges in November: two helped from the other side, one by its own side
    only, one by nobody; three resolved, in 1, 3 and 9 days (median 3). And a win."""
    posts = [
        ("marketing", "it", 1),
        ("it", "marketing", 3),
        ("marketing", "marketing", 9),
        ("it", None, None),
    ]
    for index, (author, helper, days) in enumerate(posts):
        created = NOV + timedelta(days=index)
        post = BoardPost(
            workspace_id=workspace_id,
            kind="challenge",
            author_ref=f"a{index}",
            author_side=author,
            text="help",
            channel_ref="C1",
            created_at=created,
            status="resolved" if days else "open",
            resolved_at=created + timedelta(days=days) if days else None,
        )
        session.add(post)
        session.flush()
        if helper:
            session.add(
                ChallengeHelper(
                    workspace_id=workspace_id,
                    post_id=post.id,
                    helper_ref=f"h{index}",
                    helper_side=helper,
                )
            )
    session.add(
        BoardPost(
            workspace_id=workspace_id,
            kind="win",
            author_ref="w",
            author_side="it",
            text="win",
            channel_ref="C1",
            created_at=NOV,
        )
    )


def lookups(session: Session, workspace_id: str) -> None:
    """Marketing: 1 of 4 lookups into IT's terms; IT: 3 of 4 into Marketing's."""
    for user_ref, origins in (
        ("m0", ["it", "marketing", "general", None]),
        ("i0", ["marketing", "marketing", "marketing", "it"]),
    ):
        for origin in origins:
            glossary_lookups.record(
                session=session,
                workspace_id=workspace_id,
                user_ref=user_ref,
                query="x",
                term_name=None if origin is None else "X",
                term_origin=origin,
                now=NOV,
            )


@pytest.fixture
def figures(deps: Deps) -> dashboard.Overview:
    seed(deps, "T1")
    seed(deps, "T2")
    # Marketing 100% agree on each question, IT 0%, 100% and 100%: gaps 100, 0, 0.
    weekly_pulse(
        deps,
        "T1",
        NOV - timedelta(hours=1),
        {**{m: [5, 4, 4] for m in MARKETING}, **{i: [2, 4, 5] for i in IT}},
    )
    with deps.session_factory.begin() as session:
        stand_up(session, "T1")
        board(session, "T1")
        lookups(session, "T1")
    # Another workspace, all bad, that must change nothing here.
    weekly_pulse(
        deps, "T2", NOV, {**{m: [1, 1, 1] for m in MARKETING}, **{i: [5, 5, 5] for i in IT}}
    )
    with deps.session_factory.begin() as session:
        board(session, "T2")

    def half_the_pairs_met(
        session: Session, workspace_id: str, since: datetime, until: datetime
    ) -> float | None:
        assert workspace_id == "T1"
        return 50.0 if since <= NOV < until else None

    with deps.session_factory() as session:
        return dashboard.overview(
            session=session, workspace_id="T1", now=NOW, pair_figures=half_the_pairs_met
        )


def test_each_part_of_the_score_comes_from_its_figures(figures: dashboard.Overview) -> None:
    november = figures.months[-1]
    assert november.month == "2026-11"
    assert november.gap == 33.3
    assert november.response == {"marketing": 100.0, "it": 100.0}
    assert november.standups == {"marketing": 75.0, "it": 50.0}
    assert (november.challenges, november.helped_across) == (4, 2)
    assert november.median_resolve_days == 3.0
    assert november.lookups_into_other == {"marketing": 1, "it": 3}
    assert november.lookups == {"marketing": 4, "it": 4}
    assert november.parts == {
        "gap": 66.7,
        "response": 100.0,
        "standups": 62.5,
        "help": 50.0,
        "resolve": 93.1,  # 3 days: 100 × (1 - 2/29)
        "pairs": 50.0,
        "glossary": 50.0,  # 25% and 75%
    }
    assert november.score == round((66.7 + 100 + 62.5 + 50 + 93.1 + 50 + 50) / 7, 1)


def test_a_month_with_nothing_to_measure_has_no_score(figures: dashboard.Overview) -> None:
    assert [m.month for m in figures.months] == [
        f"{year}-{month:02d}" for year, month in [(2025, 12)] + [(2026, m) for m in range(1, 12)]
    ]
    october = figures.months[-2]
    assert october.score is None
    assert set(october.parts.values()) == {None}


def test_without_bridge_pairs_that_part_is_left_out(deps: Deps) -> None:
    seed(deps, "T1")
    with deps.session_factory.begin() as session:
        board(session, "T1")
    with deps.session_factory() as session:
        figures = dashboard.overview(session=session, workspace_id="T1", now=NOW, pair_figures=None)
    november = figures.months[-1]
    assert not figures.pairs_available
    assert november.parts["pairs"] is None
    assert november.score == round((50.0 + 93.1) / 2, 1)  # help and resolve only


def test_month_arithmetic() -> None:
    assert dashboard.months_back(datetime(2026, 1, 15, tzinfo=UTC), 3) == [
        "2025-11",
        "2025-12",
        "2026-01",
    ]
    assert dashboard.first_day("2026-02") == date(2026, 2, 1)
