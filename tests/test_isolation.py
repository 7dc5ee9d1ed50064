"""Tenant isolation: workspace B can't see, change or vote in workspace A's data, ever.

Every command family runs through the neutral router, as each adapter calls it. The
same person (U0SAME) is a member of both workspaces, as on an Enterprise Grid.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.commands.home import build_home
from bot.deps import Deps
from bot.models import (
    BoardPost,
    Celebration,
    ChallengeHelper,
    GlossaryTerm,
    Occurrence,
    Person,
    PulseAnswer,
    PulseComment,
    PulsePoll,
    Standup,
    StandupAnswer,
    StandupSkip,
    WorkspaceSettings,
)
from bot.replies import Buttons, Reply
from bot.router import (
    Caller,
    FormInvalid,
    RequestScope,
    delivery_context,
    parse_line,
    run_action,
    run_command,
    run_form,
    run_in_context,
    run_refresh,
)
from bot.services import pulse
from handlers.slack.slash_text import resolve_channel

NOW = datetime(2030, 3, 6, 12, 0, tzinfo=UTC)  # a Wednesday
A, B = "T0AAAAAA", "T0BBBBBB"
A_ADMIN = Caller(workspace_id=A, user_ref="U0ADMINA", platform="slack", is_admin=True)
A_SAME = Caller(workspace_id=A, user_ref="U0SAME", platform="slack")
B_ADMIN = Caller(workspace_id=B, user_ref="U0ADMINB", platform="slack", is_admin=True)
B_SAME = Caller(workspace_id=B, user_ref="U0SAME", platform="slack")
A_MARKETING = ["U0SAME", "U0AMK1", "U0AMK2"]
A_IT = ["U0AIT1", "U0AIT2", "U0AIT3"]
A_WIN = "A-only win: the spring launch doubled sign-ups"
A_CHALLENGE = "A-only challenge: lead data arrives a day late"


def unit(deps: Deps, caller: Caller) -> RequestScope:
    return RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=caller,
        now=NOW,
        default_timezone="UTC",
        channel_ref="C0HERE",
        resolve_channel=resolve_channel,
    )


def run(deps: Deps, caller: Caller, line: str) -> Reply:
    name, args = parse_line(line)
    return run_command(unit(deps, caller), name, args)


def act(deps: Deps, caller: Caller, action_id: str, value: str) -> Reply:
    return run_action(unit(deps, caller), action_id, value)


def submit(
    deps: Deps, caller: Caller, callback_id: str, values: dict[str, str], metadata: str = ""
) -> Reply:
    return run_form(unit(deps, caller), callback_id, values, metadata)


def shown(reply: Reply) -> str:
    """Everything the reply shows or carries: text, buttons, files and outgoing messages."""
    parts = [reply.fallback]
    for block in reply.blocks:
        if isinstance(block, Buttons):
            parts += [f"{b.label} {b.action_id} {b.value}" for b in block.buttons]
    parts += [attachment.content.decode(errors="replace") for attachment in reply.attachments]
    if reply.form is not None:
        parts += [f"{field.name}={field.initial}" for field in reply.form.fields]
    return "\n".join(parts)


def count(deps: Deps, model: type, *where: Any) -> int:
    with deps.session_factory() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def scalar(deps: Deps, query: Any) -> Any:
    with deps.session_factory() as session:
        return session.execute(query).scalar_one()


@dataclass
class WorkspaceA:
    term_id: int
    win_id: int
    challenge_id: int
    standup_id: int
    answer_id: int
    weekly_poll_id: int
    quick_poll_id: int


TERM_FORM = {
    "name": "Zorblax",
    "aliases": "ZBX",
    "definition": "A-only term: the internal codename for the loyalty programme.",
    "marketing_view": "",
    "it_view": "",
    "example": "",
    "origin": "marketing",
    "related": "",
}


def seed_a(deps: Deps) -> WorkspaceA:
    """Workspace A in use: a shared channel, sides, a term, posts, a stand-up, pulses."""
    assert not run(deps, A_ADMIN, "/bridge channel C0SHAREDA").is_error
    for users, side in ((A_MARKETING, "marketing"), (A_IT, "it")):
        for user in users:
            caller = Caller(workspace_id=A, user_ref=user, platform="slack")
            assert not run(deps, caller, f"/bridge side {side}").is_error
    assert not submit(deps, A_SAME, "glossary_add_form", TERM_FORM).is_error
    assert not run(deps, A_SAME, f"/win {A_WIN}").is_error
    assert not run(deps, A_SAME, f"/challenge {A_CHALLENGE}").is_error
    created = submit(
        deps,
        A_SAME,
        "standup_create_form",
        {
            "name": "A-only stand-up", "channel": "C0STANDA", "weekdays": "thu", "time": "10:00",
            "timezone": "UTC", "mode": "async", "call_link": "",
            "questions": "A win to share\nA challenge you face", "audience": "chosen",
            "participants": "U0SAME,U0AIT1", "lead": "15", "deadline": "120",
        },
    )  # fmt: skip
    assert "Created stand-up 1" in shown(created)
    assert not run(deps, A_ADMIN, "/pulse now").is_error
    assert not run(deps, A_SAME, "/pulse ask A-only lunch? | Pizza | Tacos").is_error
    with deps.session_factory.begin() as session:

        def one(query: Any) -> int:
            return int(session.execute(query).scalar_one())

        ids = WorkspaceA(
            term_id=one(select(GlossaryTerm.id).where(GlossaryTerm.name == "Zorblax")),
            win_id=one(select(BoardPost.id).where(BoardPost.kind == "win")),
            challenge_id=one(select(BoardPost.id).where(BoardPost.kind == "challenge")),
            standup_id=one(select(Standup.id)),
            answer_id=0,
            weekly_poll_id=one(select(PulsePoll.id).where(PulsePoll.kind == "weekly")),
            quick_poll_id=one(select(PulsePoll.id).where(PulsePoll.kind == "adhoc")),
        )
        answer = StandupAnswer(
            workspace_id=A, standup_id=ids.standup_id, local_date=NOW.date(), user_ref="U0SAME",
            answers=["A-only stand-up answer", ""], shareable={"0": "win"}, shared=[],
        )  # fmt: skip
        session.add(answer)
        session.flush()
        ids.answer_id = answer.id
    for user in A_MARKETING + A_IT:
        caller = Caller(workspace_id=A, user_ref=user, platform="slack")
        value = 5 if user in A_MARKETING else 2
        assert not act(deps, caller, "pulse_vote", f"{ids.weekly_poll_id}:0:{value}").is_error
    # B comes to life, with its own admin and the same person on the IT side.
    assert not run(deps, B_ADMIN, "/bridge channel C0SHAREDB").is_error
    assert not run(deps, B_SAME, "/bridge side it").is_error
    return ids


@pytest.fixture
def a(deps: Deps) -> WorkspaceA:
    return seed_a(deps)


def is_refused(reply: Reply, message: str) -> bool:
    return reply.is_error and message in reply.fallback


# -- glossary -----------------------------------------------------------------------------


def test_glossary_terms_stay_in_their_workspace(deps: Deps, a: WorkspaceA) -> None:
    assert "A-only term" in shown(run(deps, A_SAME, "/jargon zorblax"))
    for line in ("/jargon Zorblax", "/jargon ZBX", "/jargon search codename loyalty"):
        assert "A-only term" not in shown(run(deps, B_SAME, line)), line
    assert "No term “Zorblax”" in shown(run(deps, B_SAME, "/jargon Zorblax"))
    assert "Zorblax" not in shown(act(deps, B_SAME, "glossary_explain", "Is Zorblax live?"))

    # B has its own starter glossary: every starter term, and not A's addition.
    starter = count(deps, GlossaryTerm, GlossaryTerm.workspace_id == B)
    assert starter >= 150
    assert count(deps, GlossaryTerm, GlossaryTerm.workspace_id == A) == starter + 1
    card = run(deps, B_SAME, "/jargon CAC")
    assert not card.is_error and "Customer acquisition cost" in shown(card)

    # Buttons and forms carrying A's term id do nothing from B, even for B's admin.
    for action in ("glossary_show", "glossary_edit", "glossary_share", "glossary_delete_confirm"):
        reply = act(deps, B_ADMIN, action, str(a.term_id))
        assert reply.is_error, action
        assert "A-only term" not in shown(reply), action
    edited = submit(
        deps, B_ADMIN, "glossary_edit_form", TERM_FORM | {"definition": "Hijacked"}, str(a.term_id)
    )
    assert edited.is_error
    definition = scalar(deps, select(GlossaryTerm.definition).where(GlossaryTerm.id == a.term_id))
    assert definition == TERM_FORM["definition"]
    assert "A-only term" in shown(run(deps, A_SAME, "/jargon zorblax"))


# -- wins and challenges ----------------------------------------------------------------


def test_wins_and_challenges_stay_in_their_workspace(deps: Deps, a: WorkspaceA) -> None:
    assert A_WIN in shown(run(deps, A_SAME, "/win list"))
    assert A_CHALLENGE in shown(run(deps, A_SAME, "/challenge list open"))
    for line in ("/win list", "/challenge list", "/challenge list open"):
        reply = run(deps, B_SAME, line)
        assert A_WIN not in shown(reply) and A_CHALLENGE not in shown(reply), line
        assert "No " in reply.fallback, line
    home = run_in_context(unit(deps, B_SAME), build_home, label="home")
    assert isinstance(home, Reply)
    assert A_CHALLENGE not in shown(home)

    # Buttons carrying A's post ids, clicked in B: not found, and A's post is unchanged.
    for caller in (B_SAME, B_ADMIN):
        assert is_refused(act(deps, caller, "board_celebrate", str(a.win_id)), "no longer exists")
        assert is_refused(act(deps, caller, "board_help", str(a.challenge_id)), "no longer exists")
        reply = act(deps, caller, "board_resolve", str(a.challenge_id))
        assert is_refused(reply, "no longer exists")
    assert count(deps, Celebration) == 0
    assert count(deps, ChallengeHelper) == 0
    assert scalar(deps, select(BoardPost.status).where(BoardPost.id == a.challenge_id)) == "open"
    assert run_refresh(unit(deps, B_ADMIN), f"board:{a.win_id}") is None
    # A's queued posts render only for A: a delivery in B's name posts nothing of A's.
    with deps.session_factory() as session:
        in_b = delivery_context(session=session, workspace_id=B, now=NOW, default_timezone="UTC")
        in_a = delivery_context(session=session, workspace_id=A, now=NOW, default_timezone="UTC")
        for key in (f"board:{a.win_id}", f"pulse:{a.quick_poll_id}"):
            assert deps.router.render(in_b, key) is None, key
            assert deps.router.render(in_a, key) is not None, key
    # The same click in A works: the refusal above was about the workspace.
    assert not act(deps, A_ADMIN, "board_celebrate", str(a.win_id)).is_error
    assert count(deps, Celebration) == 1


# -- stand-ups ------------------------------------------------------------------------------


def a_standup(deps: Deps) -> tuple[bool, int, int]:
    """(paused, skips, pending deliveries) of A's stand-up."""
    with deps.session_factory() as session:
        paused = session.execute(
            select(Standup.paused).where(Standup.workspace_id == A)
        ).scalar_one()
        skips = session.execute(select(func.count()).select_from(StandupSkip)).scalar_one()
        planned = session.execute(
            select(func.count()).select_from(Occurrence).where(Occurrence.kind.like("standup.%"))
        ).scalar_one()
    return paused, skips, planned


