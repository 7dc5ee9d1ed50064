"""The wins & challenges board: limits, celebrations under concurrency, help, resolve, numbers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.commands import board as board_commands
from bot.db import make_engine, make_session_factory
from bot.deps import Deps
from bot.errors import Invalid
from bot.models import Base, BoardPost, Celebration, Side
from bot.replies import Buttons, Visibility
from bot.services import board, people, workspaces
from bot.services.board import BoardRefused, PostNotFound, PostView
from tests.conftest import empty_tables

WS = "T0BOARD"
OTHER_WS = "T0OTHERCO"
CHANNEL = "C0SHARED"
# Friday 6 March 2026, 16:00 UTC: the default digest time of a UTC workspace.
FRIDAY = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
MONDAY = FRIDAY - timedelta(days=4)

ANN, MAX = "U0ANN", "U0MAX"  # marketing
IAN, IDA = "U0IAN", "U0IDA"  # IT
OLA = "U0OLA"  # other
STRANGER = "U0STRANGER"
T = TypeVar("T")

SIDES = {ANN: Side.MARKETING, MAX: Side.MARKETING, IAN: Side.IT, IDA: Side.IT, OLA: Side.OTHER}


@pytest.fixture
def deps(module_deps: Deps) -> Deps:
    """Empty tables, two workspaces, and people on each side in the first one."""
    with module_deps.session_factory.begin() as session:
        empty_tables(session)
        for workspace_id in (WS, OTHER_WS):
            workspaces.ensure_workspace(
                session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
            )
        for user, side in SIDES.items():
            people.set_side(session=session, workspace_id=WS, user_ref=user, side=side)
    module_deps.router.known_workspaces.clear()
    return module_deps


def in_tx(deps: Deps, work: Callable[[Session], T]) -> T:
    with deps.session_factory.begin() as session:
        return work(session)


def create(
    deps: Deps,
    kind: str,
    author: str,
    text: str = "Shipped the pricing page together",
    *,
    now: datetime = MONDAY,
    workspace_id: str = WS,
) -> PostView:
    return in_tx(
        deps,
        lambda s: board.create_post(
            session=s,
            workspace_id=workspace_id,
            kind=kind,
            author_ref=author,
            text=text,
            channel_ref=CHANNEL,
            now=now,
        ),  # fmt: skip
    )


def celebrate(deps: Deps, post_id: int, user: str, *, workspace_id: str = WS) -> bool:
    return in_tx(
        deps,
        lambda s: board.toggle_celebration(
            session=s, workspace_id=workspace_id, post_id=post_id, user_ref=user, now=MONDAY
        ),
    )


def helps(
    deps: Deps, post_id: int, helper: str, *, now: datetime = MONDAY, workspace_id: str = WS
) -> PostView:
    return in_tx(
        deps,
        lambda s: board.offer_help(
            session=s, workspace_id=workspace_id, post_id=post_id, helper_ref=helper, now=now
        ),
    )


def resolve(deps: Deps, post_id: int, user: str, *, workspace_id: str = WS) -> PostView:
    return in_tx(
        deps,
        lambda s: board.resolve(
            session=s, workspace_id=workspace_id, post_id=post_id, user_ref=user, now=MONDAY
        ),
    )


def get(deps: Deps, post_id: int, *, workspace_id: str = WS) -> PostView:
    return in_tx(
        deps, lambda s: board.get_post(session=s, workspace_id=workspace_id, post_id=post_id)
    )


def count(deps: Deps, model: type[Base]) -> int:
    return in_tx(deps, lambda s: s.execute(select(func.count()).select_from(model)).scalar_one())


def post_count(deps: Deps) -> int:
    return count(deps, BoardPost)


# -- creating and validating ---------------------------------------------------------------


def test_a_win_is_stored_with_the_authors_side_and_trimmed_text(deps: Deps) -> None:
    view = create(deps, "win", IAN, "  Cut the landing page load time in half  ")
    assert (view.kind, view.author_ref, view.author_side) == ("win", IAN, Side.IT)
    assert view.text == "Cut the landing page load time in half"
    assert (view.status, view.channel_ref, view.source) == (board.OPEN, CHANNEL, "command")
    assert view.celebrators == () and view.helpers == ()
    assert get(deps, view.id) == view


def test_the_side_is_a_snapshot_taken_when_posting(deps: Deps) -> None:
    view = create(deps, "challenge", ANN)
    in_tx(deps, lambda s: people.set_side(session=s, workspace_id=WS, user_ref=ANN, side=Side.IT))
    assert get(deps, view.id).author_side is Side.MARKETING
    assert create(deps, "win", ANN).author_side is Side.IT


def test_someone_without_a_side_can_post(deps: Deps) -> None:
    assert create(deps, "win", STRANGER).author_side is None


@pytest.mark.parametrize("kind", ["win", "challenge"])
@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_is_refused_and_nothing_is_stored(deps: Deps, kind: str, text: str) -> None:
    with pytest.raises(Invalid, match=f"Write your {kind} after the command"):
        create(deps, kind, ANN, text)
    assert post_count(deps) == 0


def test_text_over_2000_characters_is_refused_and_2000_is_fine(deps: Deps) -> None:
    with pytest.raises(Invalid, match="2,001 characters.*2,000"):
        create(deps, "win", ANN, "x" * 2001)
    assert post_count(deps) == 0
    assert len(create(deps, "challenge", ANN, "y" * 2000).text) == 2000
    assert post_count(deps) == 1


def test_a_10000_character_challenge_is_refused(deps: Deps) -> None:
    with pytest.raises(Invalid, match="10,000 characters"):
        create(deps, "challenge", IAN, "z" * 10_000)
    assert post_count(deps) == 0


def test_user_text_is_stored_as_typed(deps: Deps) -> None:
    typed = "Thanks <!channel> and <@U123>, see <https://x|y> & more"
    assert get(deps, create(deps, "win", ANN, typed).id).text == typed


# -- celebrating -------------------------------------------------------------------------


def test_celebrate_toggles_and_counts_unique_people(deps: Deps) -> None:
    win = create(deps, "win", ANN)
    assert celebrate(deps, win.id, IAN) is True
    assert celebrate(deps, win.id, IDA) is True
    assert get(deps, win.id).celebrators == (IAN, IDA)

    assert celebrate(deps, win.id, IAN) is False  # a second click takes it back
    assert get(deps, win.id).celebrators == (IDA,)
    assert celebrate(deps, win.id, IAN) is True
    assert sorted(get(deps, win.id).celebrators) == [IAN, IDA]


def test_challenges_cannot_be_celebrated(deps: Deps) -> None:
    challenge = create(deps, "challenge", ANN)
    with pytest.raises(BoardRefused, match="Only wins"):
        celebrate(deps, challenge.id, IAN)
    assert get(deps, challenge.id).celebrators == ()


def run_together(workers: list[Callable[[], None]], timeout: float = 30.0) -> None:
    """Start every worker at the same moment; re-raise the first failure."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout)
            work()
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(work,), daemon=True) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a click never finished"
    if errors:
        raise errors[0]


