"""The dependencies every adapter, job and command receives, built once at start-up."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import migrate
from bot.commands import build_router
from bot.db import make_engine, make_session_factory
from bot.notify import Notifier
from bot.router import CommandRouter
from bot.services.occurrences import ClaimedOccurrence
from bot.services.posting_limits import PostingLimits
from bot.services.secret_key import ensure_secret_key
from bot.settings import Settings

logger = logging.getLogger(__name__)

Delivery = Callable[[ClaimedOccurrence, "Deps"], Awaitable[None]]
Planner = Callable[[Session, datetime], object]


def utc_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    """What the app needs at run time; tests build one with their own pieces."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    router: CommandRouter
    secret_key: str
    clock: Callable[[], datetime] = utc_clock
    instance_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
    )
    # Filled in by the adapter that runs (Slack, console): where scheduled messages go.
    notifier: Notifier | None = None
    # Features add a delivery per occurrence kind and planners that schedule ahead.
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    planners: list[Planner] = field(default_factory=list)
    # Kinds a person is waiting for (their own post): never recorded as missed, and
    # retried until they go out or the platform refuses them for good.
    persistent_kinds: set[str] = field(default_factory=set)
    # Called as each scheduler tick starts (deliveries' per-tick caches start afresh).
    tick_started: list[Callable[[], None]] = field(default_factory=list)
    # Set by whoever runs the scheduler: run the tick now rather than at the next minute.
    wake: Callable[[], None] = lambda: None
    wake_requested: bool = False


def build_deps(settings: Settings, *, upgrade_schema: bool = True) -> Deps:
    """Connect, bring the schema up to date, and load the secret key."""
    engine = make_engine(settings.database_url)
    if upgrade_schema:
        migrate.upgrade(engine)
    session_factory = make_session_factory(engine)
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
    )
