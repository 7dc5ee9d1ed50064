"""The secret key: generated once per database and shared by every instance."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bot.db import make_engine, make_session_factory
from bot.deps import Deps, build_deps
from bot.models import AppSecret
from bot.services.secret_key import SECRET_KEY_NAME, ensure_secret_key
from bot.settings import Settings


def _stored_keys(deps: Deps) -> list[tuple[str, str]]:
    with deps.session_factory() as session:
        return [(row.name, row.value) for row in session.execute(select(AppSecret)).scalars()]


def test_key_is_generated_on_first_run_then_reused(deps: Deps, tmp_path: Path) -> None:
    # build_deps (the fixture) made the first call.
    assert len(deps.secret_key) >= 32
    assert _stored_keys(deps) == [(SECRET_KEY_NAME, deps.secret_key)]

    with deps.session_factory.begin() as session:
        assert ensure_secret_key(session=session, configured=None) == deps.secret_key
    assert _stored_keys(deps) == [(SECRET_KEY_NAME, deps.secret_key)]

    # Random, not derived from anything: another database gets another key.
    other = build_deps(Settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/other.db"))  # type: ignore[call-arg]
    try:
        assert other.secret_key != deps.secret_key
    finally:
        other.engine.dispose()


def test_another_instance_on_the_same_database_gets_the_same_key(
    deps: Deps, settings: Settings
) -> None:
    other_engine = make_engine(settings.database_url)
    try:
        with make_session_factory(other_engine).begin() as session:
            assert ensure_secret_key(session=session, configured=None) == deps.secret_key
    finally:
        other_engine.dispose()

    restarted = build_deps(settings)
    try:
        assert restarted.secret_key == deps.secret_key
    finally:
        restarted.engine.dispose()


def test_configured_key_wins_and_nothing_is_stored(database_url: str) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=database_url, bridgebot_secret_key="configured-key-123"
    )
    deps = build_deps(settings)
    try:
        assert deps.secret_key == "configured-key-123"
        with deps.session_factory.begin() as session:
            assert ensure_secret_key(session=session, configured="another") == "another"
        with deps.session_factory() as session:
            assert session.scalar(select(func.count()).select_from(AppSecret)) == 0
    finally:
        deps.engine.dispose()