def test_20_concurrent_celebrations_then_20_withdrawals_count_exactly(deps: Deps) -> None:
    """Twenty people click at once, on two bot instances (two engines); then all again."""
    win = create(deps, "win", ANN)
    second_engine = make_engine(deps.settings.database_url)
    factories = [deps.session_factory, make_session_factory(second_engine)]
    clickers = [f"U0FAN{n:02d}" for n in range(20)]
    results: list[bool] = []

    def click(index: int, user: str) -> Callable[[], None]:
        def work() -> None:
            with factories[index % 2].begin() as session:
                results.append(
                    board.toggle_celebration(
                        session=session,
                        workspace_id=WS,
                        post_id=win.id,
                        user_ref=user,
                        now=MONDAY,
                    )  # fmt: skip
                )

        return work

    try:
        run_together([click(i, user) for i, user in enumerate(clickers)])
        assert results == [True] * 20
        view = get(deps, win.id)
        assert sorted(view.celebrators) == clickers
        assert in_tx(deps, lambda s: board.celebration_count(session=s, post_id=win.id)) == 20

        results.clear()
        run_together([click(i, user) for i, user in enumerate(clickers)])
        assert results == [False] * 20
        assert get(deps, win.id).celebrators == ()
        assert in_tx(deps, lambda s: board.celebration_count(session=s, post_id=win.id)) == 0
    finally:
        second_engine.dispose()


