"""Changes any process made, heard the moment they commit, so caches stay correct across
processes and instances without a query per request (PostgreSQL LISTEN/NOTIFY).

A transaction that changes what a cache keeps announces it (`announce`, or the settings
hook below). PostgreSQL delivers the notice to every listening process when, and only
if, the transaction commits; the announcing process also hears it at once, so it reads
its own writes. Each process keeps one listening connection (`ChangeFeed.start`) and
counts the notices heard per topic and workspace. A cache takes a `stamp` *before* it
reads what it keeps and trusts that copy while `unchanged_since(stamp)` holds: any notice
heard later means "read it again".

Nothing is trusted while the listener is not connected: on SQLite (no notices travel,
and another process may share the file), before the listener is up, and after it lost
its connection. Each new connection starts a new epoch, so nothing read before a gap in
hearing is trusted again without a fresh read. The gap between a commit in one process
and another process hearing it is the notice's trip over the local connection, well
under the time Slack takes to bring a person's next request.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.models import WorkspaceSettings

logger = logging.getLogger(__name__)

CHANNEL = "bridgebot_changes"
GLOSSARY = "glossary"  # a workspace's terms (any change moves its glossary revision)
SETTINGS = "settings"  # a workspace's settings row
# Where a session finds its factory's feed, and the topics it announced (not yet committed).
_FEED_KEY = "change_feed"
_ANNOUNCED_KEY = "change_feed_announced"
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
CONNECT_TIMEOUT_SECONDS = 3
LISTEN_POLL_SECONDS = 0.1  # how often the listener looks up from waiting (to stop)


@dataclass(frozen=True)
class Stamp:
    """When a cached copy was read: the feed's epoch and the notices heard on its topic."""

    epoch: int
    heard: int


class ChangeFeed:
    """One process's ear for changes, shared by every cache of one database."""

    def __init__(self) -> None:
        self._heard: dict[tuple[str, str], int] = {}
        self._kept: dict[tuple[str, str], tuple[Stamp, Any]] = {}
        self._epoch = 0
        self._live = False
        self._connected = threading.Event()  # set while _live, for those who wait for it
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def live(self) -> bool:
        """Whether every change committed from now on will be heard."""
        return self._live

    def stamp(self, topic: str, workspace_id: str) -> Stamp | None:
        """Take before reading what a cache will keep; None: nothing may be trusted now."""
        with self._lock:
            if not self._live:
                return None
            return Stamp(self._epoch, self._heard.get((topic, workspace_id), 0))

    def unchanged_since(self, stamp: Stamp | None, topic: str, workspace_id: str) -> bool:
        """Whether what was read under `stamp` is still what the database holds."""
        if stamp is None:
            return False
        with self._lock:
            return (
                self._live
                and stamp.epoch == self._epoch
                and self._heard.get((topic, workspace_id), 0) == stamp.heard
            )

    def remember(self, topic: str, workspace_id: str, stamp: Stamp | None, value: Any) -> None:
        """Keep `value`, read under `stamp`, for `recall` (nothing is kept without a stamp)."""
        if stamp is not None:
            self._kept[(topic, workspace_id)] = (stamp, value)

    def recall(self, topic: str, workspace_id: str) -> Any | None:
        """The value remembered for the topic, if nothing changed since it was read."""
        kept = self._kept.get((topic, workspace_id))
        if kept is None or not self.unchanged_since(kept[0], topic, workspace_id):
            return None
        return kept[1]

    def hear(self, topic: str, workspace_id: str) -> None:
        with self._lock:
            key = (topic, workspace_id)
            self._heard[key] = self._heard.get(key, 0) + 1

    def start(self, engine: Engine, listen_url: str | None = None) -> None:
        """Listen in a background thread, on `listen_url` or else the engine's database
        (PostgreSQL only; elsewhere, or with "off", nothing is trusted)."""
        if engine.dialect.name != "postgresql" or self._thread is not None or listen_url == "off":
            return
        url = make_url(listen_url) if listen_url else engine.url
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._listen, args=(conninfo,), name="change-feed", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=LISTEN_POLL_SECONDS * 3)
        self._set_live(False)

    def wait_live(self, timeout: float) -> bool:
        """Wait until the listener is connected (for start-up and tests); whether it is."""
        return self._connected.wait(timeout)

    def _set_live(self, live: bool) -> None:
        with self._lock:
            if live:
                self._epoch += 1
            self._live = live
        (self._connected.set if live else self._connected.clear)()

    def _listen(self, conninfo: str) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._listen_once(conninfo)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - any failure: stop trusting, reconnect
                logger.warning("change feed lost its connection (%s); caches read through", exc)
                failures += 1
            finally:
                self._set_live(False)
            self._stopping.wait(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])

    def _listen_once(self, conninfo: str) -> None:
        # A connection of its own, outside the pool: LISTEN lasts as long as the session.
        connection = psycopg.connect(
            conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
        )
        try:
            connection.execute(f"LISTEN {CHANNEL}")
            self._set_live(True)
            logger.info("change feed listening")
            while not self._stopping.is_set():
                for notice in connection.notifies(timeout=LISTEN_POLL_SECONDS):
                    topic, _, workspace_id = notice.payload.partition(" ")
                    self.hear(topic, workspace_id)
        finally:
            connection.close()


def attach(factory: sessionmaker[Session]) -> ChangeFeed:
    """Give the sessions of `factory` a feed of their own (one per database and process)."""
    feed = ChangeFeed()
    factory.kw.setdefault("info", {})[_FEED_KEY] = feed
    return feed


def feed_of(session: Session) -> ChangeFeed | None:
    return session.info.get(_FEED_KEY)


def announce(session: Session, topic: str, workspace_id: str) -> None:
    """Tell every process, when (and only if) this transaction commits, that `topic` of
    the workspace changed."""
    announced: set[tuple[str, str]] = session.info.setdefault(_ANNOUNCED_KEY, set())
    if (topic, workspace_id) in announced:
        return
    announced.add((topic, workspace_id))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, f"{topic} {workspace_id}")))


def announcing(session: Session, topic: str, workspace_id: str) -> bool:
    """Whether this session's open transaction changed `topic` (so caches are not for it)."""
    return (topic, workspace_id) in session.info.get(_ANNOUNCED_KEY, ())


@event.listens_for(Session, "after_commit")
def _heard_locally(session: Session) -> None:
    announced = session.info.pop(_ANNOUNCED_KEY, None)
    feed = feed_of(session)
    if announced and feed is not None:
        for topic, workspace_id in announced:
            feed.hear(topic, workspace_id)


@event.listens_for(Session, "after_rollback")
def _forget_announced(session: Session) -> None:
    session.info.pop(_ANNOUNCED_KEY, None)


@event.listens_for(Session, "before_flush")
def _announce_settings(session: Session, _context: Any, _instances: Any) -> None:
    """Settings are changed through their ORM row only, so the flush sees every change."""
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, WorkspaceSettings):
            announce(session, SETTINGS, row.workspace_id)
