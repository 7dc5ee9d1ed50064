"""Late answers, edits and the nudge in the console, as four people across a week: the
nudge reaches only who was asked, has not answered and is not away; a late answer and an
edit show the digest again, updated and marked; the round closes when the next starts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.deps import Deps
from bot.models import Occurrence, StandupDigest
from bot.services import standups
from tests.clock import Clock
from tests.console_driver import ConsoleDriver

START = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def joint_standup(console: ConsoleDriver) -> None:
    """mia's async stand-up 1 on Mondays and Wednesdays at 09:30 UTC, digest at 11:30."""
    console.type(":as leo marketing")
    console.type(":as ava it")
    console.type(":as zoe it")
    console.type(":as mia marketing")
    console.type("/bridge channel #marketing-it")
    console.type("/standup")
    for value in ("Joint", "#marketing-it", "mon,wed", "09:30", "UTC", "async"):
        console.type(value)
    printed = ""
    for _field in range(12):  # Enter keeps each remaining field's default: no nudge
        printed = console.type("")
        if "Created stand-up" in printed:
            break
    assert "Created stand-up 1: Joint." in printed and "nudge" not in printed


def test_late_answers_edits_and_the_nudge_in_the_console(
    console: ConsoleDriver, deps: Deps
) -> None:
    joint_standup(console)
    refused = console.type("/standup nudge 1 120")
    assert "! Between 1 and 119 minutes: the nudge goes after the questions" in refused
    assert "! Write a number of minutes" in console.type("/standup nudge 1 soon")
    set_it = console.type("/standup nudge 1 30")
    assert "Joint nudges who has not answered 30 minutes before the digest" in set_it
    assert "async · nudge 30 minutes before the digest" in console.type("/standup list")
    console.type(":as zoe")
    assert "Away Mon 04 Mar 2030" in console.type("/bridge away 2030-03-04")

    console.type(":as leo")
    console.type(":advance 1h30m")  # 09:30: the questions
    assert "== Joint ==" in console.type("/standup answer 1")
    console.type("Launched the <!here> campaign")
    console.type("Tracking is late")
    thanks = console.type("")  # nothing needed from the other side
    assert "you can change them until the next round starts, Wed 06 Mar 09:30 (UTC)" in thanks
    assert "[1] Edit answers" in thanks

    console.type(":as mia")
    nudged = console.type(":advance 1h30m")  # 11:00: the nudge
    assert "A reminder: Joint — Monday 04 March." in nudged  # mia's own, shown at once
    assert "[a message for @ava" in nudged
    assert "[a message for @zoe" not in nudged  # away: not even the weekly pulse
    console.type(":as zoe")
    digest = console.type(":advance 30m")  # 11:30: the digest
    assert "== Joint — Monday 04 March ==" in digest
    assert "(Didn't answer: @ava, @mia)" in digest and "(Away: @zoe)" in digest

    # Ava answers late: the digest is shown again with her answer, marked late.
    ava = console.type(":as ava")
    assert ava.count("A reminder: Joint") == 1
    console.type("/standup answer 1")
    console.type("Fixed the build")
    console.type("")
    late = console.type("")
    assert "now shows your answers, marked as late" in late
    assert "[updated: posted to marketing-it]" in late
    updated = late.split("[updated: posted to marketing-it]", 1)[1]
    assert "@ava (late)\nA win to share: Fixed the build" in updated
    assert "(Didn't answer: @mia)" in updated

    # Leo changes his answers with the Edit button of his thanks: the digest follows.
    console.type(":as leo")
    assert "A reminder" not in console.transcript[-1]
    console.type("/standup answer 1")
    console.type("Launched the campaign and its landing page")
    console.type("")  # the challenge stays as it was
    edited = console.type("")
    assert "marked as edited after the digest" in edited
    updated = edited.split("[updated: posted to marketing-it]", 1)[1]
    assert "@leo (edited after the digest)" in updated
    assert "Launched the campaign and its landing page" in updated and "<!here>" not in updated

    # Wednesday's round starts: Monday's is closed, and /standup answer opens Wednesday's.
    console.type(":as mia")
    console.type(":advance 2d")
    console.type(":as ava")
    assert "Joint — Wednesday 06 March: your answers, please." in console.transcript[-1]
    assert "== Joint ==" in console.type("/standup answer 1")
    console.type("cancel")
    with deps.session_factory() as session:
        digests = (
            session.execute(select(StandupDigest.local_date).order_by(StandupDigest.local_date))
            .scalars()
            .all()
        )
        updates = session.execute(
            select(Occurrence.status).where(Occurrence.kind == standups.DIGEST_UPDATE)
        ).scalars()
        nudges = session.execute(
            select(Occurrence.recipient_ref, Occurrence.payload).where(
                Occurrence.kind == standups.NUDGE_DM
            )
        ).all()
        assert set(updates) == {"sent"}
    mondays = sorted(who for who, payload in nudges if payload["local_date"] == "2030-03-04")
    assert mondays == ["ava", "mia"]  # leo answered, zoe was away
    assert len(nudges) == 2 + 4  # Wednesday's: nobody has answered yet, zoe is back
    # One message per round's digest, updated in place, never posted twice.
    assert [d.isoformat() for d in digests] == ["2030-03-04", "2030-03-06"]
