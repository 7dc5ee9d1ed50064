"""A weekly pulse freezes its audience and their sides when it opens: only they answer,
under the side they had then, and forget-me takes a person out of every audience."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from bot.db import make_engine
from bot.deps import Deps
from bot.migrate import upgrade
from bot.models import PulseAnswer, PulseAudience, PulseComment, PulseRespondent, Side
from bot.services import people, pulse, workspaces
from bot.services.pulse import NotInAudience, PollView

WS = "T0AUDIENCE"
SLOT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
DURING = SLOT + timedelta(hours=1)
OPEN_FOR = timedelta(hours=48)
MARKETING = ["U0MK1", "U0MK2", "U0MK3", "U0MK4", "U0MK5"]
LONE_IT = "U0IT1"


def seed(deps: Deps, **sides: list[str]) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=WS, platform="slack", timezone="UTC"
        )
        for side, users in sides.items():
            for user in users:
                people.set_side(session=session, workspace_id=WS, user_ref=user, side=Side(side))


def open_poll(deps: Deps, slot: datetime = SLOT) -> tuple[PollView, list[str]]:
    with deps.session_factory.begin() as session:
        return pulse.open_weekly(
            session=session, workspace_id=WS, slot=slot, now=slot, open_for=OPEN_FOR
        )


def move_self(deps: Deps, user: str, side: Side, now: datetime = DURING) -> None:
    with deps.session_factory.begin() as session:
        people.change_own_side(session=session, workspace_id=WS, user_ref=user, side=side, now=now)


def vote(deps: Deps, poll_id: int, user: str, value: int, question: int = 0) -> None:
    with deps.session_factory.begin() as session:
        pulse.vote(
            session=session, workspace_id=WS, poll_id=poll_id, question=question, value=value,
            user_ref=user, secret_key=deps.secret_key, now=DURING,
        )  # fmt: skip


def comment(deps: Deps, poll_id: int, user: str, words: str) -> None:
    with deps.session_factory.begin() as session:
        pulse.save_comment(
            session=session, workspace_id=WS, poll_id=poll_id, user_ref=user, text=words,
            secret_key=deps.secret_key, now=DURING,
        )  # fmt: skip


def stored(deps: Deps, model: type[PulseAnswer] | type[PulseComment]) -> list[object]:
    with deps.session_factory() as session:
        return list(session.execute(select(model)).scalars())


def test_two_marketers_who_switch_to_it_mid_pulse_cannot_reveal_the_lone_it_answer(
    deps: Deps,
) -> None:
    seed(deps, marketing=MARKETING, it=[LONE_IT])
    poll, _ = open_poll(deps)
    for user in MARKETING[:2]:
        move_self(deps, user, Side.IT)  # allowed: their first change in 30 days
    for user in [*MARKETING, LONE_IT]:
        vote(deps, poll.id, user, 1 if user == LONE_IT else 5)

    with deps.session_factory() as session:
        found = pulse.results(session=session, workspace_id=WS, poll_id=poll.id)
    it_row = found.questions[0].by_side[Side.IT.value]
    assert (it_row.respondents, it_row.shown, it_row.agree_pct) == (1, False, None)
    marketing_row = found.questions[0].by_side[Side.MARKETING.value]
    assert (marketing_row.respondents, marketing_row.agree_pct) == (5, 100.0)
    # Invited and answered are counted on the same frozen sides: 5/5 and 1/1, never 3/1.
    assert found.poll.invited == {"marketing": 5, "it": 1}
    assert found.response_rate == {"marketing": 100.0, "it": 100.0, "other": None}


def test_a_comment_counts_under_the_side_frozen_when_the_pulse_opened(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=[LONE_IT])
    poll, _ = open_poll(deps)
    move_self(deps, MARKETING[0], Side.IT)
    comment(deps, poll.id, MARKETING[0], "More shared demos please")

    (saved,) = stored(deps, PulseComment)
    assert isinstance(saved, PulseComment) and saved.side == Side.MARKETING.value


def test_a_user_id_bridgebot_never_saw_can_neither_vote_nor_comment(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=[LONE_IT])
    poll, _ = open_poll(deps)

    with pytest.raises(NotInAudience, match="sent to the people who had a side when it opened"):
        vote(deps, poll.id, "U0STRANGER", 5)
    with pytest.raises(NotInAudience, match="on Monday 02 March; you can answer the next one"):
        comment(deps, poll.id, "U0STRANGER", "hello")
    assert stored(deps, PulseAnswer) == [] and stored(deps, PulseComment) == []


def test_someone_who_chose_a_side_after_the_pulse_opened_answers_the_next_one(
    deps: Deps,
) -> None:
    seed(deps, marketing=MARKETING, it=[LONE_IT])
    poll, _ = open_poll(deps)
    move_self(deps, "U0LATE", Side.IT)  # a first choice: no limit

    with pytest.raises(NotInAudience):
        vote(deps, poll.id, "U0LATE", 5)
    assert stored(deps, PulseAnswer) == []

    next_week, asked = open_poll(deps, slot=SLOT + timedelta(days=7))
    assert "U0LATE" in asked
    vote(deps, next_week.id, "U0LATE", 5)
    assert len(stored(deps, PulseAnswer)) == 1


def test_opening_the_same_pulse_again_asks_its_frozen_audience_not_newcomers(
    deps: Deps,
) -> None:
    seed(deps, marketing=MARKETING[:2])
    first, asked = open_poll(deps)
    seed(deps, it=["U0LATE"])
    again, asked_again = open_poll(deps)  # a retried opening

    assert again.id == first.id
    assert asked_again == asked == ["U0MK1", "U0MK2"]


def test_forget_me_takes_the_person_out_of_every_audience(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=[LONE_IT])
    poll, _ = open_poll(deps)
    vote(deps, poll.id, LONE_IT, 3)
    with deps.session_factory() as session:
        exported = deps.router.privacy.export(session=session, workspace_id=WS, user_ref=LONE_IT)
    assert exported["pulses_asked"] == [{"opened_at": SLOT.isoformat(), "your_side_then": "it"}]

    with deps.session_factory.begin() as session:
        counts = deps.router.privacy.forget(
            session=session, workspace_id=WS, user_ref=LONE_IT, now=DURING
        ).counts

    assert counts["pulses you were asked"] == 1
    with deps.session_factory() as session:
        left = session.execute(select(PulseAudience.user_ref)).scalars().all()
        respondents = session.execute(select(PulseRespondent)).scalars().all()
    assert LONE_IT not in left and len(left) == len(MARKETING)
    assert respondents == []  # the answer to the open pulse went with them
    with pytest.raises(NotInAudience):
        vote(deps, poll.id, LONE_IT, 3)


# -- the upgrade that added the frozen audience ---------------------------------------------


@pytest.mark.parametrize("fresh_database_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrading_freezes_the_audience_of_open_weekly_pulses(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    at = "2026-03-02 10:00:00"
    insert_poll = (
        "INSERT INTO pulse_polls (id, workspace_id, kind, slot, questions, options, status, "
        "opened_at, invited) VALUES (:id, :ws, :kind, :slot, '[\"q\"]', '[]', :status, :at, "
        ":invited)"
    )
    try:
        upgrade(engine, "0008")
        with engine.begin() as connection:
            for ws, audience_setting in (("T0ALL", "sides"), ("T0TWO", "marketing_it")):
                connection.execute(
                    text(
                        "INSERT INTO workspaces (id, platform, created_at) "
                        "VALUES (:ws, 'slack', :at)"
                    ),
                    {"ws": ws, "at": at},
                )
                connection.execute(
                    text(
                        "INSERT INTO workspace_settings (workspace_id, timezone, label_marketing, "
                        "label_it, label_other, anonymity_threshold, digest_weekday, "
                        "digest_time, pulse_audience, updated_at) VALUES (:ws, 'UTC', "
                        "'Marketing', 'IT', 'Other', 3, 4, '16:00:00', :audience, :at)"
                    ),
                    {"ws": ws, "audience": audience_setting, "at": at},
                )
                for user, side in (
                    ("U1", "marketing"),
                    ("U2", "it"),
                    ("U3", "other"),
                    ("U4", None),
                ):
                    connection.execute(
                        text(
                            "INSERT INTO people (workspace_id, user_ref, side, created_at, "
                            "updated_at) VALUES (:ws, :user, :side, :at, :at)"
                        ),
                        {"ws": ws, "user": user, "side": side, "at": at},
                    )
            polls = (
                (1, "T0ALL", "weekly", "open", '{"marketing": 7}'),
                (2, "T0TWO", "weekly", "open", '{"it": 9}'),
                (3, "T0ALL", "weekly", "closed", '{"marketing": 4}'),
                (4, "T0ALL", "adhoc", "open", "{}"),
            )
            for poll_id, ws, kind, status, invited in polls:
                connection.execute(
                    text(insert_poll),
                    {
                        "id": poll_id, "ws": ws, "kind": kind, "status": status,
                        "slot": f"2026-03-0{poll_id} 10:00:00", "at": at, "invited": invited,
                    },
                )  # fmt: skip

        upgrade(engine, "0009")

        with engine.connect() as connection:
            audience = connection.execute(
                text(
                    "SELECT poll_id, user_ref, side FROM pulse_audience ORDER BY poll_id, user_ref"
                )
            ).all()
            invited_by_poll = {
                row.id: row.invited
                for row in connection.execute(
                    text("SELECT id, invited FROM pulse_polls ORDER BY id")
                )
            }
        assert [tuple(row) for row in audience] == [
            (1, "U1", "marketing"), (1, "U2", "it"), (1, "U3", "other"),
            (2, "U1", "marketing"), (2, "U2", "it"),
        ]  # fmt: skip
        parsed = {
            poll_id: value if isinstance(value, dict) else json.loads(value)
            for poll_id, value in invited_by_poll.items()
        }
        assert parsed == {
            1: {"marketing": 1, "it": 1, "other": 1},
            2: {"marketing": 1, "it": 1},
            3: {"marketing": 4},  # closed: left as it was
            4: {},
        }
    finally:
        engine.dispose()