# -- helping and resolving ---------------------------------------------------------------


def test_offering_help_records_the_helper_and_moves_to_in_progress(deps: Deps) -> None:
    challenge = create(deps, "challenge", ANN, "Campaign data arrives a day late")
    view = helps(deps, challenge.id, IAN)
    assert view.status == board.IN_PROGRESS
    assert view.helpers == ((IAN, Side.IT),)

    second = helps(deps, challenge.id, OLA)
    assert second.status == board.IN_PROGRESS
    assert second.helpers == ((IAN, Side.IT), (OLA, Side.OTHER))


def test_help_with_ones_own_challenge_or_twice_is_refused(deps: Deps) -> None:
    challenge = create(deps, "challenge", ANN)
    with pytest.raises(BoardRefused, match="your own challenge"):
        helps(deps, challenge.id, ANN)
    assert get(deps, challenge.id).status == board.OPEN

    helps(deps, challenge.id, IAN)
    with pytest.raises(BoardRefused, match="already helping"):
        helps(deps, challenge.id, IAN)
    assert get(deps, challenge.id).helpers == ((IAN, Side.IT),)


def test_wins_take_no_helpers(deps: Deps) -> None:
    win = create(deps, "win", ANN)
    with pytest.raises(BoardRefused, match="Only challenges"):
        helps(deps, win.id, IAN)
    with pytest.raises(BoardRefused, match="Only challenges"):
        resolve(deps, win.id, ANN)


@pytest.mark.parametrize("closer", [ANN, IAN])
def test_the_author_or_a_helper_can_resolve(deps: Deps, closer: str) -> None:
    challenge = create(deps, "challenge", ANN)
    helps(deps, challenge.id, IAN)
    view = resolve(deps, challenge.id, closer)
    assert view.status == board.RESOLVED
    with deps.session_factory() as session:
        row = session.get(BoardPost, challenge.id)
        assert row is not None and row.resolved_by == closer and row.resolved_at == MONDAY
    with pytest.raises(BoardRefused, match="already resolved"):
        resolve(deps, challenge.id, closer)
    with pytest.raises(BoardRefused, match="already resolved"):
        helps(deps, challenge.id, IDA)


def test_the_author_can_resolve_a_challenge_nobody_helped_with(deps: Deps) -> None:
    challenge = create(deps, "challenge", IAN)
    assert resolve(deps, challenge.id, IAN).status == board.RESOLVED


def test_a_stranger_cannot_resolve(deps: Deps) -> None:
    challenge = create(deps, "challenge", ANN)
    helps(deps, challenge.id, IAN)
    for outsider in (STRANGER, IDA, MAX):
        with pytest.raises(BoardRefused, match="Only the author or someone helping"):
            resolve(deps, challenge.id, outsider)
    assert get(deps, challenge.id).status == board.IN_PROGRESS


# -- lists -------------------------------------------------------------------------------


