"""The pulse's questions: the bank shipped with bridgebot, a workspace's own, and the 1 to 5
the next weekly pulse asks.

A question has a stable id (trends follow it across pulses). A plain one is one statement
for everyone; a mirrored pair asks each side about the other ("IT understands what
Marketing needs" / "Marketing understands what IT needs"), so only Marketing and IT answer
it. Bank statements name the sides by the workspace's labels when a pulse opens; what an
admin writes is asked word for word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.errors import Conflict, Invalid, NotFound
from bot.models import PulseCustomQuestion, PulsePoll, Side, WorkspaceSettings

DEFAULT_IDS = ("worked-together", "understood-needs", "improved-results")
MIN_CHOSEN, MAX_CHOSEN = 1, 5
MIN_LENGTH, MAX_LENGTH = 10, 200
MAX_CUSTOM = 50
CUSTOM_PREFIX = "custom-"
MIRROR_SIDES = (Side.MARKETING.value, Side.IT.value)
_PLACEHOLDERS = re.compile(r"\{(marketing|it)\}")


class QuestionRefused(Invalid):
    """A question id, a choice or a custom statement the pulse cannot take."""


class UnknownQuestion(NotFound):
    def __init__(self, question_id: str) -> None:
        super().__init__(
            f"There is no question “{question_id[:40]}”; /pulse questions bank lists their ids."
        )
        self.question_id = question_id


@dataclass(frozen=True)
class Question:
    """A question as a workspace asks it: statements already in its side labels."""

    id: str
    category: str
    statement: str  # what everyone is asked, or a mirrored pair's title
    mirror: dict[str, str] | None = None  # side -> statement, for a mirrored pair
    custom: bool = False

    @property
    def mirrored(self) -> bool:
        return self.mirror is not None

    def asked_of(self, side: str | None) -> str | None:
        """What a person of `side` is asked; None: the question is not for their side."""
        if self.mirror is None:
            return self.statement
        return self.mirror.get(side or "")


@dataclass(frozen=True)
class _BankEntry:
    id: str
    category: str
    statement: str
    mirror: dict[str, str] | None


@cache
def _bank() -> tuple[_BankEntry, ...]:
    """The shipped bank (bot/data/questions.yaml), read once."""
    raw = resources.files("bot.data").joinpath("questions.yaml").read_text("utf-8")
    entries = []
    for item in yaml.safe_load(raw)["questions"]:
        mirror = {side: str(item[side]) for side in MIRROR_SIDES} if "marketing" in item else None
        entries.append(
            _BankEntry(str(item["id"]), str(item["category"]), str(item["statement"]), mirror)
        )
    return tuple(entries)


def _in_labels(template: str, labels: dict[str, str]) -> str:
    """A bank statement with the sides' labels in (never str.format: labels are typed text)."""
    return _PLACEHOLDERS.sub(lambda found: labels[found.group(1)], template)


def bank(labels: dict[str, str]) -> list[Question]:
    """Every shipped question, in the bank's order, in these side labels."""
    return [
        Question(
            entry.id,
            entry.category,
            _in_labels(entry.statement, labels),
            {side: _in_labels(text, labels) for side, text in entry.mirror.items()}
            if entry.mirror
            else None,
        )
        for entry in _bank()
    ]


def custom(*, session: Session, workspace_id: str) -> list[Question]:
    """The workspace's own questions, oldest first."""
    rows = session.execute(
        select(PulseCustomQuestion)
        .where(PulseCustomQuestion.workspace_id == workspace_id)
        .order_by(PulseCustomQuestion.id)
    ).scalars()
    return [_custom_question(row) for row in rows]


def _custom_question(row: PulseCustomQuestion) -> Question:
    mirror = (
        {Side.MARKETING.value: row.text_marketing, Side.IT.value: row.text_it}
        if row.text_marketing is not None and row.text_it is not None
        else None
    )
    return Question(row.key, "your own", row.statement, mirror, custom=True)


def available(*, session: Session, workspace_id: str, labels: dict[str, str]) -> list[Question]:
    """The bank and the workspace's own questions: everything an admin can choose from."""
    return bank(labels) + custom(session=session, workspace_id=workspace_id)


