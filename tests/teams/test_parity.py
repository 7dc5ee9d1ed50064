"""What Teams users meet where Teams differs: help that lists only what works there, a
side sync that says why it is not there, references forgotten when bridgebot is removed,
and roster lookups made once per team."""

from __future__ import annotations

from bot.deps import Deps
from bot.router import OnlyOn
from tests.teams.conftest import ADMIN, ALICE, Teams, card_text


def test_teams_help_lists_only_what_works_in_teams(teams: Teams, teams_deps: Deps) -> None:
    (answer,) = teams.say("help", ALICE)
    shown = card_text(answer.card)
    commands = teams_deps.router.commands()
    slack_only = [
        line
        for command in commands
        for line in command.help_lines
        if isinstance(line, OnlyOn) and "teams" not in line.platforms
    ]
    assert "/bridge sync: set sides from the Marketing and IT user groups now (admins)" in (
        slack_only
    )
    for line in slack_only:
        assert line not in shown
    # Everything else each command declares is there, Explain jargon included.
    for command in commands:
        for shown_line in command.help_for("teams"):
            assert shown_line in shown, shown_line
    assert "Explain jargon" in shown


def test_side_sync_in_teams_says_why_it_is_not_there(teams: Teams) -> None:
    (answer,) = teams.say("bridge sync", ADMIN)
    assert card_text(answer.card).startswith(
        "Side sync reads Slack user groups, which this platform does not have: "
        "everyone chooses their side with /bridge side marketing|it|other."
    )
