"""The pulse's question bank: what ships, what admins choose and write, mirrored pairs asked
of each side about the other, and results that follow a question by its id."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from bot.db import make_engine, make_session_factory
from bot.deps import Deps
from bot.migrate import downgrade, upgrade
from bot.models import PulseCustomQuestion, Side, WorkspaceSettings
from bot.services import people, pulse, pulse_questions
from bot.services.pulse import PulseRefused, SideStats
from bot.services.pulse_questions import QuestionRefused, UnknownQuestion
from tests.services.test_pulse import (
    OPEN_FOR,
    OTHER_WS,
    SLOT,
    WS,
    close,
    open_poll,
    results,
    seed,
    users,
    vote,
)

LABELS = {"marketing": "Marketing", "it": "IT"}
NEXT_WEEK = SLOT + timedelta(days=7)
MIRRORED = "understands-our-needs"


def choose(deps: Deps, *ids: str, workspace_id: str = WS) -> list[pulse_questions.Question]:
    with deps.session_factory.begin() as session:
        return pulse_questions.choose(
            session=session, workspace_id=workspace_id, question_ids=list(ids), labels=LABELS
        )


def chosen_ids(deps: Deps, workspace_id: str = WS) -> list[str]:
    with deps.session_factory() as session:
        return pulse_questions.chosen_ids(session=session, workspace_id=workspace_id)


def write(
    deps: Deps, statement: str, mirror: tuple[str, str] | None = None, workspace_id: str = WS
) -> pulse_questions.Question:
    with deps.session_factory.begin() as session:
        return pulse_questions.create_custom(
            session=session,
            workspace_id=workspace_id,
            statement=statement,
            mirror=mirror,
            labels=LABELS,
        )


def test_the_bank_ships_about_twenty_statements_with_stable_ids_and_mirrored_pairs() -> None:
    bank = pulse_questions.bank(LABELS)
    assert 18 <= len(bank) <= 25
    assert len({q.id for q in bank}) == len(bank)
    assert {q.category for q in bank} == {
        "collaboration",
        "communication",
        "shared goals",
        "trust",
        "speed",
    }
    pairs = [q for q in bank if q.mirrored]
    assert len(pairs) >= 3
    by_id = {q.id: q for q in bank}
    assert by_id[MIRRORED].mirror == {
        "marketing": "IT understands what Marketing needs.",
        "it": "Marketing understands what IT needs.",
    }
    # The three questions every pulse asked before the bank are its defaults, word for word.
    assert [by_id[i].statement for i in pulse_questions.DEFAULT_IDS] == list(
        pulse.DEFAULT_QUESTIONS
    )
    assert not any("{" in q.statement for q in bank)


def test_bank_statements_use_the_workspace_labels_however_they_are_written() -> None:
    labels = {"marketing": "Growth {it}", "it": "Eng {0} %s"}
    bank = {q.id: q for q in pulse_questions.bank(labels)}
    assert bank["worked-together"].statement == (
        "This week Growth {it} and Eng {0} %s worked together collaboratively."
    )
    assert bank[MIRRORED].asked_of("it") == "Growth {it} understands what Eng {0} %s needs."


def test_admins_choose_one_to_five_questions_and_nothing_is_saved_on_a_mistake(
    deps: Deps,
) -> None:
    seed(deps)
    assert chosen_ids(deps) == list(pulse_questions.DEFAULT_IDS)
    choose(deps, "same-goals", MIRRORED)
    assert chosen_ids(deps) == ["same-goals", MIRRORED]

    for bad, message in [
        ((), "1 to 5"),
        (("same-goals",) * 2, "chosen twice"),
        (("worked-together", "same-goals", "trust-me", "speed"), "no question “trust-me”"),
        (tuple(q.id for q in pulse_questions.bank(LABELS))[:6], "that makes 6"),
    ]:
        with pytest.raises((QuestionRefused, UnknownQuestion), match=message):
            choose(deps, *bad)
        assert chosen_ids(deps) == ["same-goals", MIRRORED]

    with deps.session_factory.begin() as session:
        pulse_questions.add(
            session=session, workspace_id=WS, question_ids=["QUICK-DECISIONS"], labels=LABELS
        )
    with (
        deps.session_factory.begin() as session,
        pytest.raises(QuestionRefused, match="already asked"),
    ):
        pulse_questions.add(
            session=session, workspace_id=WS, question_ids=[MIRRORED], labels=LABELS
        )
    with deps.session_factory.begin() as session:
        pulse_questions.remove(
            session=session, workspace_id=WS, question_ids=["same-goals"], labels=LABELS
        )
    assert chosen_ids(deps) == [MIRRORED, "quick-decisions"]
    with deps.session_factory.begin() as session:
        pulse_questions.remove(
            session=session, workspace_id=WS, question_ids=[MIRRORED], labels=LABELS
        )
    with (
        deps.session_factory.begin() as session,
        pytest.raises(QuestionRefused, match="at least one"),
    ):
        pulse_questions.remove(
            session=session, workspace_id=WS, question_ids=["quick-decisions"], labels=LABELS
        )


def test_a_change_applies_from_the_next_pulse_and_the_open_one_keeps_its_questions(
    deps: Deps,
) -> None:
    seed(deps, marketing=users("MK", 3), it=users("IT", 3))
    first = open_poll(deps)
    choose(deps, "same-goals")
    with deps.session_factory() as session:
        still = pulse.get_poll(session=session, workspace_id=WS, poll_id=first.id)
    assert still.questions == pulse.DEFAULT_QUESTIONS
    assert still.question_ids == pulse_questions.DEFAULT_IDS
    close(deps, first.id)

    second = open_poll(deps, slot=NEXT_WEEK)
    assert second.questions == ("Marketing and IT are working towards the same goals.",)
    assert second.question_ids == ("same-goals",)


def test_a_pulse_opens_with_the_labels_of_the_moment(deps: Deps) -> None:
    seed(deps, marketing=users("MK", 3), it=users("IT", 3))
    with deps.session_factory.begin() as session:
        session.execute(
            update(WorkspaceSettings)
            .where(WorkspaceSettings.workspace_id == WS)
            .values(label_marketing="Growth", label_it="Engineering")
        )
    choose(deps, "worked-together", MIRRORED)
    poll = open_poll(deps)
    assert poll.questions[0] == "This week Growth and Engineering worked together collaboratively."
    assert poll.statements_for("marketing")[1] == (1, "Engineering understands what Growth needs.")
    assert poll.statements_for("it")[1] == (1, "Growth understands what Engineering needs.")


def test_each_side_is_asked_its_own_statement_of_a_mirrored_pair_and_other_none(
    deps: Deps,
) -> None:
    seed(deps, marketing=["U0MK"], it=["U0IT"], other=["U0OT"])
    choose(deps, "worked-together", MIRRORED)
    poll = open_poll(deps)
    assert [i for i, _ in poll.statements_for("marketing")] == [0, 1]
    assert [i for i, _ in poll.statements_for("it")] == [0, 1]
    assert poll.statements_for("other") == [(0, poll.questions[0])]

    vote(deps, poll.id, "U0OT", 4, question=0)
    with pytest.raises(PulseRefused, match="about the other"):
        vote(deps, poll.id, "U0OT", 4, question=1)  # a forged click on the pair
    vote(deps, poll.id, "U0MK", 4, question=1)
    vote(deps, poll.id, "U0IT", 2, question=1)


def test_the_side_frozen_at_opening_decides_the_statement_even_after_a_move(deps: Deps) -> None:
    seed(deps, marketing=users("MK", 3), it=users("IT", 3))
    choose(deps, MIRRORED)
    poll = open_poll(deps)
    with deps.session_factory.begin() as session:  # an IT person moves to Marketing mid-pulse
        people.set_side(session=session, workspace_id=WS, user_ref="U0IT0", side=Side.MARKETING)
    for user in users("MK", 3):
        vote(deps, poll.id, user, 5)
    for user in users("IT", 3):
        vote(deps, poll.id, user, 2)
    close(deps, poll.id)
    (question,) = results(deps, poll.id).questions
    assert question.by_side["marketing"] == SideStats(3, 5.0, 100.0, True)
    assert question.by_side["it"] == SideStats(3, 2.0, 0.0, True)  # still counted as IT's view
    assert question.overall.shown is False  # a total of two different statements means nothing
    assert question.gap == 100.0
    assert question.mirror is not None and question.mirror["it"].startswith("Marketing understands")


def test_a_pulse_of_mirrored_pairs_only_asks_marketing_and_it(deps: Deps) -> None:
    seed(deps, marketing=users("MK", 3), it=users("IT", 3), other=users("OT", 3))
    choose(deps, MIRRORED, "values-our-work")
    with deps.session_factory.begin() as session:
        poll, asked = pulse.open_weekly(
            session=session, workspace_id=WS, slot=SLOT, now=SLOT, open_for=OPEN_FOR
        )
    assert sorted(asked) == sorted(users("MK", 3) + users("IT", 3))
    assert poll.invited == {"marketing": 3, "it": 3}
    with pytest.raises(pulse.NotInAudience):
        vote(deps, poll.id, "U0OT0", 4)


def test_a_hidden_side_hides_its_view_of_the_pair_and_the_gap(deps: Deps) -> None:
    seed(deps, marketing=users("MK", 3), it=users("IT", 3))
    choose(deps, MIRRORED)
    poll = open_poll(deps)
    for user in users("MK", 3):
        vote(deps, poll.id, user, 1)
    for user in users("IT", 2):
        vote(deps, poll.id, user, 5)
    close(deps, poll.id)
    (question,) = results(deps, poll.id).questions
    assert question.by_side["it"] == SideStats(2, None, None, False)
    assert question.gap is None and question.overall.agree_pct is None


def test_the_change_since_last_week_follows_a_question_by_its_id(deps: Deps) -> None:
    seed(deps, marketing=users("MK", 3), it=users("IT", 3))
    choose(deps, "worked-together", "same-goals")
    first = open_poll(deps)
    for user in users("MK", 3) + users("IT", 3):
        vote(deps, first.id, user, 2, question=0)  # worked-together: 0% agree
        vote(deps, first.id, user, 5, question=1)  # same-goals: 100%
    close(deps, first.id)
    choose(deps, "same-goals", "quick-decisions", "worked-together")  # reordered, one new
    second = open_poll(deps, slot=NEXT_WEEK)
    for user in users("MK", 3) + users("IT", 3):
        for question in range(3):
            vote(deps, second.id, user, 4, question=question, now=NEXT_WEEK + timedelta(hours=1))
    close(deps, second.id)
    found = results(deps, second.id)
    assert [q.id for q in found.questions] == ["same-goals", "quick-decisions", "worked-together"]
    assert found.change(0, "marketing") == 0.0  # same-goals: 100 -> 100
    assert found.change(1, "marketing") is None  # never asked before
    assert found.change(2, "marketing") == 100.0  # worked-together: 0 -> 100


def test_admins_write_their_own_questions_plain_or_mirrored(deps: Deps) -> None:
    seed(deps, marketing=users("MK", 3), it=users("IT", 3))
    plain = write(deps, "  The launch   checklist was shared in time. ")
    assert (plain.id, plain.statement, plain.custom) == (
        "custom-1",
        "The launch checklist was shared in time.",
        True,
    )
    pair = write(
        deps,
        "Briefs between the sides",
        ("IT's briefs are clear to me.", "Marketing's briefs are clear to me."),
    )
    assert pair.id == "custom-2" and pair.asked_of("it") == "Marketing's briefs are clear to me."
    choose(deps, "custom-2", "custom-1")
    poll = open_poll(deps)
    assert poll.question_ids == ("custom-2", "custom-1")
    assert poll.statements_for("marketing") == [
        (0, "IT's briefs are clear to me."),
        (1, "The launch checklist was shared in time."),
    ]
    # Braces in an admin's text are asked word for word.
    assert write(deps, "Our {marketing} work is {it} fine").statement == (
        "Our {marketing} work is {it} fine"
    )


@pytest.mark.parametrize(
    ("statement", "mirror", "message"),
    [
        ("Too short", None, "at least 10"),
        ("x" * 201, None, "200 characters"),
        ("Tab\u0007bell in here", None, "control characters"),
        ("I understood what the other side needed from me.", None, "already a question"),
        ("A pair that asks the same", ("Same words here.", "same words HERE."), "different"),
        ("A pair with a bad half", ("Fine words here.", "short"), "at least 10"),
    ],
)
def test_a_custom_question_is_refused_with_a_reason_and_nothing_saved(
    deps: Deps, statement: str, mirror: tuple[str, str] | None, message: str
) -> None:
    seed(deps)
    with pytest.raises(QuestionRefused, match=message):
        write(deps, statement, mirror)
    with deps.session_factory() as session:
        assert session.execute(select(PulseCustomQuestion)).scalars().all() == []


def test_a_deleted_custom_question_keeps_its_pulses_and_its_number_is_not_reused(
    deps: Deps,
) -> None:
    seed(deps, marketing=users("MK", 3), it=users("IT", 3))
    asked = write(deps, "The launch checklist was shared in time.")
    choose(deps, asked.id)
    poll = open_poll(deps)
    with (
        deps.session_factory.begin() as session,
        pytest.raises(QuestionRefused, match="still asked"),
    ):
        pulse_questions.delete_custom(session=session, workspace_id=WS, question_id=asked.id)
    choose(deps, "same-goals")
    with deps.session_factory.begin() as session:
        pulse_questions.delete_custom(session=session, workspace_id=WS, question_id="CUSTOM-1")
    close(deps, poll.id)
    assert results(deps, poll.id).questions[0].question == asked.statement
    # A new question is custom-2: custom-1's trend must not run on into it.
    assert write(deps, "A different statement entirely.").id == "custom-2"


def test_a_workspace_never_sees_or_asks_another_workspaces_questions(deps: Deps) -> None:
    seed(deps)
    seed(deps, OTHER_WS)
    write(deps, "Our secret launch is on track.", workspace_id=OTHER_WS)
    with pytest.raises(UnknownQuestion):
        choose(deps, "custom-1")
    with deps.session_factory.begin() as session, pytest.raises(UnknownQuestion):
        pulse_questions.delete_custom(session=session, workspace_id=WS, question_id="custom-1")
    with deps.session_factory() as session:
        ours = pulse_questions.available(session=session, workspace_id=WS, labels=LABELS)
    assert not any(q.custom for q in ours)
    # The same words are a new question here, and get this workspace's first number.
    assert write(deps, "Our secret launch is on track.").id == "custom-1"


# -- the upgrade that gives held pulses their question ids ----------------------------------

HELD_POLL = (
    "INSERT INTO pulse_polls (id, workspace_id, kind, slot, questions, options, status, "
    "opened_at, invited) VALUES (:id, :ws, :kind, :at, :questions, '[]', 'closed', :at, '{}')"
)


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrading_gives_held_pulses_the_ids_of_what_they_asked(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    defaults = json.dumps(list(pulse.DEFAULT_QUESTIONS))
    own = json.dumps([pulse.DEFAULT_QUESTIONS[0], "Our old question of our own."])
    try:
        upgrade(engine, "0016")
        with engine.begin() as connection:
            for ws in (WS, OTHER_WS):
                connection.execute(
                    text(
                        "INSERT INTO workspaces (id, platform, created_at) VALUES (:ws, 'slack', :at)"
                    ),
                    {"ws": ws, "at": "2026-03-01 10:00:00"},
                )
            for poll_id, ws, kind, day, questions in (
                (1, WS, "weekly", 2, defaults),
                (2, WS, "weekly", 9, own),
                (3, WS, "weekly", 16, own),
                (4, OTHER_WS, "weekly", 2, own),
                (5, WS, "adhoc", 3, '["Pizza?"]'),
            ):
                connection.execute(
                    text(HELD_POLL),
                    {
                        "id": poll_id,
                        "ws": ws,
                        "kind": kind,
                        "at": f"2026-03-{day:02d} 10:00:00",
                        "questions": questions,
                    },
                )
        upgrade(engine)
        with engine.connect() as connection:
            ids: dict[int, object] = {
                poll_id: found
                for poll_id, found in connection.execute(
                    text("SELECT id, question_ids FROM pulse_polls")
                )
            }
            custom = connection.execute(
                text(
                    "SELECT workspace_id, key, statement FROM pulse_custom_questions ORDER BY workspace_id"
                )
            ).all()
        decoded = {k: json.loads(v) if isinstance(v, str) else v for k, v in ids.items()}
        assert decoded[1] == list(pulse_questions.DEFAULT_IDS)
        assert decoded[2] == decoded[3] == ["worked-together", "custom-1"]  # one trend
        assert decoded[4] == ["worked-together", "custom-1"]
        assert decoded[5] is None  # a quick poll has no question ids
        assert sorted(tuple(row) for row in custom) == [
            (OTHER_WS, "custom-1", "Our old question of our own."),
            (WS, "custom-1", "Our old question of our own."),
        ]
        with make_session_factory(engine)() as session:
            trend = pulse.trend(session=session, workspace_id=WS, weeks=10)
        assert [q.id for q in trend[-1].questions] == ["worked-together", "custom-1"]

        downgrade(engine, "0016")
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT id, questions FROM pulse_polls ORDER BY id")
            ).all()
        assert len(kept) == 5  # every pulse and its questions stay
    finally:
        engine.dispose()


def test_two_admins_changing_the_questions_at_once_both_keep_their_change(deps: Deps) -> None:
    seed(deps)
    choose(deps, "worked-together")
    first_has_read = threading.Event()
    errors: list[BaseException] = []

    def second_admin() -> None:
        first_has_read.wait(timeout=20)
        try:
            with deps.session_factory.begin() as session:
                pulse_questions.add(
                    session=session, workspace_id=WS, question_ids=["same-goals"], labels=LABELS
                )
                write_in(session, "The second admin's own question.")
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    other = threading.Thread(target=second_admin)
    other.start()
    with deps.session_factory.begin() as session:
        pulse_questions.add(
            session=session, workspace_id=WS, question_ids=["quick-decisions"], labels=LABELS
        )
        write_in(session, "The first admin's own question.")
        first_has_read.set()
        other.join(timeout=0.5)  # the second admin waits for this transaction meanwhile
    other.join(timeout=20)
    assert errors == []
    assert chosen_ids(deps)[:3] == ["worked-together", "quick-decisions", "custom-1"]
    assert sorted(chosen_ids(deps)[3:]) == ["custom-2", "same-goals"]


def write_in(session: Session, statement: str) -> None:
    question = pulse_questions.create_custom(
        session=session, workspace_id=WS, statement=statement, labels=LABELS
    )
    pulse_questions.add(session=session, workspace_id=WS, question_ids=[question.id], labels=LABELS)
