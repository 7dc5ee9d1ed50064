"""One console per database delivers the scheduled messages; a second one is told so.

Two consoles on one database would otherwise take turns at random with each scheduled
message, so half of a stand-up's DMs would show in one terminal and half in the other.
The first console holds a lock for as long as it runs: on SQLite a lock on a file beside
the database, on PostgreSQL a session advisory lock (both go when the process does).
"""

from __future__ import annotations

import logging
from contextlib import suppress
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

logger = logging.getLogger(__name__)

# An arbitrary key of bridgebot's own for pg_try_advisory_lock.
ADVISORY_KEY = 0x62726467_636F6E  # "brdg" "con"


class SchedulerLock:
    """Held by the console that runs the scheduler; `held` is False for any other."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._file: IO[bytes] | None = None
        self._connection: Connection | None = None
        self.held = self._acquire()

    def _acquire(self) -> bool:
        url = self._engine.url
        if url.get_backend_name() == "postgresql":
            self._connection = self._engine.connect()
            got = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar_one()
            self._connection.commit()
            if not got:
                self._connection.close()
                self._connection = None
            return bool(got)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return self._lock_file(Path(f"{url.database}.console-lock"))
        return True  # a private in-memory database: no other console can share it

    def _lock_file(self, path: Path) -> bool:
        try:
            import fcntl
        except ImportError:  # not on this system (Windows): no check, as before
            return True
        handle = path.open("wb")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._connection is not None:
            # Unlocked before the connection goes back to the pool, where it would stay held.
            with suppress(Exception):  # a lost connection has lost the lock already
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                self._connection.commit()
            self._connection.close()
            self._connection = None
        if self._file is not None:
            self._file.close()  # closing the file releases the lock
            self._file = None