def find(
    *, session: Session, workspace_id: str, question_id: str, labels: dict[str, str]
) -> Question:
    """One question by id (case-insensitive).

    Raises:
        UnknownQuestion: no such id in the bank or the workspace.
    """
    wanted = question_id.strip().casefold()
    for question in available(session=session, workspace_id=workspace_id, labels=labels):
        if question.id == wanted:
            return question
    raise UnknownQuestion(question_id.strip())


def chosen_ids(*, session: Session, workspace_id: str) -> list[str]:
    """The ids the next weekly pulse asks, in order."""
    stored = session.execute(
        select(WorkspaceSettings.pulse_questions).where(
            WorkspaceSettings.workspace_id == workspace_id
        )
    ).scalar_one_or_none()
    return list(stored) if stored else list(DEFAULT_IDS)


def chosen(*, session: Session, workspace_id: str, labels: dict[str, str]) -> list[Question]:
    """The questions the next weekly pulse asks, in these labels. One deleted meanwhile
    (a custom question) is left out; if none is left, the defaults are asked."""
    by_id = {q.id: q for q in available(session=session, workspace_id=workspace_id, labels=labels)}
    found = [by_id[i] for i in chosen_ids(session=session, workspace_id=workspace_id) if i in by_id]
    return found or [by_id[i] for i in DEFAULT_IDS]


def choose(
    *, session: Session, workspace_id: str, question_ids: list[str], labels: dict[str, str]
) -> list[Question]:
    """Set the questions of the next weekly pulses (1 to 5, in order); from the next pulse.

    Raises:
        UnknownQuestion: an id that is neither in the bank nor the workspace's.
        QuestionRefused: none, more than five, or one twice.
    """
    questions = [
        find(session=session, workspace_id=workspace_id, question_id=i, labels=labels)
        for i in question_ids
    ]
    if not MIN_CHOSEN <= len(questions) <= MAX_CHOSEN:
        raise QuestionRefused(
            f"A pulse asks {MIN_CHOSEN} to {MAX_CHOSEN} questions; that makes {len(questions)}."
        )
    ids = [q.id for q in questions]
    twice = next((i for i in ids if ids.count(i) > 1), None)
    if twice:
        raise QuestionRefused(f"“{twice}” is chosen twice.")
    row = _settings(session, workspace_id)
    row.pulse_questions = ids
    session.flush()
    return questions


def add(
    *, session: Session, workspace_id: str, question_ids: list[str], labels: dict[str, str]
) -> list[Question]:
    """Add questions at the end of the chosen ones (see `choose`)."""
    _settings(session, workspace_id)
    current = chosen_ids(session=session, workspace_id=workspace_id)
    for question_id in question_ids:
        wanted = question_id.strip().casefold()
        if wanted in current:
            raise QuestionRefused(f"“{wanted[:40]}” is already asked.")
    return choose(
        session=session,
        workspace_id=workspace_id,
        question_ids=current + question_ids,
        labels=labels,
    )


def remove(
    *, session: Session, workspace_id: str, question_ids: list[str], labels: dict[str, str]
) -> list[Question]:
    """Stop asking questions (at least one stays; see `choose`)."""
    _settings(session, workspace_id)
    current = chosen_ids(session=session, workspace_id=workspace_id)
    for question_id in question_ids:
        wanted = question_id.strip().casefold()
        if wanted not in current:
            find(session=session, workspace_id=workspace_id, question_id=wanted, labels=labels)
            raise QuestionRefused(f"“{wanted[:40]}” is not among the questions asked.")
        current.remove(wanted)
    if not current:
        raise QuestionRefused("A pulse asks at least one question; add another before this.")
    return choose(session=session, workspace_id=workspace_id, question_ids=current, labels=labels)


def clean_statement(typed: str) -> str:
    """A statement as an admin typed it, checked: one line, 10 to 200 characters.

    Raises:
        QuestionRefused: too short, too long, or with control characters.
    """
    statement = " ".join(typed.split())
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in statement):
        raise QuestionRefused("A statement cannot hold control characters.")
    if len(statement) < MIN_LENGTH:
        raise QuestionRefused(f"Write a statement of at least {MIN_LENGTH} characters.")
    if len(statement) > MAX_LENGTH:
        raise QuestionRefused(f"Keep a statement to {MAX_LENGTH} characters at most.")
    return statement


