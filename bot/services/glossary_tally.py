"""Card views and typed lookups, counted in memory and written to the database in batches.

A lookup is the busiest request there is, and it needs nothing from the database but
what the caches hold (bot.services.change_feed); only its counting would write. So a
server counts in memory and writes every FLUSH_SECONDS, one transaction for all
lookups of all workspaces: the view counts as increments (concurrent processes add up,
none overwrites another) and the lookups for the dashboard as rows, alike ones (the
same person, query and term on the same day) as one row with their number. What a process
counted since its last write is gone if it crashes (at most about a second of counts,
never anything a person typed in); a stop writes it first. A process without a writer
(the console, a command-line task, a test of the domain) counts in the command's own
transaction, as before.

This process's own readers see its counts at once: a card adds the views counted here
since it was read, and the dashboard writes what is pending before it reads.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, exists, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.models import GlossaryLookup, GlossaryTerm, Person, Workspace

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
# Past this many different lookups waiting (the database is down), new ones are dropped:
# a dashboard figure a little low beats a server that runs out of memory.
MAX_PENDING_LOOKUPS = 50_000
# What makes two lookups alike (glossary_lookups.record's row: the side is read from
# the person as the row is written).
LOOKUP_FIELDS = (
    "workspace_id",
    "user_ref",
    "query",
    "term_name",
    "term_origin",
    "found",
    "looked_up_on",
)
_TALLY_KEY = "glossary_tally"
_PENDING_KEY = "glossary_tally_pending"  # a transaction's counts, added when it commits

_terms = cast(Table, GlossaryTerm.__table__)
_ADD_VIEWS = (
    update(_terms)
    .where(_terms.c.workspace_id == bindparam("ws"), _terms.c.id == bindparam("term"))
    .values(view_count=_terms.c.view_count + bindparam("views"))
)
# The looker's side is read as the row is written; a workspace deleted meanwhile gets none.
_ADD_LOOKUP = insert(GlossaryLookup).from_select(
    [
        "workspace_id",
        "side",
        "query",
        "term_name",
        "term_origin",
        "found",
        "looked_up_on",
        "lookups",
    ],
    select(
        bindparam("workspace_id"),
        select(Person.side)
        .where(
            Person.workspace_id == bindparam("workspace_id"),
            Person.user_ref == bindparam("user_ref"),
        )
        .scalar_subquery(),
        bindparam("query"),
        bindparam("term_name"),
        bindparam("term_origin"),
        bindparam("found"),
        bindparam("looked_up_on"),
        bindparam("lookups"),
    ).where(exists().where(Workspace.id == bindparam("workspace_id"))),
)


class LookupTally:
    """One process's counts not yet written, and the views it has counted since it began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._views: Counter[tuple[str, int]] = Counter()
        # Alike lookups (LOOKUP_FIELDS) waiting, with how many: written as one row each.
        self._lookups: Counter[tuple[Any, ...]] = Counter()
        self._counted: Counter[tuple[str, int]] = Counter()
        self._dropped = 0  # lookups not kept since the last write (too many waiting)
        self._write: Callable[[], Session] | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def batching(self) -> bool:
        """Whether counts wait for the writer (a server) rather than go in the command's
        own transaction."""
        return self._write is not None

    def counted_here(self, workspace_id: str, term_id: int) -> int:
        """Views of the term this process has counted since it began."""
        return self._counted[(workspace_id, term_id)]

    def pending_views(self, workspace_id: str, term_id: int) -> int:
        """Views of the term counted here and not yet written."""
        return self._views[(workspace_id, term_id)]

    def count_view(self, session: Session, workspace_id: str, term_id: int) -> None:
        """A view of the term, counted when (and if) the session's transaction commits."""
        _pending(session).append((workspace_id, term_id))

    def count_lookup(self, session: Session, row: dict[str, Any]) -> None:
        """One typed lookup (glossary_lookups.record's row), counted at the commit."""
        _pending(session).append(row)

    def _add(self, counts: list[tuple[str, int] | dict[str, Any]]) -> None:
        with self._lock:
            for count in counts:
                if isinstance(count, tuple):
                    self._views[count] += 1
                    self._counted[count] += 1
                elif len(self._lookups) < MAX_PENDING_LOOKUPS or _key(count) in self._lookups:
                    self._lookups[_key(count)] += 1
                else:
                    self._dropped += 1  # said once a write, not once a lookup

    def start(self, session_factory: sessionmaker[Session]) -> None:
        """Write counts every FLUSH_SECONDS from a background thread, until `stop`.

        PostgreSQL only: on SQLite a writer of its own would queue behind the reader
        that asks for the pending counts (one writer at a time), and a SQLite server is
        a small one: it counts in each command's transaction."""
        bind = session_factory.kw.get("bind")
        if self._thread is not None or bind is None or bind.dialect.name != "postgresql":
            return
        self._write = session_factory
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="glossary-tally", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the writer, writing what is pending first."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)
        self.flush()
        self._write = None

    def flush(self) -> None:
        """Write what is pending now, in one transaction (kept for later if that fails)."""
        if self._write is None:
            return
        with self._lock:
            views, self._views = self._views, Counter()
            lookups, self._lookups = self._lookups, Counter()
            dropped, self._dropped = self._dropped, 0
        if dropped:
            logger.warning("dropped %d lookup(s) past %d waiting", dropped, MAX_PENDING_LOOKUPS)
        if not views and not lookups:
            return
        try:
            with self._write() as session, session.begin():
                if views:
                    session.connection().execute(
                        _ADD_VIEWS,
                        [
                            {"ws": workspace_id, "term": term_id, "views": count}
                            for (workspace_id, term_id), count in sorted(views.items())
                        ],
                    )
                if lookups:
                    session.connection().execute(
                        _ADD_LOOKUP,
                        [
                            {**dict(zip(LOOKUP_FIELDS, key, strict=True)), "lookups": count}
                            for key, count in lookups.items()
                        ],
                    )
        except Exception:
            logger.exception("could not write %d lookup(s); kept for the next try", len(lookups))
            with self._lock:
                self._views.update(views)
                self._lookups.update(lookups)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self.flush()


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in LOOKUP_FIELDS)


def _pending(session: Session) -> list[tuple[str, int] | dict[str, Any]]:
    pending: list[tuple[str, int] | dict[str, Any]] = session.info.setdefault(_PENDING_KEY, [])
    return pending


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    counts = session.info.pop(_PENDING_KEY, None)
    tally = tally_of(session)
    if counts and tally is not None:
        tally._add(counts)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def attach(factory: sessionmaker[Session]) -> LookupTally:
    """Give the sessions of `factory` a tally of their own (one per database and process)."""
    tally = LookupTally()
    factory.kw.setdefault("info", {})[_TALLY_KEY] = tally
    return tally


def tally_of(session: Session) -> LookupTally | None:
    return session.info.get(_TALLY_KEY)


def write_pending(session: Session) -> None:
    """Write this process's pending counts before reading them (the dashboard); they
    commit on a connection of their own, which a reader's next statement sees."""
    tally = tally_of(session)
    if tally is not None:
        tally.flush()
