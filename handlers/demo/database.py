"""The demo's own SQLite file, marked as a demo: a real database is never written to."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

# SQLite's header field for "which application's file is this" (PRAGMA application_id):
# "bbDm", for bridgebot demo. Only a file carrying it is ever replaced.
DEMO_APPLICATION_ID = 0x6262446D


class DemoDatabaseUnusable(Exception):
    """The demo cannot use that file; `str()` says why, to the person."""


class NotADemoDatabase(DemoDatabaseUnusable):
    """The file exists and is not one the demo made."""


def is_demo_database(path: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return bool(db.execute("PRAGMA application_id").fetchone()[0] == DEMO_APPLICATION_ID)
    except sqlite3.DatabaseError:  # not SQLite at all
        return False


def fresh_demo_database(path: Path) -> str:
    """An empty SQLite file at `path`, marked as a demo; its URL.

    A demo database already there is replaced; anything else is refused, untouched.
    """
    if path.exists():
        if not is_demo_database(path):
            raise NotADemoDatabase(
                f"{path} exists and is not a demo database; the demo never writes into "
                "another database. Choose a new file with --database."
            )
        for leftover in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path)) as db:
            db.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
            db.commit()
    except (OSError, sqlite3.Error) as exc:
        raise DemoDatabaseUnusable(f"cannot make the demo database {path}: {exc}") from None
    return f"sqlite:///{path.resolve()}"