def create_custom(
    *,
    session: Session,
    workspace_id: str,
    statement: str,
    mirror: tuple[str, str] | None = None,
    labels: dict[str, str],
) -> Question:
    """Save an admin's own question: one statement for everyone, or (mirror) what
    Marketing is asked and what IT is asked, titled by `statement`.

    Raises:
        QuestionRefused: a statement `clean_statement` refuses, one the workspace already
            has (in the bank or its own), or more than MAX_CUSTOM questions.
    """
    statement = clean_statement(statement)
    texts = (clean_statement(mirror[0]), clean_statement(mirror[1])) if mirror else None
    _settings(session, workspace_id)
    if texts and texts[0].casefold() == texts[1].casefold():
        raise QuestionRefused("A mirrored pair asks each side something different.")
    existing = available(session=session, workspace_id=workspace_id, labels=labels)
    known = {q.statement.casefold() for q in existing} | {
        text.casefold() for q in existing if q.mirror for text in q.mirror.values()
    }
    for text in (statement, *(texts or ())):
        if text.casefold() in known:
            raise QuestionRefused(f"“{text[:60]}” is already a question; choose it by its id.")
    count = session.execute(
        select(func.count()).where(PulseCustomQuestion.workspace_id == workspace_id)
    ).scalar_one()
    if count >= MAX_CUSTOM:
        raise QuestionRefused(
            f"A workspace keeps {MAX_CUSTOM} questions of its own; delete one first."
        )
    # A number is never reused once a pulse asked it: a deleted question's trend must not
    # run on into a new question's.
    keys = set(
        session.execute(
            select(PulseCustomQuestion.key).where(PulseCustomQuestion.workspace_id == workspace_id)
        ).scalars()
    )
    for asked in session.execute(
        select(PulsePoll.question_ids).where(
            PulsePoll.workspace_id == workspace_id, PulsePoll.question_ids.is_not(None)
        )
    ).scalars():
        keys.update(asked or ())
    numbers = [
        int(key.removeprefix(CUSTOM_PREFIX))
        for key in keys
        if key.startswith(CUSTOM_PREFIX) and key.removeprefix(CUSTOM_PREFIX).isdigit()
    ]
    row = PulseCustomQuestion(
        workspace_id=workspace_id,
        key=f"{CUSTOM_PREFIX}{max(numbers, default=0) + 1}",
        statement=statement,
        text_marketing=texts[0] if texts else None,
        text_it=texts[1] if texts else None,
    )
    session.add(row)
    session.flush()
    return _custom_question(row)


def delete_custom(*, session: Session, workspace_id: str, question_id: str) -> Question:
    """Delete one of the workspace's own questions; pulses held keep what they asked.

    Raises:
        UnknownQuestion: not one of the workspace's own questions.
        QuestionRefused: it is still chosen for the next pulse.
    """
    key = question_id.strip().casefold()
    row = session.execute(
        select(PulseCustomQuestion).where(
            PulseCustomQuestion.workspace_id == workspace_id, PulseCustomQuestion.key == key
        )
    ).scalar_one_or_none()
    if row is None:
        if any(entry.id == key for entry in _bank()):
            raise QuestionRefused(
                f"“{key}” ships with bridgebot and stays in the bank; "
                "/pulse questions remove stops asking it."
            )
        raise UnknownQuestion(question_id.strip())
    if key in chosen_ids(session=session, workspace_id=workspace_id):
        raise QuestionRefused(f"“{key}” is still asked; remove it from the pulse first.")
    question = _custom_question(row)
    session.execute(delete(PulseCustomQuestion).where(PulseCustomQuestion.id == row.id))
    return question


def _settings(session: Session, workspace_id: str) -> WorkspaceSettings:
    """The settings row, locked until the transaction ends: two admins changing the
    questions at once take turns, so neither change is lost nor a number given twice
    (SQLite takes its write lock as the transaction begins)."""
    row = session.execute(
        select(WorkspaceSettings)
        .where(WorkspaceSettings.workspace_id == workspace_id)
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise Conflict("This workspace has no settings yet; run /bridge once first.")
    return row