def test_recent_lists_the_last_ten_newest_first_and_only_open(deps: Deps) -> None:
    for n in range(12):
        create(deps, "win", ANN, f"win {n}", now=MONDAY + timedelta(minutes=n))
    challenges = [
        create(deps, "challenge", IAN, f"challenge {n}", now=MONDAY + timedelta(minutes=n))
        for n in range(3)
    ]
    helps(deps, challenges[1].id, ANN)
    resolve(deps, challenges[2].id, IAN)

    wins = in_tx(deps, lambda s: board.recent(session=s, workspace_id=WS, kind="win"))
    assert [w.text for w in wins] == [f"win {n}" for n in range(11, 1, -1)]
    every = in_tx(deps, lambda s: board.recent(session=s, workspace_id=WS, kind="challenge"))
    assert [c.text for c in every] == ["challenge 2", "challenge 1", "challenge 0"]
    still_open = in_tx(
        deps, lambda s: board.recent(session=s, workspace_id=WS, kind="challenge", only_open=True)
    )
    assert [c.text for c in still_open] == ["challenge 1", "challenge 0"]


def test_record_message_keeps_where_the_post_went(deps: Deps) -> None:
    win = create(deps, "win", ANN)
    in_tx(
        deps,
        lambda s: board.record_message(
            session=s,
            workspace_id=WS,
            post_id=win.id,
            channel_ref=CHANNEL,
            message_ref="1700.0001",
            permalink="https://bridge.example/archives/C/p1",
        ),  # fmt: skip
    )
    view = get(deps, win.id)
    assert (view.message_ref, view.permalink) == (
        "1700.0001",
        "https://bridge.example/archives/C/p1",
    )


# -- the week's numbers ------------------------------------------------------------------


def test_week_numbers_count_by_side_help_across_stale_and_top_wins(deps: Deps) -> None:
    day = timedelta(days=1)
    # Wins this week: marketing 2, IT 1, no side 1; the IT one is the most celebrated.
    quiet = create(deps, "win", ANN, "Quiet win", now=MONDAY)
    loud = create(deps, "win", IAN, "Loud win", now=MONDAY + day)
    create(deps, "win", MAX, "Uncelebrated win", now=MONDAY + day)
    middle = create(deps, "win", STRANGER, "Middle win", now=MONDAY + 2 * day)
    for fan in (ANN, MAX, IDA):
        celebrate(deps, loud.id, fan)
    for fan in (IAN, IDA):
        celebrate(deps, middle.id, fan)
    celebrate(deps, quiet.id, IDA)

    # Challenges this week: marketing 2, IT 2.
    mk_by_it = create(deps, "challenge", ANN, "Needs IT", now=MONDAY)
    it_by_mk = create(deps, "challenge", IAN, "Needs marketing", now=MONDAY)
    it_by_it = create(deps, "challenge", IDA, "Within IT", now=MONDAY)
    mk_by_other = create(deps, "challenge", MAX, "Helped by other", now=MONDAY)
    helps(deps, mk_by_it.id, IAN, now=MONDAY + day)
    helps(deps, mk_by_it.id, IDA, now=MONDAY + day)  # a second IT helper counts once
    helps(deps, it_by_mk.id, ANN, now=MONDAY + day)
    helps(deps, it_by_it.id, IAN, now=MONDAY + day)
    helps(deps, mk_by_other.id, OLA, now=MONDAY + day)

    # Older than the week: an open one and an in-progress one are stale, a resolved one is not.
    create(deps, "challenge", MAX, "Old and open", now=FRIDAY - 10 * day)
    stale_helped = create(deps, "challenge", IDA, "Old, being helped", now=FRIDAY - 8 * day)
    helps(deps, stale_helped.id, ANN, now=FRIDAY - 8 * day)  # helped before the week began
    old_done = create(deps, "challenge", ANN, "Old and resolved", now=FRIDAY - 9 * day)
    resolve(deps, old_done.id, ANN)
    create(deps, "win", ANN, "Last week's win", now=FRIDAY - 8 * day)
    create(deps, "win", ANN, "Posted after the digest", now=FRIDAY)  # end is exclusive

    numbers = in_tx(deps, lambda s: board.week_numbers(session=s, workspace_id=WS, end=FRIDAY))
    assert (numbers.start, numbers.end) == (FRIDAY - 7 * day, FRIDAY)
    assert numbers.wins_by_side == {"marketing": 2, "it": 1, "none": 1}
    assert numbers.challenges_by_side == {"marketing": 2, "it": 2}
    assert numbers.helped_across == 2
    across = sorted(p.id for p in numbers.helped_across_examples)
    assert across == sorted([mk_by_it.id, it_by_mk.id])
    assert [p.text for p in numbers.stale_open] == ["Old and open", "Old, being helped"]
    assert [(p.text, len(p.celebrators)) for p in numbers.top_wins] == [
        ("Loud win", 3),
        ("Middle win", 2),
        ("Quiet win", 1),
    ]