def test_stand_ups_stay_in_their_workspace(deps: Deps, a: WorkspaceA) -> None:
    before = a_standup(deps)
    assert before == (False, 0, 0)
    listed = run(deps, B_ADMIN, "/standup list")
    assert "No stand-ups yet" in listed.fallback and "A-only" not in shown(listed)
    for line in (
        "/standup pause 1", "/standup resume 1", "/standup skip 1 2030-03-07",
        "/standup delete 1", "/standup now 1", "/standup calendar 1",
    ):  # fmt: skip
        assert is_refused(run(deps, B_ADMIN, line), "There is no stand-up 1"), line
    assert act(deps, B_ADMIN, "standup_delete_confirm", "1").is_error
    assert act(deps, B_SAME, "standup_answer", f"{a.standup_id}:2030-03-07").is_error
    answers = {"q0": "Hijacked answer", "q1": ""}
    assert submit(
        deps, B_SAME, "standup_answer_form", answers, f"{a.standup_id}:2030-03-07"
    ).is_error
    assert act(deps, B_SAME, "standup_share", f"{a.answer_id}:0").is_error
    assert a_standup(deps) == before
    assert count(deps, Standup) == 1
    assert count(deps, StandupAnswer) == 1
    assert count(deps, BoardPost, BoardPost.workspace_id == B) == 0

    # B's own stand-up is number 1 there too; pausing it leaves A's alone.
    created = submit(
        deps, B_ADMIN, "standup_create_form",
        {
            "name": "B stand-up", "channel": "C0STANDB", "weekdays": "thu", "time": "10:00",
            "timezone": "UTC", "mode": "meeting", "call_link": "", "questions": "Anything?",
            "audience": "both", "participants": "", "lead": "15", "deadline": "120",
        },
    )  # fmt: skip
    assert "Created stand-up 1" in shown(created)
    assert "Paused" in run(deps, B_ADMIN, "/standup pause 1").fallback
    assert a_standup(deps)[0] is False
    assert "A-only" not in shown(run(deps, B_ADMIN, "/standup list"))


