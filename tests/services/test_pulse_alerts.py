"""The gap alert: when it goes off (a gap widening against the average of the previous three
pulses that asked the question, a side's response rate falling), and never on hidden data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.deps import Deps
from bot.errors import Invalid
from bot.models import Occurrence
from bot.services import pulse, pulse_alerts, pulse_privacy, pulse_questions
from bot.services.pulse import PollView
from tests.services.test_pulse import OPEN_FOR, OTHER_WS, SLOT, WS, seed, users

MARKETING, IT = users("MK", 20), users("IT", 20)  # 5 points per person agreeing


def week(n: int) -> timedelta:
    return timedelta(days=7 * n)


def held(
    deps: Deps,
    n: int,
    *,
    marketing_agree: int,
    it_agree: int,
    marketing: list[str] = MARKETING,
    it: list[str] = IT,
    workspace_id: str = WS,
) -> PollView:
    """Pulse n (a week apart), answered by `marketing` and `it`, of whom the first
    `*_agree` agree (4) and the rest disagree (2); closed. It asks one question, unless
    the workspace chose others before."""
    slot = SLOT + week(n)
    with deps.session_factory.begin() as session:
        if n == 0:
            pulse_questions.choose(
                session=session,
                workspace_id=workspace_id,
                question_ids=["worked-together"],
                labels={"marketing": "Marketing", "it": "IT"},
            )
        poll, _ = pulse.open_weekly(
            session=session, workspace_id=workspace_id, slot=slot, now=slot, open_for=OPEN_FOR
        )
        for people, agreeing in ((marketing, marketing_agree), (it, it_agree)):
            for index, user in enumerate(people):
                for question in range(len(poll.questions)):
                    pulse.vote(
                        session=session,
                        workspace_id=workspace_id,
                        poll_id=poll.id,
                        question=question,
                        value=4 if index < agreeing else 2,
                        user_ref=user,
                        secret_key=deps.secret_key,
                        now=slot + timedelta(hours=1),
                    )
        pulse.close(
            session=session,
            workspace_id=workspace_id,
            poll_id=poll.id,
            now=slot + timedelta(hours=2),
        )
    return poll


def alert(deps: Deps, poll: PollView, workspace_id: str = WS) -> pulse_alerts.Alert:
    with deps.session_factory() as session:
        return pulse_alerts.find(session=session, workspace_id=workspace_id, poll_id=poll.id)


def set_gap(deps: Deps, points: int) -> None:
    with deps.session_factory.begin() as session:
        pulse_alerts.set_gap_points(session=session, workspace_id=WS, points=points)


@pytest.fixture
def team(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=IT)


@pytest.mark.usefixtures("team")
def test_a_gap_widening_by_15_points_against_the_previous_three_pulses_alerts(
    deps: Deps,
) -> None:
    # Gaps +40, 0, +10, +5: the three before the last average +5 (the +40 is older).
    for n, (marketing, it) in enumerate([(18, 10), (10, 10), (12, 10), (11, 10)]):
        held(deps, n, marketing_agree=marketing, it_agree=it)
    widened = held(deps, 4, marketing_agree=14, it_agree=10)  # +20: wider by 15

    found = alert(deps, widened)
    assert found and found.rates == ()
    first = found.gaps[0]
    assert (first.number, first.question_id) == (1, "worked-together")
    assert (first.gap, first.average, first.pulses, first.widened_by) == (20.0, 5.0, 3, 15.0)
    assert (first.marketing_pct, first.it_pct) == (70.0, 50.0)


@pytest.mark.usefixtures("team")
def test_a_gap_within_the_setting_or_only_changing_sign_does_not_alert(deps: Deps) -> None:
    for n, (marketing, it) in enumerate([(10, 10), (12, 10), (11, 10)]):
        held(deps, n, marketing_agree=marketing, it_agree=it)
    fourteen = held(deps, 3, marketing_agree=13, it_agree=10)  # +15 against +5: wider by 10
    assert not alert(deps, fourteen)

    set_gap(deps, 10)  # the setting is the workspace's
    assert alert(deps, fourteen).gaps[0].widened_by == 10.0


@pytest.mark.usefixtures("team")
def test_a_gap_that_turns_round_without_widening_does_not_alert(deps: Deps) -> None:
    held(deps, 0, marketing_agree=16, it_agree=10)  # +30
    flipped = held(deps, 1, marketing_agree=10, it_agree=16)  # -30: as wide, the other way
    assert not alert(deps, flipped)
    wider = held(deps, 2, marketing_agree=4, it_agree=16)  # -60, against an average of 0
    assert alert(deps, wider).gaps[0].gap == -60.0


@pytest.mark.usefixtures("team")
def test_the_first_pulse_has_nothing_to_compare_with(deps: Deps) -> None:
    first = held(deps, 0, marketing_agree=20, it_agree=0)
    assert not alert(deps, first)


def test_a_hidden_side_never_sets_off_the_alert(deps: Deps) -> None:
    """Two IT answers, all "strongly" one way: a gap of 100 points nobody may see."""
    seed(deps, marketing=MARKETING, it=IT)
    held(deps, 0, marketing_agree=10, it_agree=10)
    few = held(deps, 1, marketing_agree=20, it_agree=0, it=IT[:2])
    with deps.session_factory() as session:
        shown = pulse.results(session=session, workspace_id=WS, poll_id=few.id)
    assert shown.questions[0].gap is None  # what the results show: nothing
    assert alert(deps, few).gaps == ()


def test_hidden_pulses_do_not_count_in_the_average(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=IT)
    held(deps, 0, marketing_agree=10, it_agree=10)  # 0, shown
    held(deps, 1, marketing_agree=20, it_agree=0, it=IT[:2])  # hidden
    held(deps, 2, marketing_agree=20, it_agree=0, it=IT[:2])  # hidden
    held(deps, 3, marketing_agree=12, it_agree=10)  # +10, shown
    latest = held(deps, 4, marketing_agree=18, it_agree=10)  # +40
    gap = alert(deps, latest).gaps[0]
    # The last three gaps shown: +10 and 0 (no third); the hidden two are left out.
    assert (gap.average, gap.pulses, gap.widened_by) == (5.0, 2, 35.0)


def test_a_side_whose_response_rate_falls_below_the_share_alerts_once(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=IT)
    held(deps, 0, marketing_agree=10, it_agree=10)  # everyone answers
    fell = held(deps, 1, marketing_agree=10, it_agree=3, it=IT[:5])  # IT: 5 of 20, 25%
    found = alert(deps, fell)
    assert found.gaps == ()  # 50% vs 60% agree: within 15 of the +0 before
    (rate,) = found.rates
    assert (rate.side, rate.rate, rate.respondents, rate.invited, rate.previous) == (
        "it",
        25.0,
        5,
        20,
        100.0,
    )
    still_low = held(deps, 2, marketing_agree=10, it_agree=3, it=IT[:4])
    assert alert(deps, still_low).rates == ()  # told when it fell, not every week after

    with deps.session_factory.begin() as session:
        pulse_alerts.set_rate_share(session=session, workspace_id=WS, share=0)
    held(deps, 3, marketing_agree=10, it_agree=10)
    low_again = held(deps, 4, marketing_agree=10, it_agree=3, it=IT[:4])
    assert alert(deps, low_again).rates == ()  # 0: never


@pytest.mark.usefixtures("team")
def test_planning_makes_one_delivery_per_admin_and_channel_and_never_twice(deps: Deps) -> None:
    seed(deps, OTHER_WS)
    with deps.session_factory.begin() as session:
        for admin in ("U0ADA", "U0BEN"):
            pulse_alerts.subscribe(session=session, workspace_id=WS, user_ref=admin)
        pulse_alerts.subscribe(session=session, workspace_id=OTHER_WS, user_ref="U0THEIRS")
        pulse_alerts.set_channel(session=session, workspace_id=WS, on=True)
    held(deps, 0, marketing_agree=10, it_agree=10)
    quiet = held(deps, 1, marketing_agree=11, it_agree=10)
    widened = held(deps, 2, marketing_agree=20, it_agree=10)

    def plan(poll: PollView) -> int:
        with deps.session_factory.begin() as session:
            return pulse_alerts.plan(
                session=session, workspace_id=WS, poll_id=poll.id, due_at=SLOT + week(2)
            )

    assert plan(quiet) == 0
    assert plan(widened) == 3
    assert plan(widened) == 0  # a retried close plans nothing more
    with deps.session_factory() as session:
        rows = session.execute(select(Occurrence).where(Occurrence.kind == "pulse.alert")).scalars()
        assert sorted((o.workspace_id, o.recipient_ref, o.payload["poll_id"]) for o in rows) == [
            (WS, "", widened.id),
            (WS, "U0ADA", widened.id),
            (WS, "U0BEN", widened.id),
        ]


@pytest.mark.usefixtures("team")
def test_an_open_pulse_or_another_workspaces_pulse_has_no_alert(deps: Deps) -> None:
    seed(deps, OTHER_WS, marketing=MARKETING, it=IT)
    held(deps, 0, marketing_agree=10, it_agree=10)
    with deps.session_factory.begin() as session:
        still_open, _ = pulse.open_weekly(
            session=session, workspace_id=WS, slot=SLOT + week(1), now=SLOT, open_for=OPEN_FOR
        )
    assert not alert(deps, still_open)
    theirs = held(deps, 0, marketing_agree=20, it_agree=0, workspace_id=OTHER_WS)
    with pytest.raises(pulse.PollNotFound):
        alert(deps, theirs)


@pytest.mark.parametrize("points", [0, 101])
def test_a_gap_setting_out_of_range_is_refused(deps: Deps, points: int) -> None:
    seed(deps)
    with pytest.raises(Invalid, match="1 to 100"):
        set_gap(deps, points)
    with deps.session_factory() as session:
        assert pulse_alerts.settings(session=session, workspace_id=WS).gap_points == 15


@pytest.mark.parametrize("share", [-1, 100])
def test_a_response_rate_setting_out_of_range_is_refused(deps: Deps, share: int) -> None:
    seed(deps)
    with deps.session_factory.begin() as session, pytest.raises(Invalid, match="0"):
        pulse_alerts.set_rate_share(session=session, workspace_id=WS, share=share)


@pytest.mark.usefixtures("team")
def test_export_me_shows_the_alert_sign_up_and_forget_me_ends_it(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        pulse_alerts.subscribe(session=session, workspace_id=WS, user_ref="U0ADA")
        pulse_alerts.subscribe(session=session, workspace_id=WS, user_ref="U0BEN")
    with deps.session_factory() as session:
        exported = pulse_privacy.export_person(session=session, workspace_id=WS, user_ref="U0ADA")
    assert len(exported["gap_alerts_since"]) == 1
    with deps.session_factory.begin() as session:
        forgotten = pulse_privacy.forget_person(
            session=session, workspace_id=WS, user_ref="U0ADA", secret_key=deps.secret_key
        )
    assert forgotten.counts["pulse gap alert sign-ups"] == 1
    with deps.session_factory() as session:
        assert pulse_alerts.settings(session=session, workspace_id=WS).recipients == ("U0BEN",)
