"""The process-wide secret that keys pulse hashes and calendar URLs, kept out of the database.

The key is BRIDGEBOT_SECRET_KEY, or else the key file (created with mode 0600 on first
run). The database holds only a fingerprint of it: a dump of the database cannot recreate
a voter hash, and an instance started with a different key is refused, not left to
miss duplicate votes and hand out calendar URLs that the other instances do not know.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.models import AppSecret
from bot.settings import SettingError

# Where versions before 0010 stored the key itself; moved to the key file on first start.
LEGACY_KEY_NAME = "secret_key"
FINGERPRINT_NAME = "secret_key_fingerprint"
MIN_KEY_LENGTH = 32
KEY_FILE = "BRIDGEBOT_SECRET_KEY_FILE"


class SecretKeyRefused(SettingError):
    """The key cannot be used; `str()` is the one line shown to the operator."""


def fingerprint(key: str) -> str:
    """Tells keys apart without revealing them (an HMAC cannot be run backwards)."""
    return hmac.new(key.encode(), b"bridgebot secret key fingerprint", hashlib.sha256).hexdigest()


def ensure_secret_key(*, session: Session, configured: str | None, key_file: Path) -> str:
    """The configured key, or the key file's (generated on first run).

    A key that an older version stored in the database is moved out to the key file
    first, so calendar URLs and open pulses keep working across the upgrade.

    Raises:
        SecretKeyRefused: an unsafe or unreadable key file, or a key that differs from the
            one the database was used with.
    """
    legacy = session.get(AppSecret, LEGACY_KEY_NAME)
    if legacy is not None:
        if legacy.value != configured:
            _keep_in_file(legacy.value, key_file)
        session.delete(legacy)
        session.flush()
    if not configured and not key_file.exists() and _stored_fingerprint(session) is not None:
        # Another instance made this database's key: a new one here could only be refused.
        raise SecretKeyRefused(
            f"{KEY_FILE}: there is no {key_file.absolute()}, but this database already has a "
            "key; copy the key file of the instance that made it here, or set "
            "BRIDGEBOT_SECRET_KEY to that key"
        )
    key = configured or _read_or_create(key_file)
    _check_fingerprint(session, key)
    return key


def _stored_fingerprint(session: Session) -> str | None:
    stored = session.get(AppSecret, FINGERPRINT_NAME)
    return stored.value if stored is not None else None


def _check_fingerprint(session: Session, key: str) -> None:
    insert_ignoring_conflicts(
        session, AppSecret, {"name": FINGERPRINT_NAME, "value": fingerprint(key)}, ["name"]
    )
    stored = _stored_fingerprint(session)
    assert stored is not None
    if not hmac.compare_digest(stored, fingerprint(key)):
        raise SecretKeyRefused(
            "BRIDGEBOT_SECRET_KEY: this key is not the one this database was used with, so "
            "duplicate pulse votes would go unnoticed and calendar links would change. Give "
            "every instance the same key: the same BRIDGEBOT_SECRET_KEY, or a copy of the "
            f"first instance's key file ({KEY_FILE})"
        )


def _keep_in_file(key: str, key_file: Path) -> None:
    """Write a key found in the database to the key file, unless the file already holds it."""
    if key_file.exists():
        if _read(key_file) != key:
            raise SecretKeyRefused(
                f"{KEY_FILE}: {key_file.absolute()} holds a different key from the one this "
                "database stored before keys moved out of it; move that file away (the "
                "database's key is written there on the next start)"
            )
        return
    _create(key_file, key)


def _read_or_create(key_file: Path) -> str:
    if not key_file.exists():
        _create(key_file, secrets.token_urlsafe(48))
    return _read(key_file)


def _create(key_file: Path, key: str) -> None:
    """Create the file with mode 0600 and its whole content at once; an existing file wins
    (another instance on the same machine may be starting too)."""
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=".bridgebot-key-")
        try:
            with os.fdopen(descriptor, "w") as handle:  # mkstemp makes it 0600
                handle.write(key + "\n")
            os.link(temporary, key_file)  # fails if the file exists: never overwrites
        finally:
            os.unlink(temporary)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SecretKeyRefused(
            f"{KEY_FILE}: cannot create {key_file.absolute()} ({exc.strerror}); point "
            "it at a writable place or set BRIDGEBOT_SECRET_KEY"
        ) from None


def _read(key_file: Path) -> str:
    where = key_file.absolute()
    try:
        mode = key_file.stat().st_mode
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            raise SecretKeyRefused(
                f"{KEY_FILE}: every user of this machine can read or change {where} "
                f"(mode {stat.filemode(mode)}); run: chmod 600 {where}"
            )
        key = key_file.read_text().strip()
    except OSError as exc:
        raise SecretKeyRefused(f"{KEY_FILE}: cannot read {where} ({exc.strerror})") from None
    if len(key) < MIN_KEY_LENGTH:
        raise SecretKeyRefused(
            f"{KEY_FILE}: {where} holds no key of at least {MIN_KEY_LENGTH} characters"
        )
    return key
