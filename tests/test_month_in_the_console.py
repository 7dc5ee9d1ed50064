"""A month in the console: twelve people, six a side, through four simulated weeks of
stand-ups, wins, challenges, pulses, a quick poll and the glossary, and what each saw."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.deps import Deps
from bot.models import Person
from tests.clock import Clock
from tests.console_driver import ConsoleDriver, button_number

START = datetime(2030, 3, 2, 9, 0, tzinfo=UTC)  # a Saturday
MARKETING = ["mia", "leo", "zoe", "omar", "ines", "felix"]  # mia runs the console: the admin
IT = ["ava", "noah", "yuki", "ben", "sofia", "arjun"]


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def answer_pulse(console: ConsoleDriver, person: str, choices: tuple[str, str, str]) -> None:
    """As `person`, click one point of each of the three statements in their pulse DM."""
    shown = console.type(f":as {person}")
    assert "Weekly pulse: how did Marketing and IT work together this week?" in shown
    for question, label in enumerate(choices, start=1):
        shown = console.type(button_number(shown, label, question))
    assert "You answered 3 of 3." in shown


def answer_standup(console: ConsoleDriver, person: str, answers: tuple[str, str, str]) -> str:
    """As `person`, open the stand-up's questions from their inbox and answer them."""
    inbox = console.type(f":as {person}")
    console.type(button_number(inbox, "Answer"))
    for answer in answers[:-1]:
        assert console.type(answer) == ""  # the next question is asked
    thanks = console.type(answers[-1])
    assert "Thanks! Your answers for Joint stand-up are in" in thanks
    return inbox


def fill(console: ConsoleDriver, first: str) -> str:
    """Type `first` into a form, then keep every other field (Enter) until it is done."""
    printed = console.type(first)
    for _field in range(20):
        if printed.strip():
            return printed
        printed = console.type("")
    raise AssertionError("the form never finished")


