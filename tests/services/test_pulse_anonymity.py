"""Pulse anonymity attacks: no figure shown, alone or combined, gives a hidden side away.

The scenario from the issue, threshold 3: Marketing 3 answers (shown), IT 1 (hidden),
Other 2 (hidden). The two Other people know their own answers, so if Everyone were shown,
Everyone's sum less Marketing's less their own two would be the lone IT answer.
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np

from bot.commands.pulse import trend_reply
from bot.deps import Deps
from bot.replies import Visibility, block_plain_text
from bot.services import pulse, workspaces
from bot.services.pulse import PollResults, SideStats
from bot.services.pulse_chart import trend_figure
from tests.services.test_pulse import (
    SLOT,
    WS,
    close,
    comment,
    open_poll,
    rendered,
    results,
    seed,
    users,
    vote,
)

MARKETING, IT, OTHER = users("MK", 3), users("IT", 3), users("OT", 3)
LONE_IT = IT[0]
LAST_WEEK = SLOT - timedelta(days=7)
LABELS = {"marketing": "Marketing", "it": "IT", "other": "Other", "overall": "Everyone"}


def scenario_poll(deps: Deps, comments: dict[str, str] | None = None) -> int:
    """This week's closed pulse: Marketing 3, IT 1 and Other 2 answered every question."""
    poll = open_poll(deps, slot=SLOT)
    now = SLOT + timedelta(hours=1)
    answers = {**dict.fromkeys(MARKETING, 4), LONE_IT: 1, OTHER[0]: 5, OTHER[1]: 2}
    for question in range(3):
        for user, value in answers.items():
            vote(deps, poll.id, user, value, question=question, now=now)
    for user, text in (comments or {}).items():
        comment(deps, poll.id, user, text, now=now)
    close(deps, poll.id)
    return poll.id


def everybody_poll(deps: Deps) -> int:
    """Last week's closed pulse, in which three people of every side answered 4."""
    poll = open_poll(deps, slot=LAST_WEEK)
    for question in range(3):
        for user in MARKETING + IT + OTHER:
            vote(deps, poll.id, user, 4, question=question, now=LAST_WEEK + timedelta(hours=1))
    close(deps, poll.id)
    return poll.id


def trend(deps: Deps) -> list[PollResults]:
    with deps.session_factory() as session:
        return pulse.trend(session=session, workspace_id=WS, weeks=12)


def test_everyone_is_hidden_when_it_less_what_others_know_isolates_the_lone_it_answer(
    deps: Deps,
) -> None:
    seed(deps, marketing=MARKETING, it=IT, other=OTHER)
    found = results(deps, scenario_poll(deps))

    for question in found.questions:
        assert question.by_side["marketing"] == SideStats(3, 4.0, 100.0, True)
        assert question.by_side["it"] == SideStats(1, None, None, False)
        assert question.by_side["other"] == SideStats(2, None, None, False)
        assert question.overall == SideStats(6, None, None, False)
    shown = rendered(deps, found)
    assert shown.count("hidden: a side that answered has fewer than 3 answers") == 3
    # Everyone's mean would be 20 / 6: less Marketing's 12 and Other's own 7, IT's 1.
    assert "n=6" not in shown and "mean 3.3" not in shown and "67% agree" not in shown


def test_a_trend_row_and_the_chart_leave_everyone_out_that_week(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=IT, other=OTHER)
    everybody_poll(deps)
    scenario_poll(deps)
    weeks = trend(deps)

    with deps.session_factory() as session:
        workspace = workspaces.get_workspace(session=session, workspace_id=WS)
    reply = trend_reply(weeks, workspace, visibility=Visibility.PRIVATE)
    table = "\n".join(block_plain_text(block) for block in reply.blocks)
    assert "23 Feb: Marketing 100% · IT 100% · Everyone 100%" in table
    assert "02 Mar: Marketing 100% · IT – · Everyone –" in table

    lines = {line.get_label(): line for line in trend_figure(weeks, LABELS).axes[0].get_lines()}
    everyone = list(np.asarray(lines["Everyone"].get_ydata(), dtype=float))
    assert everyone[0] == 100.0 and math.isnan(everyone[1])
    assert list(np.asarray(lines["Marketing"].get_ydata(), dtype=float)) == [100.0, 100.0]


def test_the_change_since_last_week_is_not_shown_for_everyone_while_a_side_is_hidden(
    deps: Deps,
) -> None:
    seed(deps, marketing=MARKETING, it=IT, other=OTHER)
    everybody_poll(deps)
    found = results(deps, scenario_poll(deps))

    assert found.previous is not None and found.previous.questions[0].overall.shown
    assert found.change(0, "marketing") == 0.0
    # Last week's Everyone was 100%, so the change would give this week's Everyone away.
    assert [found.change(q, "overall") for q in range(3)] == [None, None, None]
    assert "-33 pts" not in rendered(deps, found)


def test_the_lone_it_comment_is_not_shown_while_it_is_hidden(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=IT, other=OTHER)
    notes = {user: f"Marketing note {n}" for n, user in enumerate(MARKETING)}
    lone = "As the only one from IT: release planning ignored us"
    found = results(deps, scenario_poll(deps, notes | {LONE_IT: lone}))

    assert found.comments == ["Marketing note 0", "Marketing note 1", "Marketing note 2"]
    shown = rendered(deps, found)
    assert "Marketing note 1" in shown
    assert "release planning" not in shown


def test_a_hidden_sides_comments_do_not_make_up_the_three_comments_needed(deps: Deps) -> None:
    seed(deps, marketing=MARKETING, it=IT, other=OTHER)
    notes = {MARKETING[0]: "Shared planning helped", MARKETING[1]: "Briefs came late"}
    found = results(deps, scenario_poll(deps, notes | {LONE_IT: "Only IT voice here"}))

    assert found.comments == []  # Marketing's two alone are too few to show
    assert "Comments" not in rendered(deps, found)
