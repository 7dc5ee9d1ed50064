"""Pulse polls: the numbers people read, anonymity, changeable votes, closing, isolation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.exc import IntegrityError

from bot.commands.pulse import PULSE_ASK_CLOSE, ask_message, results_blocks
from bot.db import make_engine
from bot.deps import Deps
from bot.migrate import downgrade, upgrade
from bot.models import (
    Person,
    PulseAnswer,
    PulseComment,
    PulsePoll,
    PulseRespondent,
    Side,
    WorkspaceSettings,
)
from bot.replies import Reply, block_plain_text
from bot.router import Caller, RequestScope, run_action, run_command
from bot.services import people, pulse, workspaces
from bot.services.pulse import PollClosed, PollNotFound, PollView, PulseRefused, SideStats

WS = "T0PULSE"
OTHER_WS = "T0OTHER"
SLOT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
DURING = SLOT + timedelta(hours=1)
OPEN_FOR = timedelta(hours=48)


def seed(deps: Deps, workspace_id: str = WS, **sides: list[str]) -> None:
    """The workspace and its people: seed(deps, marketing=[...], it=[...], other=[...])."""
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
        )
        for side, users in sides.items():
            for user in users:
                people.set_side(
                    session=session, workspace_id=workspace_id, user_ref=user, side=Side(side)
                )


def users(prefix: str, count: int) -> list[str]:
    return [f"U0{prefix}{n}" for n in range(count)]


def open_poll(deps: Deps, workspace_id: str = WS, slot: datetime = SLOT) -> PollView:
    with deps.session_factory.begin() as session:
        poll, _ = pulse.open_weekly(
            session=session, workspace_id=workspace_id, slot=slot, now=slot, open_for=OPEN_FOR
        )
    return poll


def vote(
    deps: Deps,
    poll_id: int,
    user: str,
    value: int,
    *,
    question: int = 0,
    workspace_id: str = WS,
    now: datetime = DURING,
) -> None:
    with deps.session_factory.begin() as session:
        pulse.vote(
            session=session,
            workspace_id=workspace_id,
            poll_id=poll_id,
            question=question,
            value=value,
            user_ref=user,
            secret_key=deps.secret_key,
            now=now,
        )


def comment(deps: Deps, poll_id: int, user: str, text: str, *, now: datetime = DURING) -> None:
    with deps.session_factory.begin() as session:
        pulse.save_comment(
            session=session,
            workspace_id=WS,
            poll_id=poll_id,
            user_ref=user,
            text=text,
            secret_key=deps.secret_key,
            now=now,
        )


def close(deps: Deps, poll_id: int, workspace_id: str = WS) -> None:
    with deps.session_factory.begin() as session:
        pulse.close(session=session, workspace_id=workspace_id, poll_id=poll_id, now=DURING)


def results(deps: Deps, poll_id: int, workspace_id: str = WS) -> pulse.PollResults:
    with deps.session_factory() as session:
        return pulse.results(session=session, workspace_id=workspace_id, poll_id=poll_id)


def rendered(deps: Deps, found: pulse.PollResults) -> str:
    with deps.session_factory() as session:
        workspace = workspaces.get_workspace(session=session, workspace_id=found.poll.workspace_id)
    return "\n".join(block_plain_text(block) for block in results_blocks(found, workspace))


def answer_rows(deps: Deps, poll_id: int) -> list[tuple[str, int, int]]:
    with deps.session_factory() as session:
        return [
            tuple(row)  # type: ignore[misc]
            for row in session.execute(
                select(PulseAnswer.voter_hash, PulseAnswer.question, PulseAnswer.value).where(
                    PulseAnswer.poll_id == poll_id
                )
            )
        ]


# -- arithmetic --------------------------------------------------------------------------


def test_mean_agree_and_gap_on_known_answers(deps: Deps) -> None:
    marketing, it = users("MK", 4), users("IT", 3)
    seed(deps, marketing=marketing, it=it, other=["U0OT0"])
    poll = open_poll(deps)
    for user, value in zip(marketing, (5, 4, 2, 4), strict=True):
        vote(deps, poll.id, user, value)
    for user, value in zip(it, (5, 5, 4), strict=True):
        vote(deps, poll.id, user, value)

    found = results(deps, poll.id)
    first = found.questions[0]
    assert first.question == pulse.DEFAULT_QUESTIONS[0]
    assert first.by_side["marketing"] == SideStats(4, 3.75, 75.0, True)
    assert first.by_side["it"] == SideStats(3, 4.67, 100.0, True)
    assert first.by_side["other"] == SideStats(0, None, None, False)
    # Everyone: 5,4,2,4,5,5,4 -> mean 29/7, 6 of 7 agree.
    assert first.overall == SideStats(7, 4.14, 85.7, True)
    assert first.gap == -25.0  # marketing minus IT, in points
    # Nobody answered the other two questions.
    assert [q.gap for q in found.questions[1:]] == [None, None]
    assert found.respondents_by_side == {"marketing": 4, "it": 3, "other": 0}
    assert found.response_rate == {"marketing": 100.0, "it": 100.0, "other": 0.0}

    shown = rendered(deps, found)
    assert "-25 points (Marketing minus IT)" in shown
    assert "75% agree · mean 3.8 · n=4" in shown
    assert "100% agree · mean 4.7 · n=3" in shown


def test_response_rate_is_measured_against_the_people_invited(deps: Deps) -> None:
    marketing, it = users("MK", 4), users("IT", 3)
    seed(deps, marketing=marketing, it=it, other=["U0OT0"])
    poll = open_poll(deps)
    assert poll.invited == {"marketing": 4, "it": 3, "other": 1}
    # Someone who picks a side after the pulse opened does not change who was invited.
    seed(deps, marketing=["U0LATE"])
    for user in marketing[:3]:
        for question in range(3):
            vote(deps, poll.id, user, 4, question=question)
    vote(deps, poll.id, it[0], 2)

    found = results(deps, poll.id)
    assert found.respondents_by_side == {"marketing": 3, "it": 1, "other": 0}
    assert found.response_rate == {"marketing": 75.0, "it": 33.3, "other": 0.0}
    assert "Marketing 3/4 (75%) · IT 1/3 (33%) · Other 0/1 (0%)" in rendered(deps, found)


# -- anonymity thresholds ----------------------------------------------------------------


def test_a_side_with_fewer_than_three_answers_is_hidden(deps: Deps) -> None:
    marketing, it = users("MK", 3), users("IT", 2)
    seed(deps, marketing=marketing, it=it)
    poll = open_poll(deps)
    for user in marketing:
        vote(deps, poll.id, user, 5)
    vote(deps, poll.id, it[0], 1)
    vote(deps, poll.id, it[1], 2)

    first = results(deps, poll.id).questions[0]
    assert first.by_side["marketing"] == SideStats(3, 5.0, 100.0, True)
    assert first.by_side["it"] == SideStats(2, None, None, False)
    assert first.gap is None
    # Everyone's figure less Marketing's would give IT's two answers away.
    assert first.overall == SideStats(5, None, None, False)
    shown = rendered(deps, results(deps, poll.id))
    assert "hidden: fewer than 3 answers" in shown
    assert "hidden: a side that answered has fewer than 3 answers" in shown
    assert "not shown (a side has too few answers)" in shown


def test_everyone_is_shown_only_once_every_side_that_answered_is_shown(deps: Deps) -> None:
    marketing, it, other = users("MK", 3), users("IT", 3), users("OT", 3)
    seed(deps, marketing=marketing, it=it, other=other)
    poll = open_poll(deps)
    for user, value in zip(marketing + it[:2] + other[:1], (5, 5, 5, 1, 2, 3), strict=True):
        vote(deps, poll.id, user, value)
    # IT's two and Other's one answer reach three together, but Other's one person knows
    # their own answer: Everyone less Marketing less it would be IT's two alone.
    assert results(deps, poll.id).questions[0].overall == SideStats(6, None, None, False)

    vote(deps, poll.id, it[2], 4)
    assert results(deps, poll.id).questions[0].overall.shown is False  # Other's one alone

    for user in other[1:]:
        vote(deps, poll.id, user, 3)
    first = results(deps, poll.id).questions[0]
    assert all(first.by_side[side].shown for side in ("marketing", "it", "other"))
    assert first.overall == SideStats(9, 3.44, 44.4, True)


def test_a_higher_threshold_is_respected_and_it_never_goes_below_three(deps: Deps) -> None:
    marketing, it = users("MK", 3), users("IT", 4)
    seed(deps, marketing=marketing, it=it)
    with deps.session_factory.begin() as session:
        session.execute(
            update(WorkspaceSettings)
            .where(WorkspaceSettings.workspace_id == WS)
            .values(anonymity_threshold=4)
        )
    poll = open_poll(deps)
    for user in marketing + it:
        vote(deps, poll.id, user, 4)

    found = results(deps, poll.id)
    assert found.threshold == 4
    first = found.questions[0]
    assert first.by_side["marketing"] == SideStats(3, None, None, False)  # 3 < 4
    assert first.by_side["it"] == SideStats(4, 4.0, 100.0, True)
    assert first.gap is None
    assert "hidden: fewer than 4 answers" in rendered(deps, found)

    with pytest.raises(IntegrityError), deps.session_factory.begin() as session:
        session.execute(
            update(WorkspaceSettings)
            .where(WorkspaceSettings.workspace_id == WS)
            .values(anonymity_threshold=2)
        )
    assert results(deps, poll.id).threshold == 4


def test_comments_show_without_names_only_once_three_people_commented(deps: Deps) -> None:
    marketing, it = users("MK", 3), users("IT", 3)
    seed(deps, marketing=marketing, it=it)
    poll = open_poll(deps)
    for user in marketing + it:  # both sides' numbers are shown, so their comments may be
        vote(deps, poll.id, user, 4)
    comment(deps, poll.id, marketing[0], "More shared planning, please")
    comment(deps, poll.id, it[0], "Release notes in plain words helped")
    assert results(deps, poll.id).comments == []
    assert "Comments" not in rendered(deps, results(deps, poll.id))

    comment(deps, poll.id, marketing[0], "")  # cleared: withdrawn
    comment(deps, poll.id, it[1], "Joint stand-up was useful")
    assert results(deps, poll.id).comments == []  # still only two

    comment(deps, poll.id, marketing[1], "Agency briefs came late")
    found = results(deps, poll.id)
    assert sorted(found.comments) == [
        "Agency briefs came late",
        "Joint stand-up was useful",
        "Release notes in plain words helped",
    ]
    shown = rendered(deps, found)
    assert "Comments (anonymous):" in shown
    assert "Joint stand-up was useful" in shown
    for user in marketing + it:
        assert user not in shown


# -- votes -----------------------------------------------------------------------------


def test_changing_an_answer_replaces_it(deps: Deps) -> None:
    seed(deps, marketing=["U0ALICE"])
    poll = open_poll(deps)
    vote(deps, poll.id, "U0ALICE", 2)
    vote(deps, poll.id, "U0ALICE", 5)
    vote(deps, poll.id, "U0ALICE", 3, question=1)

    rows = answer_rows(deps, poll.id)
    assert sorted((question, value) for _, question, value in rows) == [(0, 5), (1, 3)]
    assert len({voter for voter, _, _ in rows}) == 1
    with deps.session_factory() as session:
        mine = pulse.my_answers(
            session=session,
            workspace_id=WS,
            poll_id=poll.id,
            user_ref="U0ALICE",
            secret_key=deps.secret_key,
        )
        assert pulse.respondent_count(session=session, workspace_id=WS, poll_id=poll.id) == 1
    assert mine == {0: 5, 1: 3}


def test_answers_off_the_scale_are_refused(deps: Deps) -> None:
    seed(deps, it=["U0BOB"])
    poll = open_poll(deps)
    for value, question in ((0, 0), (6, 0), (3, 3)):
        with pytest.raises(PulseRefused):
            vote(deps, poll.id, "U0BOB", value, question=question)
    assert answer_rows(deps, poll.id) == []


def test_a_closed_poll_refuses_answers_and_comments(deps: Deps) -> None:
    seed(deps, marketing=["U0ALICE", "U0AMY"])
    poll = open_poll(deps)
    vote(deps, poll.id, "U0ALICE", 4)
    close(deps, poll.id)

    with pytest.raises(PollClosed, match="closed"):
        vote(deps, poll.id, "U0ALICE", 1)
    with pytest.raises(PollClosed):
        vote(deps, poll.id, "U0AMY", 5)
    with pytest.raises(PollClosed):
        comment(deps, poll.id, "U0AMY", "too late")
    assert [value for _, _, value in answer_rows(deps, poll.id)] == [4]


def test_a_poll_past_its_closing_time_refuses_answers_before_the_close_runs(deps: Deps) -> None:
    seed(deps, marketing=["U0ALICE"])
    poll = open_poll(deps)
    assert poll.closes_at == SLOT + OPEN_FOR
    vote(deps, poll.id, "U0ALICE", 3, now=SLOT + OPEN_FOR - timedelta(seconds=1))
    with pytest.raises(PollClosed):
        vote(deps, poll.id, "U0ALICE", 5, now=SLOT + OPEN_FOR)
    assert [value for _, _, value in answer_rows(deps, poll.id)] == [3]


# -- anonymity in storage ----------------------------------------------------------------


def test_no_stored_pulse_row_holds_a_person_id(deps: Deps) -> None:
    marketing, it = users("MK", 3), users("IT", 3)
    seed(deps, marketing=marketing, it=it)
    first = open_poll(deps)
    second = open_poll(deps, slot=SLOT + timedelta(days=7))
    for poll in (first, second):
        now = poll.opened_at + timedelta(hours=1)
        for user in marketing + it:
            vote(deps, poll.id, user, 4, now=now)
            vote(deps, poll.id, user, 2, question=2, now=now)
            comment(deps, poll.id, user, f"note from someone on {poll.id}", now=now)

    with deps.session_factory() as session:
        stored = [
            row
            for table in (PulseAnswer.__table__, PulseComment.__table__, PulseRespondent.__table__)
            for row in session.execute(select(table)).all()
        ]
        hashes = {
            poll_id: set(
                session.execute(
                    select(PulseAnswer.voter_hash).where(PulseAnswer.poll_id == poll_id)
                ).scalars()
            )
            for poll_id in (first.id, second.id)
        }
    assert len(stored) == 2 * (12 + 6 + 6)  # answers, comments, respondents of two polls
    for row in stored:
        for value in row:
            for user in marketing + it:
                assert user not in str(value), (user, row)
    # One hash per person and poll, and a person's hash differs from one poll to the next,
    # so answers cannot be linked across weeks.
    assert len(hashes[first.id]) == len(hashes[second.id]) == 6
    assert not hashes[first.id] & hashes[second.id]
    # Keyed: without the secret key the hash cannot be recomputed from a user id.
    assert pulse.voter_hash(deps.secret_key, WS, first.id, "U0MK0") in hashes[first.id]
    assert pulse.voter_hash("another key", WS, first.id, "U0MK0") not in hashes[first.id]


# -- history ------------------------------------------------------------------------------


def test_change_since_the_last_pulse(deps: Deps) -> None:
    marketing, it = users("MK", 3), users("IT", 3)
    seed(deps, marketing=marketing, it=it)
    last_week = open_poll(deps, slot=SLOT - timedelta(days=7))
    for user, value in zip(marketing, (4, 5, 2), strict=True):
        vote(deps, last_week.id, user, value, now=SLOT - timedelta(days=7, hours=-1))
    vote(deps, last_week.id, it[0], 5, now=SLOT - timedelta(days=7, hours=-1))
    close(deps, last_week.id)
    this_week = open_poll(deps)
    for user in marketing:
        vote(deps, this_week.id, user, 4)
    for user, value in zip(it, (5, 2, 1), strict=True):
        vote(deps, this_week.id, user, value)

    found = results(deps, this_week.id)
    assert found.previous is not None and found.previous.poll.id == last_week.id
    assert found.change(0, "marketing") == 33.3  # 66.7% -> 100%
    assert found.change(0, "it") is None  # IT was hidden last week (one answer)
    # Last week Everyone (3 of 4) was hidden too: with Marketing's figure it gave IT's away.
    assert found.change(0, "overall") is None
    assert "100% agree · mean 4.0 · n=3 · +33 pts" in rendered(deps, found)


def test_an_unclosed_earlier_pulse_is_not_the_comparison(deps: Deps) -> None:
    seed(deps, marketing=users("MK", 3))
    open_poll(deps, slot=SLOT - timedelta(days=7))  # never closed
    this_week = open_poll(deps)
    assert results(deps, this_week.id).previous is None


def test_pulse_results_while_the_first_pulse_is_open_says_when_it_closes(deps: Deps) -> None:
    seed(deps, marketing=["U0ANN"], it=["U0BEN"])
    open_poll(deps)
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=Caller(workspace_id=WS, user_ref="U0ANN", platform="slack", is_admin=True),
        now=DURING,
        default_timezone="UTC",
    )

    reply = run_command(scope, "pulse", "results")

    assert not reply.is_error
    assert reply.fallback == (
        "A pulse is open until Wed 04 Mar 10:00 UTC; its results appear here when it closes."
    )


def test_opening_the_weekly_pulse_twice_for_one_slot_gives_one_poll(deps: Deps) -> None:
    seed(deps, marketing=users("MK", 2), it=users("IT", 1))
    first, second = open_poll(deps), open_poll(deps)
    next_week = open_poll(deps, slot=SLOT + timedelta(days=7))

    assert first.id == second.id
    assert next_week.id != first.id
    with deps.session_factory() as session:
        assert session.execute(select(func.count()).select_from(PulsePoll)).scalar_one() == 2
        _, asked = pulse.open_weekly(
            session=session, workspace_id=WS, slot=SLOT, now=SLOT, open_for=OPEN_FOR
        )
    assert asked == ["U0IT0", "U0MK0", "U0MK1"]


def test_the_weekly_pulse_asks_everyone_with_a_side_and_nobody_else(deps: Deps) -> None:
    seed(deps, marketing=["U0MK0"], it=["U0IT0"], other=["U0OT0"])
    with deps.session_factory.begin() as session:
        session.add(Person(workspace_id=WS, user_ref="U0NOSIDE", side=None))
    with deps.session_factory() as session:
        _, asked = pulse.open_weekly(
            session=session, workspace_id=WS, slot=SLOT, now=SLOT, open_for=OPEN_FOR
        )
    assert asked == ["U0IT0", "U0MK0", "U0OT0"]


def test_a_workspace_may_ask_marketing_and_it_only(deps: Deps) -> None:
    seed(deps, marketing=["U0MK0"], it=["U0IT0"], other=["U0OT0"])
    with deps.session_factory.begin() as session:
        session.execute(
            update(WorkspaceSettings)
            .where(WorkspaceSettings.workspace_id == WS)
            .values(pulse_audience=pulse.TWO_SIDES)
        )
    with deps.session_factory() as session:
        poll, asked = pulse.open_weekly(
            session=session, workspace_id=WS, slot=SLOT, now=SLOT, open_for=OPEN_FOR
        )
    assert asked == ["U0IT0", "U0MK0"]
    assert poll.invited == {"marketing": 1, "it": 1}


# -- quick polls ----------------------------------------------------------------------


def test_a_quick_poll_takes_two_to_ten_options(deps: Deps) -> None:
    seed(deps)
    with deps.session_factory.begin() as session:
        for options in (["A"], [f"O{n}" for n in range(11)], ["Yes", " yes "], ["A", " ", ""]):
            with pytest.raises(PulseRefused):
                pulse.create_adhoc(
                    session=session,
                    workspace_id=WS,
                    question="Lunch?",
                    options=options,
                    author_ref="U0ALICE",
                    channel_ref="C0GENERAL",
                    now=DURING,
                )
        for options in (["A", "B"], [f"O{n}" for n in range(10)]):
            poll = pulse.create_adhoc(
                session=session,
                workspace_id=WS,
                question="Lunch?",
                options=options,
                author_ref="U0ALICE",
                channel_ref="C0GENERAL",
                now=DURING,  # both at once, as two people may ask
            )
            assert poll.options == tuple(options)


def test_concurrent_quick_poll_votes_are_each_counted_once(deps: Deps) -> None:
    seed(deps)
    with deps.session_factory.begin() as session:
        poll = pulse.create_adhoc(
            session=session,
            workspace_id=WS,
            question="Which day for the joint demo?",
            options=["Tuesday", "Wednesday", "Thursday"],
            author_ref="U0ALICE",
            channel_ref="C0GENERAL",
            now=DURING,
        )
    voters = [(f"U0V{n:02d}", n % 3) for n in range(30)] + [("U0TWICE", 0), ("U0TWICE", 2)]
    barrier = threading.Barrier(len(voters), timeout=20)
    errors: list[BaseException] = []

    def cast(user: str, option: int) -> None:
        try:
            barrier.wait()
            vote(deps, poll.id, user, option)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=cast, args=voter) for voter in voters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    with deps.session_factory() as session:
        counts = pulse.option_counts(session=session, workspace_id=WS, poll_id=poll.id)
        twice = pulse.my_answers(
            session=session,
            workspace_id=WS,
            poll_id=poll.id,
            user_ref="U0TWICE",
            secret_key=deps.secret_key,
        )
    assert sum(counts) == 31  # 30 people and one person who clicked twice at once
    assert twice in ({0: 0}, {0: 2})
    expected = [10, 10, 10]
    expected[twice[0]] += 1
    assert counts == expected
    assert len(answer_rows(deps, poll.id)) == 31


# -- tenant isolation ---------------------------------------------------------------------


def test_workspaces_never_see_or_touch_each_others_polls(deps: Deps) -> None:
    seed(deps, WS, marketing=users("MK", 3), it=users("IT", 3))
    seed(deps, OTHER_WS, marketing=users("MK", 3), it=users("IT", 3))  # the same user ids
    ours, theirs = open_poll(deps, WS), open_poll(deps, OTHER_WS)
    for user in users("MK", 3) + users("IT", 3):
        vote(deps, ours.id, user, 5)
        vote(deps, theirs.id, user, 1, workspace_id=OTHER_WS)
    close(deps, theirs.id, OTHER_WS)

    with pytest.raises(PollNotFound):
        vote(deps, ours.id, "U0MK0", 1, workspace_id=OTHER_WS)
    with pytest.raises(PollNotFound):
        close(deps, ours.id, OTHER_WS)
    with pytest.raises(PollNotFound):
        results(deps, ours.id, OTHER_WS)

    ours_now = results(deps, ours.id)
    assert ours_now.poll.is_open
    assert ours_now.questions[0].overall == SideStats(6, 5.0, 100.0, True)
    assert results(deps, theirs.id, OTHER_WS).questions[0].overall == SideStats(6, 1.0, 0.0, True)
    with deps.session_factory() as session:
        assert pulse.latest_weekly(session=session, workspace_id=WS) is None
        theirs_trend = pulse.trend(session=session, workspace_id=OTHER_WS, weeks=4)
        assert [result.poll.id for result in theirs_trend] == [theirs.id]
        assert pulse.trend(session=session, workspace_id=WS, weeks=4) == []
        open_here = pulse.open_weekly_poll(session=session, workspace_id=WS)
    assert open_here is not None and open_here.id == ours.id


# -- the upgrade that added pulse_respondents ---------------------------------------------


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrading_counts_people_who_had_already_answered(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    try:
        upgrade(engine, "0007")
        at = "2026-03-02 10:00:00"
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO workspaces (id, platform, created_at) VALUES (:ws, 'slack', :at)"
                ),
                {"ws": WS, "at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO pulse_polls (id, workspace_id, kind, slot, questions, options, "
                    "status, opened_at, invited) VALUES (7, :ws, 'weekly', :at, '[\"q\", \"r\"]', "
                    "'[]', 'open', :at, '{}')"
                ),
                {"ws": WS, "at": at},
            )
            for voter, side, question in (
                ("h1", "it", 0), ("h1", "it", 1), ("h2", "marketing", 1), ("h3", None, 0),
            ):  # fmt: skip
                connection.execute(
                    text(
                        "INSERT INTO pulse_answers (workspace_id, poll_id, voter_hash, side, "
                        "question, value, updated_at) VALUES (:ws, 7, :voter, :side, :q, 4, :at)"
                    ),
                    {"ws": WS, "voter": voter, "side": side, "q": question, "at": at},
                )
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT voter_hash, side FROM pulse_respondents ORDER BY voter_hash")
            ).all()
        assert [tuple(row) for row in rows] == [("h1", "it"), ("h2", "marketing"), ("h3", None)]
    finally:
        engine.dispose()


# -- the upgrade that lets quick polls share an instant ------------------------------------

INSERT_POLL = (
    "INSERT INTO pulse_polls (id, workspace_id, kind, slot, questions, options, status, "
    "opened_at, invited) VALUES (:id, :ws, :kind, :at, '[\"q\"]', '[\"a\", \"b\"]', 'open', "
    ":at, '{}')"
)


def pulse_rows(connection: Connection) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "polls": "SELECT id, kind FROM pulse_polls ORDER BY id",
        "answers": "SELECT poll_id, voter_hash, value FROM pulse_answers ORDER BY poll_id",
        "comments": "SELECT poll_id, text FROM pulse_comments ORDER BY poll_id",
    }
    return {
        name: [tuple(row) for row in connection.execute(text(query))]
        for name, query in queries.items()
    }


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrading_keeps_every_poll_and_answer_and_lets_quick_polls_share_an_instant(
    fresh_database_url: str,
) -> None:
    engine = make_engine(fresh_database_url)
    at = "2026-03-02 10:00:00"
    try:
        upgrade(engine, "0011")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO workspaces (id, platform, created_at) VALUES (:ws, 'slack', :at)"
                ),
                {"ws": WS, "at": at},
            )
            for poll_id, kind in ((1, "weekly"), (2, "adhoc")):
                connection.execute(
                    text(INSERT_POLL), {"id": poll_id, "ws": WS, "kind": kind, "at": at}
                )
                connection.execute(
                    text(
                        "INSERT INTO pulse_answers (workspace_id, poll_id, voter_hash, side, "
                        "question, value, updated_at) VALUES (:ws, :poll, 'h1', 'it', 0, 1, :at)"
                    ),
                    {"ws": WS, "poll": poll_id, "at": at},
                )
            connection.execute(
                text(
                    "INSERT INTO pulse_comments (workspace_id, poll_id, voter_hash, side, text, "
                    "updated_at) VALUES (:ws, 1, 'h1', 'it', 'Good week', :at)"
                ),
                {"ws": WS, "at": at},
            )
            before = pulse_rows(connection)

        upgrade(engine)

        with engine.begin() as connection:
            assert pulse_rows(connection) == before  # nothing cascaded away by the rebuild
            connection.execute(text(INSERT_POLL), {"id": 3, "ws": WS, "kind": "adhoc", "at": at})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(INSERT_POLL), {"id": 4, "ws": WS, "kind": "weekly", "at": at})

        downgrade(engine, "0011")  # the two quick polls of one instant fit the old constraint

        with engine.connect() as connection:
            assert pulse_rows(connection) == {
                **before,
                "polls": [(1, "weekly"), (2, "adhoc"), (3, "adhoc")],
            }
            opened = connection.execute(text("SELECT DISTINCT opened_at FROM pulse_polls")).all()
        assert len(opened) == 1  # when each was asked is kept
    finally:
        engine.dispose()


def test_forget_me_unties_the_person_from_their_pulse_answers(deps: Deps) -> None:
    marketing, it = users("MK", 3), users("IT", 3)
    seed(deps, marketing=marketing, it=it)
    alice = marketing[0]
    last_week = open_poll(deps, slot=SLOT - timedelta(days=7))
    for user in marketing + it:
        vote(deps, last_week.id, user, 5 if user == alice else 4, now=SLOT - timedelta(days=6))
    others = marketing[1:] + it[:1]
    for user in others:
        comment(deps, last_week.id, user, f"{user} says hi", now=SLOT - timedelta(days=6))
    close(deps, last_week.id)  # which unties every answer from the people who gave it
    this_week = open_poll(deps)
    vote(deps, this_week.id, alice, 2)
    vote(deps, this_week.id, it[0], 4)
    comment(deps, this_week.id, alice, "I am Alice from the Paris office")
    before = results(deps, last_week.id)

    with deps.session_factory.begin() as session:
        counts = deps.router.privacy.forget(
            session=session, workspace_id=WS, user_ref=alice, now=DURING
        ).counts

    # This week's answer and comment; last week's answer was untied when that pulse closed.
    assert counts["pulse answers untied from you"] == 1 and counts["pulse comments"] == 1
    with deps.session_factory() as session:
        for poll in (last_week, this_week):
            assert pulse.my_answers(
                session=session, workspace_id=WS, poll_id=poll.id, user_ref=alice,
                secret_key=deps.secret_key,
            ) == {}  # fmt: skip
    after = results(deps, last_week.id)
    assert after.questions == before.questions  # what everyone saw still adds up
    assert after.respondents_by_side == before.respondents_by_side
    assert sorted(after.comments) == sorted(f"{u} says hi" for u in others)
    assert results(deps, this_week.id).respondents_by_side["marketing"] == 0  # open: gone
    with deps.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(PulseComment)) == len(others)


def test_an_admin_can_close_a_quick_poll_whose_author_was_forgotten(deps: Deps) -> None:
    seed(deps)
    with deps.session_factory.begin() as session:
        poll = pulse.create_adhoc(
            session=session, workspace_id=WS, question="Lunch?", options=["Pizza", "Sushi"],
            author_ref="U0ALICE", channel_ref="C0GENERAL", now=DURING,
        )  # fmt: skip
        deps.router.privacy.forget(session=session, workspace_id=WS, user_ref="U0ALICE", now=DURING)

    def close_as(caller: Caller) -> Reply:
        scope = RequestScope(
            session_factory=deps.session_factory,
            router=deps.router,
            caller=caller,
            now=DURING,
            default_timezone="UTC",
        )
        return run_action(scope, PULSE_ASK_CLOSE, str(poll.id))

    assert close_as(Caller(WS, "U0BOB", "slack")).is_error
    assert not close_as(Caller(WS, "U0ADA", "slack", is_admin=True)).is_error
    with deps.session_factory() as session:
        closed = pulse.get_poll(session=session, workspace_id=WS, poll_id=poll.id)
        shown = ask_message(closed, [0, 0]).fallback
    assert not closed.is_open
    assert "Asked by" not in shown and shown.count("@") == 0


def test_a_year_of_weekly_pulses_opens_on_one_pooled_connection(deps: Deps) -> None:
    """PostgreSQL prepares a statement run often on one connection and, after a few runs,
    plans it generically; the opening's ON CONFLICT must still find the partial index."""
    seed(deps, marketing=users("MK", 3))
    opened = [open_poll(deps, slot=SLOT + timedelta(days=7 * week)).id for week in range(14)]
    assert len(set(opened)) == 14
    assert open_poll(deps, slot=SLOT + timedelta(days=7 * 13)).id == opened[-1]  # idempotent
