"""Closing a pulse unties its answers from the keyed hash: even with the key (and every
user id), nobody can tell any more who gave which answer; the results stay the same."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bot.db import make_engine
from bot.deps import Deps
from bot.migrate import upgrade
from bot.models import PulseAnswer, PulseComment, PulseRespondent
from bot.services import pulse
from tests.services.test_pulse import (
    DURING,
    OPEN_FOR,
    OTHER_WS,
    SLOT,
    WS,
    close,
    comment,
    open_poll,
    results,
    seed,
    users,
    vote,
)

MARKETING, IT = users("MK", 4), users("IT", 3)


def stored_hashes(deps: Deps, poll_id: int) -> dict[str, list[str]]:
    """The voter hashes of each table that keeps them, for one poll."""
    with deps.session_factory() as session:
        return {
            model.__tablename__: list(
                session.execute(select(model.voter_hash).where(model.poll_id == poll_id)).scalars()
            )
            for model in (PulseAnswer, PulseRespondent, PulseComment)
        }


def keyed(deps: Deps, poll_id: int, voters: list[str], workspace_id: str = WS) -> set[str]:
    return {pulse.voter_hash(deps.secret_key, workspace_id, poll_id, user) for user in voters}


def answered_poll(deps: Deps) -> int:
    """Marketing 4 and IT 3 answer all three questions, some differently; four comment."""
    seed(deps, marketing=MARKETING, it=IT)
    poll = open_poll(deps)
    for position, user in enumerate(MARKETING + IT):
        for question in range(3):
            vote(deps, poll.id, user, 1 + (position + question) % 5, question=question)
    for user in (MARKETING[0], MARKETING[2], IT[0], IT[1]):
        comment(deps, poll.id, user, f"a thought from {user[-3:]}")
    return poll.id


def test_closing_unties_every_answer_and_comment_and_keeps_the_results(deps: Deps) -> None:
    poll_id = answered_poll(deps)
    # Someone in another workspace answers their own open pulse: it is not touched.
    seed(deps, OTHER_WS, marketing=MARKETING[:1])
    elsewhere = open_poll(deps, workspace_id=OTHER_WS)
    vote(deps, elsewhere.id, MARKETING[0], 3, workspace_id=OTHER_WS)
    voters = MARKETING + IT
    before = results(deps, poll_id)
    assert set(stored_hashes(deps, poll_id)["pulse_respondents"]) == keyed(deps, poll_id, voters)

    close(deps, poll_id)

    hashes = stored_hashes(deps, poll_id)
    everything = [value for table in hashes.values() for value in table]
    assert len(everything) == 7 * 3 + 7 + 4
    assert not set(everything) & keyed(deps, poll_id, voters)
    # Still one value per person: each respondent's three answers, and any comment, share it.
    respondents = hashes["pulse_respondents"]
    assert len(set(respondents)) == 7
    assert Counter(hashes["pulse_answers"]) == dict.fromkeys(respondents, 3)
    assert len(set(hashes["pulse_comments"])) == 4
    assert set(hashes["pulse_comments"]) <= set(respondents)

    after = results(deps, poll_id)
    assert not after.poll.is_open
    assert after.questions == before.questions
    assert after.respondents_by_side == before.respondents_by_side
    assert after.response_rate == before.response_rate
    assert sorted(after.comments) == sorted(before.comments)
    with deps.session_factory() as session:
        assert pulse.my_answers(
            session=session, workspace_id=WS, poll_id=poll_id, user_ref=IT[0],
            secret_key=deps.secret_key,
        ) == {}  # fmt: skip
    close(deps, poll_id)  # closing again changes nothing
    assert stored_hashes(deps, poll_id) == hashes
    assert stored_hashes(deps, elsewhere.id)["pulse_answers"] == [
        pulse.voter_hash(deps.secret_key, OTHER_WS, elsewhere.id, MARKETING[0])
    ]


def test_pulses_closed_late_after_downtime_are_untied_too(deps: Deps) -> None:
    poll_id = answered_poll(deps)
    with deps.session_factory.begin() as session:
        assert pulse.close_overdue(session=session, before=SLOT + OPEN_FOR + timedelta(hours=1))
    everything = [value for table in stored_hashes(deps, poll_id).values() for value in table]
    assert len(everything) == 7 * 3 + 7 + 4
    assert not set(everything) & keyed(deps, poll_id, MARKETING + IT)
    assert results(deps, poll_id).respondents_by_side["marketing"] == 4


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrading_unties_pulses_closed_before(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    try:
        upgrade(engine, "0009")
        at = "2026-03-02 10:00:00"
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
                        "options, status, opened_at, invited) VALUES (:id, :ws, 'weekly', "
                        ":slot, '[\"q\", \"r\"]', '[]', :status, :at, '{}')"
                    ),
                    {"id": poll_id, "ws": WS, "slot": f"2026-03-0{poll_id} 10:00:00", "at": at,
                     "status": status},
                )  # fmt: skip
                for voter, side in (("h1", "it"), ("h2", "marketing")):
                    connection.execute(
                        text(
                            "INSERT INTO pulse_respondents (poll_id, voter_hash, workspace_id, "
                            "side) VALUES (:poll, :voter, :ws, :side)"
                        ),
                        {"poll": poll_id, "voter": voter, "ws": WS, "side": side},
                    )
                    for question in (0, 1):
                        connection.execute(
                            text(
                                "INSERT INTO pulse_answers (workspace_id, poll_id, voter_hash, "
                                "side, question, value, updated_at) "
                                "VALUES (:ws, :poll, :voter, :side, :q, 4, :at)"
                            ),
                            {"ws": WS, "poll": poll_id, "voter": voter, "side": side,
                             "q": question, "at": at},
                        )  # fmt: skip
                connection.execute(
                    text(
                        "INSERT INTO pulse_comments (workspace_id, poll_id, voter_hash, side, "
                        "text, updated_at) VALUES (:ws, :poll, 'h1', 'it', 'hello', :at)"
                    ),
                    {"ws": WS, "poll": poll_id, "at": at},
                )
        upgrade(engine)

        def voters(poll_id: int) -> list[tuple[str, str, str]]:
            with engine.connect() as connection:
                return [
                    tuple(row)
                    for row in connection.execute(
                        text(
                            "SELECT 'answer', voter_hash, side FROM pulse_answers "
                            "WHERE poll_id = :p UNION ALL "
                            "SELECT 'respondent', voter_hash, side FROM pulse_respondents "
                            "WHERE poll_id = :p UNION ALL "
                            "SELECT 'comment', voter_hash, side FROM pulse_comments "
                            "WHERE poll_id = :p"
                        ),
                        {"p": poll_id},
                    )
                ]

        closed = voters(1)
        assert len(closed) == 4 + 2 + 1
        assert not {voter for _, voter, _ in closed} & {"h1", "h2"}
        by_side = {
            side: {voter for _, voter, s in closed if s == side} for side in ("it", "marketing")
        }
        assert all(len(found) == 1 for found in by_side.values())  # one value per person
        assert by_side["it"] != by_side["marketing"]
        assert {voter for kind, voter, _ in closed if kind == "comment"} == by_side["it"]
        assert {voter for _, voter, _ in voters(2)} == {"h1", "h2"}  # open: still keyed
    finally:
        engine.dispose()


def test_forget_me_still_finds_the_answers_of_an_open_pulse_only(deps: Deps) -> None:
    poll_id = answered_poll(deps)
    close(deps, poll_id)
    this_week = open_poll(deps, slot=SLOT + timedelta(days=7))
    vote(deps, this_week.id, MARKETING[0], 2, now=DURING + timedelta(days=7))
    before = results(deps, poll_id)
    with deps.session_factory.begin() as session:
        counts = deps.router.privacy.forget(
            session=session, workspace_id=WS, user_ref=MARKETING[0], now=DURING
        ).counts
    assert counts["pulse answers untied from you"] == 1  # this week's; last week's was untied
    after = results(deps, poll_id)
    assert after.questions == before.questions
    assert sorted(after.comments) == sorted(before.comments)
    assert results(deps, this_week.id).respondents_by_side["marketing"] == 0
