"""A person's time off, for export-me and forget-me (their region and time zone are on
their person row: people_privacy exports and deletes it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import Person, TimeOff
from bot.services.privacy import Forgotten, PrivacyHooks, rowcount, rows


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    return {
        "time_off": rows(
            session,
            select(TimeOff.first_day, TimeOff.last_day, TimeOff.created_at)
            .where(TimeOff.workspace_id == workspace_id, TimeOff.user_ref == user_ref)
            .order_by(TimeOff.first_day),
            ["first_day", "last_day", "created_at"],
        ),
        "holiday_region_and_time_zone": rows(
            session,
            select(Person.region, Person.timezone).where(
                Person.workspace_id == workspace_id, Person.user_ref == user_ref
            ),
            ["region", "time_zone"],
        ),
    }


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    away = delete(TimeOff).where(TimeOff.workspace_id == workspace_id, TimeOff.user_ref == user_ref)
    return Forgotten({"time off": rowcount(session, away)})


HOOKS = PrivacyHooks("availability", export=export_person, forget=forget_person)
