"""The secret key lives outside the database: a key file made on first run, or the setting.

The database keeps only a fingerprint, so a dump of it cannot recreate a voter hash, and
an instance whose key differs from the one the database was used with is refused.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from pydantic import SecretStr
from sqlalchemy import select, text

from bot.deps import Deps, build_deps
from bot.models import AppSecret, Base, PulseAnswer
from bot.services import pulse, standups, workspaces
from bot.services.secret_key import LEGACY_KEY_NAME, SecretKeyRefused
from bot.services.standups import StandupDraft
from bot.settings import Settings
from handlers.cli import connect
from tests.processes import clean_env, run_bridgebot
from tests.services.test_pulse import SLOT, WS, open_poll, seed, users

OLD_KEY = "a-key-that-bridgebot-generated-and-stored-in-its-database-before-0010"


def key_file() -> Path:
    """The run's key file, which the `deps` fixtures use (see tests/conftest.py)."""
    return Path(os.environ["BRIDGEBOT_SECRET_KEY_FILE"])


def with_key_file(settings: Settings, path: Path) -> Settings:
    return settings.model_copy(update={"bridgebot_secret_key_file": path})


def dump(deps: Deps) -> list[str]:
    """Every value of every row of every table, as someone with a copy of the database has."""
    values = []
    with deps.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                values += [str(value) for value in row if value is not None]
    return values


def test_the_key_file_is_made_on_first_run_readable_by_its_owner_only_then_reused(
    settings: Settings, tmp_path: Path
) -> None:
    made = tmp_path / "data" / "bridgebot.key"
    first = build_deps(with_key_file(settings, made), upgrade_schema=False)
    first.engine.dispose()
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert made.read_text().strip() == first.secret_key
    assert len(first.secret_key) >= 32

    restarted = build_deps(with_key_file(settings, made), upgrade_schema=False)
    restarted.engine.dispose()
    assert restarted.secret_key == first.secret_key

    # Random, not derived from anything: another installation gets another key.
    other = build_deps(
        Settings(
            _env_file=None,
            database_url=f"sqlite:///{tmp_path}/other.db",
            bridgebot_secret_key_file=tmp_path / "elsewhere" / "other.key",
        )
    )
    other.engine.dispose()
    assert other.secret_key != first.secret_key
    assert (tmp_path / "elsewhere" / "other.key").read_text().strip() == other.secret_key


def test_a_database_dump_holds_nothing_that_recreates_a_voter_hash(deps: Deps) -> None:
    voters = users("MK", 3)
    seed(deps, marketing=voters)
    poll = open_poll(deps)
    with deps.session_factory.begin() as session:
        for user in voters:
            pulse.vote(
                session=session, workspace_id=WS, poll_id=poll.id, question=0, value=4,
                user_ref=user, secret_key=deps.secret_key, now=SLOT + timedelta(hours=1),
            )  # fmt: skip
        stored = set(session.execute(select(PulseAnswer.voter_hash)).scalars())
    # The poll is open, so its hashes are still keyed: with the key they are found.
    assert {pulse.voter_hash(deps.secret_key, WS, poll.id, user) for user in voters} == stored

    everything = dump(deps)
    assert deps.secret_key not in everything
    for candidate in everything:  # try every stored value as the key
        for user in voters:
            assert pulse.voter_hash(candidate, WS, poll.id, user) not in stored