def test_help_given_last_week_does_not_count_this_week(deps: Deps) -> None:
    challenge = create(deps, "challenge", ANN, now=FRIDAY - 9 * timedelta(days=1))
    helps(deps, challenge.id, IAN, now=FRIDAY - 8 * timedelta(days=1))
    numbers = in_tx(deps, lambda s: board.week_numbers(session=s, workspace_id=WS, end=FRIDAY))
    assert numbers.helped_across == 0
    assert numbers.challenges_by_side == {}


# -- tenant isolation ----------------------------------------------------------------------


def test_nothing_crosses_workspaces(deps: Deps) -> None:
    win = create(deps, "win", ANN, "Ours")
    challenge = create(deps, "challenge", ANN, "Our challenge")
    create(deps, "win", ANN, "Theirs", workspace_id=OTHER_WS)

    for attempt in (
        lambda: get(deps, win.id, workspace_id=OTHER_WS),
        lambda: celebrate(deps, win.id, IAN, workspace_id=OTHER_WS),
        lambda: helps(deps, challenge.id, IAN, workspace_id=OTHER_WS),
        lambda: resolve(deps, challenge.id, ANN, workspace_id=OTHER_WS),
    ):
        with pytest.raises(PostNotFound):
            attempt()
    assert count(deps, Celebration) == 0
    assert get(deps, challenge.id).status == board.OPEN

    theirs = in_tx(deps, lambda s: board.recent(session=s, workspace_id=OTHER_WS, kind="win"))
    assert [p.text for p in theirs] == ["Theirs"]
    assert theirs[0].author_side is None  # ANN has a side only in the first workspace
    other_numbers = in_tx(
        deps, lambda s: board.week_numbers(session=s, workspace_id=OTHER_WS, end=FRIDAY)
    )
    assert other_numbers.wins_by_side == {"none": 1}
    assert other_numbers.challenges_by_side == {}


def test_a_shared_stand_up_answer_shows_like_any_post_with_its_origin(deps: Deps) -> None:
    view = in_tx(
        deps,
        lambda s: board.create_post(
            session=s,
            workspace_id=WS,
            kind="win",
            author_ref=IAN,
            text="Release notes live",
            channel_ref=CHANNEL,
            now=MONDAY,
            source="standup",
        ),  # fmt: skip
    )
    workspace = in_tx(deps, lambda s: workspaces.get_workspace(session=s, workspace_id=WS))
    message = board_commands.post_message(view, workspace)
    assert message.visibility is Visibility.CHANNEL
    assert message.fallback.splitlines() == [
        "Win from @U0IAN (IT)",
        "Release notes live",
        "Shared from a joint stand-up",
        f"No. {view.id} · /win celebrate {view.id}",  # typed where no button is at hand
    ]
    buttons = [b for block in message.blocks if isinstance(block, Buttons) for b in block.buttons]
    assert [(b.label, b.action_id, b.value) for b in buttons] == [
        ("Celebrate", board_commands.BOARD_CELEBRATE, str(view.id))
    ]