# -- pulse ----------------------------------------------------------------------------------


def test_pulse_votes_and_results_stay_in_their_workspace(deps: Deps, a: WorkspaceA) -> None:
    answers_before = count(deps, PulseAnswer)
    assert answers_before == 6
    for caller in (B_SAME, B_ADMIN):
        reply = act(deps, caller, "pulse_vote", f"{a.weekly_poll_id}:0:1")
        assert is_refused(reply, "That poll no longer exists."), caller
        reply = act(deps, caller, "pulse_ask_vote", f"{a.quick_poll_id}:1")
        assert is_refused(reply, "That poll no longer exists."), caller
    reply = act(deps, B_SAME, "pulse_ask_close", str(a.quick_poll_id))
    assert is_refused(reply, "That poll no longer exists.")
    with pytest.raises(FormInvalid) as refused:
        submit(deps, B_SAME, "pulse_comment_form", {"comment": "B hijack"}, str(a.weekly_poll_id))
    assert refused.value.field_errors == {"comment": "That poll no longer exists."}
    assert count(deps, PulseAnswer) == answers_before
    assert count(deps, PulseComment) == 0
    with deps.session_factory() as session:
        assert pulse.option_counts(session=session, workspace_id=A, poll_id=a.quick_poll_id) == [
            0,
            0,
        ]
        statuses = session.execute(select(PulsePoll.status)).scalars().all()
    assert statuses == ["open", "open"]

    with deps.session_factory.begin() as session:
        pulse.close(session=session, workspace_id=A, poll_id=a.weekly_poll_id, now=NOW)
    assert "Pulse of 06 Mar 2030" in shown(run(deps, A_SAME, "/pulse"))
    assert "No pulse results yet." in run(deps, B_SAME, "/pulse").fallback
    assert "No pulse has closed yet" in run(deps, B_SAME, "/pulse results").fallback
    exported = run(deps, B_SAME, "/pulse export")
    (attachment,) = exported.attachments
    table = list(csv.reader(io.StringIO(attachment.content.decode())))
    assert len(table) == 1  # the header only
    home = run_in_context(unit(deps, B_SAME), build_home, label="home")
    assert isinstance(home, Reply)
    assert "No pulse results yet." in shown(home)


