"""The command inbox: a command stored before it is acknowledged, so none is lost.

An adapter that acknowledges before the work runs (Slack) stores the command first, in
one tiny transaction; the command's own transaction marks it done. A row still pending
after the claim lease had its instance die under it: the scheduler runs it again
(see handlers/slack/inbox_recovery.py). The unique replay key doubles as replay
protection: storing the same signed request twice stores nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.models import InboxCommand, InboxOutcome
from bot.services.privacy import Forgotten, PrivacyHooks, rowcount, rows

# Finished rows keep their replay key this long; Slack replays within five minutes.
KEEP_FOR = timedelta(days=1)


@dataclass(frozen=True)
class PendingCommand:
    """A stored command, as much of it as running it again needs."""

    id: int
    workspace_id: str
    user_ref: str
    user_name: str | None
    command: str
    text: str
    channel_ref: str | None
    response_url: str | None
    received_at: datetime


def store(
    *,
    session: Session,
    replay_key: str,
    workspace_id: str,
    user_ref: str,
    user_name: str | None,
    command: str,
    text: str,
    channel_ref: str | None,
    response_url: str | None,
    now: datetime,
) -> int | None:
    """Store a command as received; its id, or None if this request was stored already
    (a replay)."""
    inserted = insert_ignoring_conflicts(
        session,
        InboxCommand,
        {
            "replay_key": replay_key[:200],
            "workspace_id": workspace_id,
            "user_ref": user_ref,
            "user_name": user_name,
            "command": command,
            "text": text,
            "channel_ref": channel_ref,
            "response_url": response_url,
            "received_at": now,
        },
        ["replay_key"],
    )
    if not inserted:
        return None
    return session.execute(
        select(InboxCommand.id).where(InboxCommand.replay_key == replay_key[:200])
    ).scalar_one()


def finish(
    *, session: Session, command_id: int, now: datetime, outcome: InboxOutcome = InboxOutcome.DONE
) -> bool:
    """Mark a pending command finished and forget its content; False if it was finished
    already (by another run of it).

    In the command's own transaction, so "done" holds exactly when its effect does; on
    PostgreSQL a second run waits on the row here and then finds it finished.
    """
    return (
        rowcount(
            session,
            update(InboxCommand)
            .where(InboxCommand.id == command_id, InboxCommand.outcome.is_(None))
            .values(outcome=outcome.value, finished_at=now, text=None, response_url=None),
        )
        > 0
    )


def pending(session: Session, command_id: int) -> PendingCommand | None:
    """The command if it is still pending, else None."""
    row = session.execute(
        select(InboxCommand).where(InboxCommand.id == command_id, InboxCommand.outcome.is_(None))
    ).scalar_one_or_none()
    if row is None:
        return None
    return PendingCommand(
        id=row.id,
        workspace_id=row.workspace_id,
        user_ref=row.user_ref,
        user_name=row.user_name,
        command=row.command,
        text=row.text or "",
        channel_ref=row.channel_ref,
        response_url=row.response_url,
        received_at=row.received_at,
    )


def stale(session: Session, *, older_than: datetime) -> list[tuple[int, str, datetime]]:
    """(id, workspace, received_at) of commands still pending since before `older_than`."""
    return [
        (row.id, row.workspace_id, row.received_at)
        for row in session.execute(
            select(InboxCommand.id, InboxCommand.workspace_id, InboxCommand.received_at)
            .where(InboxCommand.outcome.is_(None), InboxCommand.received_at < older_than)
            .order_by(InboxCommand.received_at)
        )
    ]


def forget_old(session: Session, now: datetime) -> None:
    """Drop finished rows after a day: by then no replay of theirs is accepted anyway."""
    session.execute(
        delete(InboxCommand).where(
            InboxCommand.outcome.is_not(None), InboxCommand.finished_at < now - KEEP_FOR
        )
    )


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    columns = ["command", "text", "received_at", "outcome"]
    theirs = select(
        InboxCommand.command, InboxCommand.text, InboxCommand.received_at, InboxCommand.outcome
    ).where(InboxCommand.workspace_id == workspace_id, InboxCommand.user_ref == user_ref)
    return {"commands_received": rows(session, theirs, columns)}


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    """Their commands, pending ones included: a forgotten person's command is not run."""
    theirs = delete(InboxCommand).where(
        InboxCommand.workspace_id == workspace_id, InboxCommand.user_ref == user_ref
    )
    return Forgotten({"commands received": rowcount(session, theirs)})


HOOKS = PrivacyHooks("command inbox", export=export_person, forget=forget_person)
