"""Pulse trends for the dashboard: each question followed by its id across closed pulses,
with what the chat results show and nothing they hide."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, text

from bot.db import make_engine, make_session_factory
from bot.deps import Deps
from bot.migrate import upgrade
from bot.models import PulseAnswer, PulsePoll
from bot.services import pulse, pulse_trends
from tests.services.test_pulse import OTHER_WS, SLOT, WS, close, open_poll, seed, users, vote
from tests.services.test_pulse_questions import MIRRORED, choose

MARKETING, IT = users("MK", 4), users("IT", 4)
WEEK = timedelta(days=7)


def answer(deps: Deps, poll_id: int, who: list[str], value: int, question: int, week: int) -> None:
    for user in who:
        vote(
            deps,
            poll_id,
            user,
            value,
            question=question,
            now=SLOT + week * WEEK + timedelta(hours=1),
        )


def test_each_question_is_followed_by_its_id_with_hidden_figures_left_out(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=IT, other=["U0OT"])
    seed(deps, OTHER_WS, marketing=MARKETING, it=IT)
    choose(deps, "worked-together", MIRRORED)
    first = open_poll(deps)
    answer(deps, first.id, MARKETING, 4, 0, 0)  # worked-together: Marketing 100%
    answer(deps, first.id, IT[:3], 2, 0, 0)  # IT 0%
    answer(deps, first.id, MARKETING[:3], 5, 1, 0)  # the pair: Marketing on IT 100%
    answer(deps, first.id, IT, 4, 1, 0)  # IT on Marketing 100%
    close(deps, first.id)
    choose(deps, MIRRORED, "same-goals")
    second = open_poll(deps, slot=SLOT + WEEK)
    answer(deps, second.id, MARKETING, 2, 0, 1)
    answer(deps, second.id, IT[:2], 5, 0, 1)  # two IT answers: hidden
    answer(deps, second.id, MARKETING + IT, 4, 1, 1)
    close(deps, second.id)
    theirs = open_poll(deps, OTHER_WS)  # another workspace's pulse never shows here
    answer(deps, theirs.id, [], 4, 0, 0)
    close(deps, theirs.id, OTHER_WS)
    open_poll(deps, slot=SLOT + 2 * WEEK)  # still open: not a result yet

    with deps.session_factory() as session:
        trends = pulse_trends.question_trends(session=session, workspace_id=WS)
    assert [t.question_id for t in trends] == ["worked-together", MIRRORED, "same-goals"]
    worked, pair, goals = trends

    (point,) = worked.points
    assert (point.poll_id, point.number, point.gap) == (first.id, 1, 100.0)
    assert point.agree_pct == {"marketing": 100.0, "it": 0.0, "other": None, "overall": 57.1}
    assert point.response_rate == {"marketing": 100.0, "it": 100.0, "other": 0.0}
    assert point.asked["other"] == worked.question

    assert pair.mirrored and pair.pair == {
        "marketing": "IT understands what Marketing needs.",
        "it": "Marketing understands what IT needs.",
    }
    assert [(p.poll_id, p.number) for p in pair.points] == [(first.id, 2), (second.id, 1)]
    before, after = pair.points
    assert before.agree_pct["overall"] is None  # two statements: no total
    assert before.gap == 0.0 and before.asked == pair.pair
    assert after.agree_pct["it"] is None and after.gap is None  # IT hidden in the second
    assert after.mean["it"] is None and after.agree_pct["marketing"] == 0.0

    (goal,) = goals.points
    assert goal.gap == 0.0 and goal.agree_pct["overall"] == 100.0

    with deps.session_factory() as session:
        recent = pulse_trends.question_trends(
            session=session, workspace_id=WS, since=SLOT + timedelta(days=1)
        )
        rates = pulse_trends.response_rates(session=session, workspace_id=WS)
    assert [t.question_id for t in recent] == [MIRRORED, "same-goals"]
    assert [(r.poll_id, r.invited["it"], r.response_rate["it"]) for r in rates] == [
        (first.id, 4, 100.0),
        (second.id, 4, 100.0),
    ]


def test_a_closed_pulse_keeps_the_counts_its_answers_give(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=IT)
    poll = open_poll(deps)
    answer(deps, poll.id, MARKETING, 5, 0, 0)
    answer(deps, poll.id, IT[:3], 2, 1, 0)
    with deps.session_factory() as session:
        live = pulse.results(session=session, workspace_id=WS, poll_id=poll.id)
    close(deps, poll.id)
    with deps.session_factory() as session:
        row = session.get(PulsePoll, poll.id)
        assert row is not None and row.tally is not None
        assert row.tally["respondents"] == {"marketing": 4, "it": 3}
        kept = pulse.results(session=session, workspace_id=WS, poll_id=poll.id)
        # Answers gone from the table (they never go once closed) would show if read live.
        session.execute(delete(PulseAnswer).where(PulseAnswer.poll_id == poll.id))
        again = pulse.results(session=session, workspace_id=WS, poll_id=poll.id)
    assert kept.questions == live.questions == again.questions
    assert kept.response_rate == live.response_rate


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrading_keeps_the_counts_of_pulses_closed_before(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    at = "2026-03-02 10:00:00"
    try:
        upgrade(engine, "0020")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO workspaces (id, platform, created_at) VALUES (:ws, 'slack', :at)"
                ),
                {"ws": WS, "at": at},
            )
            for poll_id, status in ((1, "closed"), (2, "open")):
                connection.execute(
                    text(
                        "INSERT INTO pulse_polls (id, workspace_id, kind, slot, questions, "
                        "options, status, opened_at, invited) VALUES (:id, :ws, 'weekly', :at, "
                        "'[\"q\"]', '[]', :status, :at, '{}')"
                    ),
                    {
                        "id": poll_id,
                        "ws": WS,
                        "at": f"2026-03-0{poll_id} 10:00:00",
                        "status": status,
                    },
                )
                for voter, side, value in (("h1", "it", 4), ("h2", "it", 4), ("h3", None, 2)):
                    connection.execute(
                        text(
                            "INSERT INTO pulse_answers (workspace_id, poll_id, voter_hash, side, "
                            "question, value, updated_at) VALUES (:ws, :poll, :voter, :side, 0, "
                            ":value, :at)"
                        ),
                        {
                            "ws": WS,
                            "poll": poll_id,
                            "voter": voter,
                            "side": side,
                            "value": value,
                            "at": at,
                        },
                    )
                    connection.execute(
                        text(
                            "INSERT INTO pulse_respondents (poll_id, voter_hash, workspace_id, "
                            "side) VALUES (:poll, :voter, :ws, :side)"
                        ),
                        {"ws": WS, "poll": poll_id, "voter": voter, "side": side},
                    )
        upgrade(engine)
        with make_session_factory(engine)() as session:
            closed, still_open = session.get(PulsePoll, 1), session.get(PulsePoll, 2)
            assert closed is not None and still_open is not None
            assert closed.tally is not None
            assert sorted(closed.tally["answers"], key=str) == [[0, "it", 4, 2], [0, None, 2, 1]]
            assert closed.tally["respondents"] == {"it": 2, "none": 1}
            assert still_open.tally is None  # counted when it closes
    finally:
        engine.dispose()
