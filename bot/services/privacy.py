"""What bridgebot stores about a person: export it, or forget it.

Each feature knows its own tables, so each registers an export hook and a forget hook
here (from its command module's register(), or an adapter for its own store); export-me
and forget-me run every hook in the one transaction of the command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Protocol

from sqlalchemy import Executable
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Forgotten:
    """What one hook did: counts by label for the confirmation, and the posted messages
    (outbox keys) that showed the person, to be shown again without them."""

    counts: dict[str, int] = field(default_factory=dict)
    refresh_keys: tuple[str, ...] = ()


class ExportHook(Protocol):
    def __call__(self, *, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]: ...


class ForgetHook(Protocol):
    def __call__(
        self, *, session: Session, workspace_id: str, user_ref: str, now: datetime
    ) -> Forgotten: ...


@dataclass(frozen=True)
class PrivacyHooks:
    """A feature's part of export-me (sections by name) and forget-me."""

    feature: str
    export: ExportHook
    forget: ForgetHook


class PrivacyRegistry:
    """The hooks of every feature, run in registration order."""

    def __init__(self) -> None:
        self._hooks: dict[str, PrivacyHooks] = {}

    def register(self, hooks: PrivacyHooks) -> None:
        # By feature: an adapter built twice over the same router replaces its hooks.
        self._hooks[hooks.feature] = hooks

    def features(self) -> list[str]:
        return list(self._hooks)

    def export(self, *, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
        """Everything stored about the person in this workspace, as plain data."""
        data: dict[str, Any] = {"workspace_id": workspace_id, "user": user_ref}
        for hooks in self._hooks.values():
            sections = hooks.export(session=session, workspace_id=workspace_id, user_ref=user_ref)
            if clash := data.keys() & sections.keys():
                raise ValueError(f"{hooks.feature} exports sections already taken: {clash}")
            data.update(sections)
        return data

    def forget(
        self, *, session: Session, workspace_id: str, user_ref: str, now: datetime
    ) -> Forgotten:
        """Delete the person's records and remove their name from what others still need."""
        counts: dict[str, int] = {}
        refresh: dict[str, None] = {}  # ordered and without repeats
        for hooks in self._hooks.values():
            done = hooks.forget(
                session=session, workspace_id=workspace_id, user_ref=user_ref, now=now
            )
            for label, count in done.counts.items():
                counts[label] = counts.get(label, 0) + count
            refresh.update(dict.fromkeys(done.refresh_keys))
        session.flush()
        return Forgotten(counts=counts, refresh_keys=tuple(refresh))


# -- what hooks share ------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value as JSON takes it (dates and times as ISO text)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def rows(session: Session, query: Executable, columns: list[str]) -> list[dict[str, Any]]:
    """A query's rows as dicts with the given names, ready for the export file."""
    return [
        {name: plain(value) for name, value in zip(columns, row, strict=True)}
        for row in session.execute(query)
    ]


def rowcount(session: Session, statement: Executable) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
