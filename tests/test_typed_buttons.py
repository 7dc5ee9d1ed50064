"""Every button has a typed form, for where a click is not at hand (the console, Teams):
each acts as the person who types it, as the button would for the person who clicks."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.deps import Deps
from bot.models import BoardPost, ChallengeHelper
from bot.replies import Paragraph, Reply, plain_text
from bot.router import Caller, RequestScope, parse_line, run_command
from bot.services import board

NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)
WS = "T1"


def caller(user_ref: str, *, admin: bool = False) -> Caller:
    return Caller(workspace_id=WS, user_ref=user_ref, platform="teams", is_admin=admin)


ADMIN = caller("UADMIN", admin=True)
ANA, BOB, CAT = caller("UANA"), caller("UBOB"), caller("UCAT")


def run(deps: Deps, who: Caller, line: str) -> Reply:
    name, args = parse_line(line)
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=who,
        now=NOW,
        default_timezone="UTC",
        channel_ref="C0SHARED",
        resolve_channel=lambda value: "C0SHARED" if value == "#marketing-it" else None,
    )
    return run_command(scope, name, args)


def said(reply: Reply) -> str:
    return reply.fallback


def post_ids(deps: Deps) -> list[int]:
    with deps.session_factory() as session:
        return list(session.execute(select(BoardPost.id).order_by(BoardPost.id)).scalars())


def celebrators(deps: Deps, post_id: int) -> tuple[str, ...]:
    with deps.session_factory() as session:
        return board.get_post(session=session, workspace_id=WS, post_id=post_id).celebrators


def board_with_a_win_and_a_challenge(deps: Deps) -> tuple[int, int]:
    run(deps, ADMIN, "/bridge channel #marketing-it")
    run(deps, ANA, "/bridge side marketing")
    run(deps, BOB, "/bridge side it")
    assert not run(deps, ANA, "/win Launched the spring campaign").is_error
    assert not run(deps, ANA, "/challenge Lead data arrives a day late").is_error
    win, challenge = post_ids(deps)
    return win, challenge


def test_a_win_is_celebrated_and_taken_back_by_typing(deps: Deps) -> None:
    win, _ = board_with_a_win_and_a_challenge(deps)

    first = run(deps, BOB, f"/win celebrate {win}")
    assert said(first) == f"You are celebrating win {win}. Type the same again to take it back."
    assert [o.refresh_key for o in first.outbox] == [f"board:{win}"]  # its message updates
    assert run(deps, CAT, f"/win celebrate #{win}").fallback.startswith("You are celebrating")
    assert celebrators(deps, win) == ("UBOB", "UCAT")

    assert said(run(deps, BOB, f"/win celebrate {win}")) == f"You no longer celebrate win {win}."
    assert celebrators(deps, win) == ("UCAT",)
    assert post_ids(deps) == [win, win + 1]  # nothing was posted as a win


def test_a_challenge_gets_help_and_is_resolved_by_typing(deps: Deps) -> None:
    _, challenge = board_with_a_win_and_a_challenge(deps)

    offered = run(deps, BOB, f"/challenge help {challenge}")
    assert said(offered) == "Thanks! @UANA will be told you can help."
    with deps.session_factory() as session:
        helpers = session.execute(select(ChallengeHelper.helper_ref)).scalars().all()
    assert helpers == ["UBOB"]
    # Only the author or a helper closes it, as with the button.
    refused = run(deps, CAT, f"/challenge resolve {challenge}")
    assert refused.is_error
    assert "Only the author or someone helping" in said(refused)

    done = run(deps, BOB, f"/challenge resolve {challenge}")
    assert said(done) == f"Challenge {challenge} is marked resolved."
    with deps.session_factory() as session:
        status = session.get(BoardPost, challenge)
        assert status is not None and status.status == board.RESOLVED
    assert run(deps, ANA, f"/challenge resolve {challenge}").is_error  # already resolved


def test_a_typed_button_on_the_wrong_post_is_refused_and_changes_nothing(deps: Deps) -> None:
    win, challenge = board_with_a_win_and_a_challenge(deps)

    assert said(run(deps, BOB, f"/win celebrate {challenge}")) == "Only wins can be celebrated."
    assert said(run(deps, BOB, f"/challenge help {win}")) == "Only challenges take helpers."
    own = run(deps, ANA, f"/challenge help {challenge}")
    assert said(own) == "That is your own challenge; others can offer help."
    gone = run(deps, BOB, "/win celebrate 999999")
    assert said(gone).startswith("That post no longer exists.")
    bad = run(deps, BOB, "/win celebrate #x")
    assert bad.is_error and "for example /win celebrate 3" in said(bad)
    assert celebrators(deps, win) == ()
    assert post_ids(deps) == [win, challenge]


def test_another_workspaces_post_cannot_be_reached_by_its_number(deps: Deps) -> None:
    win, challenge = board_with_a_win_and_a_challenge(deps)
    stranger = Caller(workspace_id="T2", user_ref="UEVE", platform="teams")

    assert run(deps, stranger, f"/win celebrate {win}").is_error
    assert run(deps, stranger, f"/challenge help {challenge}").is_error
    assert celebrators(deps, win) == ()


def test_words_after_the_sub_command_are_still_a_post(deps: Deps) -> None:
    board_with_a_win_and_a_challenge(deps)

    run(deps, BOB, "/win celebrate 10 years of uptime")
    run(deps, BOB, "/challenge resolve conflicts in the shared calendar")
    with deps.session_factory() as session:
        texts = session.execute(select(BoardPost.text).order_by(BoardPost.id)).scalars().all()
    assert texts[2:] == [
        "celebrate 10 years of uptime",
        "resolve conflicts in the shared calendar",
    ]


def test_posts_and_lists_show_the_number_to_type(deps: Deps) -> None:
    win, challenge = board_with_a_win_and_a_challenge(deps)

    wins = run(deps, BOB, "/win list")
    listing = wins.blocks[1]
    assert isinstance(listing, Paragraph)
    assert plain_text(listing.text).startswith(f"No. {win} · ")
    challenges = run(deps, BOB, "/challenge list")
    assert f"No. {challenge} · " in said(challenges)
    helps = run(deps, BOB, "/challenge help")
    assert "/challenge help N" in said(helps)


def test_jargon_explain_lists_the_terms_in_typed_text(deps: Deps) -> None:
    reply = run(deps, BOB, "/jargon explain Our CAC rose after the SEO <!channel> work")

    assert not reply.is_error
    lines = said(reply).splitlines()
    assert lines[0].startswith("Jargon in this message (")
    assert any(line.startswith("Customer acquisition cost (CAC) — ") for line in lines)
    assert reply.visibility.value == "private"  # just for the person who asked
    assert said(run(deps, BOB, "/jargon explain nothing to see")) == (
        "No glossary terms in that message."
    )
    empty = run(deps, BOB, "/jargon explain")
    assert empty.is_error and "/jargon explain our CAC rose" in said(empty)


def test_jargon_share_posts_the_card_as_the_one_who_typed_it(deps: Deps) -> None:
    shared = run(deps, BOB, "/jargon share cac")

    assert shared.visibility.value == "channel"
    assert said(shared).splitlines()[0] == "Customer acquisition cost"
    assert "Shared by @UBOB · /jargon Customer acquisition cost" in said(shared)
    missing = run(deps, BOB, "/jargon share xyzzy")
    assert missing.is_error and said(missing).startswith("There is no term “xyzzy” to share.")
    # A term whose name starts with "share" is still looked up.
    assert said(run(deps, BOB, "/jargon share of voice")).splitlines()[0] == "Share of voice"