# -- your data ----------------------------------------------------------------------------


def test_export_and_forget_me_stay_in_their_workspace(deps: Deps, a: WorkspaceA) -> None:
    (attachment,) = run(deps, B_SAME, "/bridge export-me").attachments
    exported = attachment.content.decode()
    data = json.loads(exported)
    assert data["workspace_id"] == B
    assert [p["side"] for p in data["person"]] == ["it"]
    for a_only in ("A-only", "marketing", "Zorblax", A, "C0STANDA"):
        assert a_only not in exported, a_only

    # Forgetting U0SAME in B leaves U0SAME's records in A as they were.
    asked = run(deps, B_SAME, "/bridge forget-me")
    assert "bridge_forget_confirm" in shown(asked)
    assert "forgotten you" in act(deps, B_SAME, "bridge_forget_confirm", "").fallback
    assert count(deps, Person, Person.user_ref == "U0SAME", Person.workspace_id == B) == 0
    assert count(deps, Person, Person.user_ref == "U0SAME", Person.workspace_id == A) == 1
    assert count(deps, BoardPost, BoardPost.author_ref == "U0SAME") == 2
    assert count(deps, GlossaryTerm, GlossaryTerm.author_ref == "U0SAME") == 1
    assert count(deps, StandupAnswer, StandupAnswer.user_ref == "U0SAME") == 1
    participants = scalar(deps, select(Standup.participants).where(Standup.workspace_id == A))
    assert "U0SAME" in participants
    assert "A-only" in run(deps, A_SAME, "/bridge export-me").attachments[0].content.decode()


# -- settings ------------------------------------------------------------------------------


def test_settings_changes_stay_in_their_workspace(deps: Deps, a: WorkspaceA) -> None:
    form = run(deps, B_ADMIN, "/bridge settings").form
    assert form is not None
    values = {field.name: field.initial for field in form.fields} | {
        "timezone": "Asia/Tokyo",
        "label_marketing": "Growth",
        "label_it": "Engineering",
        "anonymity_threshold": "7",
        "usergroup_marketing": "S0BGROWTH",
    }
    assert "Saved." in submit(deps, B_ADMIN, "bridge_settings_form", values).fallback
    assert "Growth" in run(deps, B_SAME, "/bridge side marketing").fallback
    assert not run(deps, B_ADMIN, "/bridge channel C0OTHERB").is_error

    with deps.session_factory() as session:
        row = session.get(WorkspaceSettings, A)
        assert row is not None
        assert (row.timezone, row.label_marketing, row.label_it) == ("UTC", "Marketing", "IT")
        assert (row.anonymity_threshold, row.usergroup_marketing) == (3, None)
        assert row.shared_channel_ref == "C0SHAREDA"
    reply = run(deps, A_SAME, "/bridge side marketing")
    assert "Marketing" in reply.fallback and "Growth" not in reply.fallback
    # A's admin can't sync from B's user groups either: A has none set.
    assert run(deps, A_ADMIN, "/bridge sync").is_error
