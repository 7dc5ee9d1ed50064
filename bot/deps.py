"""The dependencies every adapter, job and command receives, built once at start-up."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import migrate
from bot.commands import build_router
from bot.db import make_engine, make_session_factory
from bot.router import CommandRouter
from bot.services import change_feed, glossary_tally
from bot.services.change_feed import ChangeFeed
from bot.services.glossary_tally import LookupTally
from bot.services.posting_limits import PostingLimits
from bot.services.secret_key import ensure_secret_key
from bot.settings import Settings

logger = logging.getLogger(__name__)


def utc_clock() -> datetime:
    return datetime.now(UTC)


def new_instance_id() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Deps:
    """What every adapter, job and command shares: built once, never changed afterwards.

    Where scheduled messages go and what the scheduler delivers belong to the scheduler
    (schedules.create_scheduler), which is built from these and the platform's notifier.
    """

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    router: CommandRouter
    secret_key: str
    # What other processes changed (for caches) and the lookups counted in memory; a
    # server starts both (handlers.server), elsewhere caches read through and counts
    # are written with each command.
    changes: ChangeFeed
    tally: LookupTally
    clock: Callable[[], datetime] = utc_clock
    instance_id: str = field(default_factory=new_instance_id)


def build_deps(
    settings: Settings,
    *,
    upgrade_schema: bool = True,
    clock: Callable[[], datetime] = utc_clock,
) -> Deps:
    """Connect, bring the schema up to date, and load the secret key.

    `clock` is what every command, job and delivery takes as now (tests pass their own).
    """
    engine = make_engine(settings.database_url)
    if upgrade_schema:
        migrate.upgrade(engine)
    session_factory = make_session_factory(engine)
    changes = change_feed.attach(session_factory)
    tally = glossary_tally.attach(session_factory)
    configured = settings.bridgebot_secret_key
    with session_factory.begin() as session:
        secret_key = ensure_secret_key(
            session=session,
            configured=configured.get_secret_value() if configured else None,
            key_file=settings.secret_key_file,
        )
    return Deps(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        router=build_router(
            secret_key=secret_key,
            public_url=settings.public_url,
            posting_limits=PostingLimits(
                per_person_minute=settings.bridgebot_posts_per_person_minute,
                per_person_day=settings.bridgebot_posts_per_person_day,
                per_workspace_hour=settings.bridgebot_posts_per_workspace_hour,
            ),
        ),
        secret_key=secret_key,
        changes=changes,
        tally=tally,
        clock=clock,
    )