@pytest.mark.slow  # a simulated month, driven line by line: several seconds
def test_a_month_in_the_console(console: ConsoleDriver, deps: Deps) -> None:
    # -- Saturday: the team, the shared channel and a joint async stand-up ----------------
    for person in MARKETING[1:]:
        assert f"You are @{person} (Marketing)." in console.type(f":as {person} marketing")
    for person in IT:
        assert f"You are @{person} (IT)." in console.type(f":as {person} it")
    assert "You are @mia (Marketing, admin)." in console.type(":as mia marketing")
    console.type("/bridge channel #marketing-it")
    console.type("/standup")
    for value in ("Joint stand-up", "#marketing-it", "mon,wed,fri", "09:30", "", "async"):
        assert console.type(value) == ""
    created = fill(console, "")
    assert "Created stand-up 1: Joint stand-up." in created
    assert "everyone on both sides · next Mon 04 Mar 09:30 UTC" in created
    # Wednesday 13 March is a public holiday.
    assert "No Joint stand-up on Wednesday 13 March 2030" in console.type(
        "/standup skip 1 2030-03-13"
    )

    # -- Week 1: the stand-up's questions reach each person's own inbox ---------------------
    console.type(":advance 2d")
    fired = console.type(":advance 30m")
    assert "[Mon 04 Mar 09:15 · posted to marketing-it]" in fired
    assert "[a message for @leo: `:as leo` to read it]" in fired
    leo_inbox = answer_standup(
        console, "leo", ("Launch email scheduled", "Tracking is late", "A date for the form fix")
    )
    assert leo_inbox.count("[Mon 04 Mar 09:30 · direct message]") == 1
    answer_standup(console, "zoe", ("Webinar deck ready", "", "Someone to explain the warehouse"))
    ava_inbox = answer_standup(
        console, "ava", ("Page speed up 30%", "Launch dates reach us late", "Dates a month ahead")
    )
    assert "Launch email scheduled" not in ava_inbox  # leo's answers are his own
    answer_standup(console, "noah", ("CRM sync fixed", "", ""))

    # At 10:00 the weekly pulse goes to everyone with a side; at 11:30 the digest.
    console.type(":as mia")
    fired = console.type(":advance 2h")
    digest = fired[fired.index("== Joint stand-up — Monday 04 March ==") :]
    marketing, it = digest.index("\nMarketing\n"), digest.index("\nIT\n")
    assert marketing < digest.index("@leo") < digest.index("@zoe") < it
    assert it < digest.index("@ava") < digest.index("@noah")
    assert "A win to share: Page speed up 30%" in digest
    missing = re.search(r"\(Didn't answer: (.*)\)", digest)
    assert missing is not None
    assert set(missing[1].split(", ")) == {
        f"@{p}" for p in MARKETING + IT if p not in {"leo", "zoe", "ava", "noah"}
    }

    # Marketing does not feel the collaboration yet; IT does.
    for person in MARKETING[1:5]:
        answer_pulse(console, person, ("Disagree", "Disagree", "Disagree"))
    for person in IT[:4]:
        answer_pulse(console, person, ("Agree", "Agree", "Strongly agree"))

    # A win from IT, celebrated by Marketing by typing; a challenge from Marketing that
    # IT offers to help with, told to its author alone, who resolves it.
    console.type(":as ava")
    posted = console.type("/win Shipped the faster sign-up form")
    win = re.search(r"/win celebrate (\d+)", posted)
    assert win is not None and "Win from @ava (IT)" in posted
    console.type(":as leo")
    assert f"You are celebrating win {win[1]}." in console.type(f"/win celebrate {win[1]}")
    console.type(":as zoe")
    posted = console.type("/challenge Our attribution report double-counts leads")
    challenge = re.search(r"/challenge help (\d+)", posted)
    assert challenge is not None
    console.type(":as noah")
    console.type(f"/challenge help {challenge[1]}")
    zoe = console.type(":as zoe")
    assert "@noah from IT can help with your challenge" in zoe
    assert f"Challenge {challenge[1]} is marked resolved." in console.type(
        f"/challenge resolve {challenge[1]}"
    )
    assert "can help with your challenge" not in console.type(":as ava")

    # Each side looks up the other's words; the admin edits a definition everyone then sees.
    assert "Customer acquisition cost" in console.type("/jargon CAC")
    console.type(":as mia")
    console.type("/jargon edit API")
    assert console.type("") == ""  # the term's name is kept
    assert console.type("") == ""  # and its other names
    fill(console, "How one program asks another for data or actions.")
    console.type(":as leo")
    assert "How one program asks another for data or actions." in console.type("/jargon API")

    # Wednesday 10:00: the pulse closes and its results show the gap.
    fired = console.type(":advance 2d")
    results = fired[fired.index("== Pulse results — 04 Mar 2030 ==") :]
    assert "Marketing: 0% agree · mean 2.0 · n=4" in results
    assert "IT: 100% agree" in results
    assert "Perception gap: -100 points (Marketing minus IT)" in results

    # -- Week 2: a second pulse, closer; a quick poll; the holiday passes quietly ------------
    console.type(":as mia")
    console.type(":advance 4d22h30m")  # Monday 11 March, 10:00
    for person in MARKETING[1:4]:
        answer_pulse(console, person, ("Agree", "Agree", "Agree"))
    answer_pulse(console, "ines", ("Neutral", "Agree", "Agree"))
    for person in IT[:4]:
        answer_pulse(console, person, ("Agree", "Agree", "Agree"))
    console.type(":as yuki")
    poll = console.type("/pulse ask Lunch on Friday? | Pizza | Salad")
    voted = console.type(button_number(poll, "Pizza"))
    assert "█" * 10 + " 1 (100%) Pizza" in voted and "1 vote" in voted

    console.type(":as mia")
    fired = console.type(":advance 3d")  # to Thursday 14 March
    assert "Wed 13 Mar 09:" not in fired and "Wednesday 13 March" not in fired
    assert "== Joint stand-up — Monday 11 March ==" in fired
    assert "== Pulse results — 11 Mar 2030 ==" in fired
    assert "Perception gap: -25 points (Marketing minus IT)" in fired  # question 1

    # Felix leaves: forget-me, after which no digest names him.
    console.type(":as felix")
    asked = console.type("/bridge forget-me")
    assert "Done. bridgebot has forgotten you here." in console.type(
        button_number(asked, "Forget me")
    )

    # -- Weeks 3 and 4 ---------------------------------------------------------------------
    console.type(":as mia")
    later = console.type(":advance 1w") + console.type(":advance 1w")
    assert "== Joint stand-up — Monday 25 March ==" in later
    assert "@felix" not in later
    trend = console.type("/pulse results")
    assert "04 Mar: Marketing 0% · IT 100%" in trend
    assert "11 Mar: Marketing 92% · IT 100%" in trend  # 75%, 100% and 100% averaged

    # What each person saw: the pulse went to the twelve (then eleven) with a side; nobody
    # read another's messages; felix is gone from the workspace.
    with deps.session_factory() as session:
        people = set(session.execute(select(Person.user_ref)).scalars())
    assert people == set(MARKETING + IT) - {"felix"}
    transcript = "\n".join(console.transcript)
    assert "You are @mia (Marketing, admin)." in transcript
    assert "You are @leo (Marketing, admin)" not in transcript