def test_an_instance_with_another_key_is_refused_with_a_clear_message(
    deps: Deps, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    another = tmp_path / "another.key"
    another_file = with_key_file(settings, another)
    # A new instance with no key file is not given a new key the database would not match.
    with pytest.raises(SecretKeyRefused, match="but this database already has a key; copy"):
        build_deps(another_file, upgrade_schema=False)
    assert not another.exists()

    another.write_text("y" * 48)
    another.chmod(0o600)
    another_setting = settings.model_copy(
        update={
            "bridgebot_secret_key": SecretStr("x" * 48),
            "bridgebot_secret_key_file": key_file(),
        }
    )
    for refused in (another_file, another_setting):
        with pytest.raises(SecretKeyRefused, match="not the one this database was used with"):
            build_deps(refused, upgrade_schema=False)

    with pytest.raises(typer.Exit):
        connect(another_file)
    said = capsys.readouterr().err
    assert "bridgebot: bad setting: BRIDGEBOT_SECRET_KEY: this key is not the one" in said
    assert "Give every instance the same key" in said

    # The same key as a setting is this database's key, wherever it comes from.
    same = settings.model_copy(update={"bridgebot_secret_key": SecretStr(deps.secret_key)})
    accepted = build_deps(with_key_file(same, tmp_path / "unused.key"), upgrade_schema=False)
    accepted.engine.dispose()
    assert not (tmp_path / "unused.key").exists()


def test_a_key_file_others_may_read_or_that_cannot_be_read_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    shared = tmp_path / "shared.key"
    shared.write_text("k" * 48)
    shared.chmod(0o644)
    with pytest.raises(SecretKeyRefused, match=r"every user of this machine can read.*chmod 600"):
        build_deps(with_key_file(settings, shared), upgrade_schema=False)

    unreadable = tmp_path / "a-directory.key"
    unreadable.mkdir(mode=0o700)
    with pytest.raises(SecretKeyRefused, match="cannot read"):
        build_deps(with_key_file(settings, unreadable), upgrade_schema=False)

    empty = tmp_path / "empty.key"
    empty.touch(mode=0o600)
    with pytest.raises(SecretKeyRefused, match="holds no key of at least 32 characters"):
        build_deps(with_key_file(settings, empty), upgrade_schema=False)


def test_upgrading_moves_the_stored_key_out_and_keeps_calendar_links_and_open_votes(
    database_url: str, settings: Settings, tmp_path: Path
) -> None:
    settings = with_key_file(settings, tmp_path / "moved-out.key")
    # What a database looked like before: the key itself in app_secrets.
    before = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    old = build_deps(settings.model_copy(update={"bridgebot_secret_key": SecretStr(OLD_KEY)}))
    seed(old, marketing=["U0ANN"])
    poll = open_poll(old)
    with old.session_factory.begin() as session:
        session.execute(text("DELETE FROM app_secrets"))
        session.add(AppSecret(name=LEGACY_KEY_NAME, value=OLD_KEY))
        pulse.vote(
            session=session, workspace_id=WS, poll_id=poll.id, question=0, value=2,
            user_ref="U0ANN", secret_key=OLD_KEY, now=SLOT + timedelta(hours=1),
        )  # fmt: skip
        workspaces.ensure_workspace(
            session=session, workspace_id="T0CAL", platform="slack", timezone="UTC"
        )
        feed = standups.create(
            session=session, workspace_id="T0CAL",
            draft=StandupDraft(
                name="Daily", channel_ref="C0CAL", weekdays="mon", local_time="10:00",
                timezone="UTC", participants="U0ANN",
            ),
            creator_ref="U0ANN", now=before, secret_key=OLD_KEY,
        )  # fmt: skip
    old.engine.dispose()
    assert not (tmp_path / "moved-out.key").exists()

    upgraded = build_deps(settings)
    try:
        assert upgraded.secret_key == OLD_KEY
        assert (tmp_path / "moved-out.key").read_text().strip() == OLD_KEY
        assert stat.S_IMODE((tmp_path / "moved-out.key").stat().st_mode) == 0o600
        assert OLD_KEY not in dump(upgraded)
        # A new stand-up's link is made with the same key as before.
        assert standups.calendar_token(upgraded.secret_key, "T0CAL", 9, before) == (
            standups.calendar_token(OLD_KEY, "T0CAL", 9, before)
        )
        with upgraded.session_factory() as session:  # what GET /calendar/{token}.ics reads
            found = standups.get_by_calendar_token(session=session, token=feed.calendar_token)
        assert found is not None and found.name == "Daily"
        # The open pulse still knows Ann's vote: her second one replaces it.
        with upgraded.session_factory.begin() as session:
            pulse.vote(
                session=session, workspace_id=WS, poll_id=poll.id, question=0, value=5,
                user_ref="U0ANN", secret_key=upgraded.secret_key, now=SLOT + timedelta(hours=2),
            )  # fmt: skip
            assert pulse.my_answers(
                session=session, workspace_id=WS, poll_id=poll.id, user_ref="U0ANN",
                secret_key=upgraded.secret_key,
            ) == {0: 5}  # fmt: skip
            assert (
                session.scalar(select(AppSecret).where(AppSecret.name == LEGACY_KEY_NAME)) is None
            )
    finally:
        upgraded.engine.dispose()
    again = build_deps(settings, upgrade_schema=False)
    try:
        with again.session_factory() as session:
            assert pulse.respondent_count(session=session, workspace_id=WS, poll_id=poll.id) == 1
        assert again.secret_key == OLD_KEY
    finally:
        again.engine.dispose()


@pytest.mark.slow  # real bridgebot processes
def test_bridgebot_keeps_its_key_beside_its_database_and_refuses_a_file_others_can_read(
    tmp_path: Path,
) -> None:
    # Every default: bridgebot.db and bridgebot.key in the working directory.
    env = clean_env(LOG_LEVEL="WARNING", BRIDGEBOT_SECRET_KEY_FILE="")
    first = run_bridgebot("console", "--user", "alice", cwd=tmp_path, env=env, stdin="")
    assert first.returncode == 0, first.stderr
    made = tmp_path / "bridgebot.key"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert (tmp_path / "bridgebot.db").exists()

    made.chmod(0o644)
    refused = run_bridgebot("console", "--user", "alice", cwd=tmp_path, env=env, stdin="")
    assert refused.returncode != 0
    assert refused.stderr.splitlines() == [
        f"bridgebot: bad setting: BRIDGEBOT_SECRET_KEY_FILE: every user of this machine can "
        f"read or change {made} (mode -rw-r--r--); run: chmod 600 {made}"
    ]
