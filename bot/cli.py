"""The `bridgebot` command line; the composition root that picks and starts an adapter."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from bot.settings import Settings, describe_validation_error, get_settings

cli = typer.Typer(
    name="bridgebot",
    help="bridgebot: Marketing and IT, working as one team (Slack, Teams, console).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")

logger = logging.getLogger("bridgebot")


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"bridgebot: {message}", err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """Settings, or one clear line naming the bad setting and an exit."""
    try:
        return get_settings()
    except ValidationError as exc:
        fail(f"bad setting: {describe_validation_error(exc)}")


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic narrates every plugin at INFO; only its warnings matter to an operator.
    # Alembic narrates every plugin and APScheduler every tick at INFO.
    for chatty in ("alembic", "apscheduler"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


def connect(settings: Settings):  # type: ignore[no-untyped-def]
    """Deps with the schema upgraded, or one clear line if the database is unreachable."""
    from bot.deps import build_deps

    try:
        return build_deps(settings)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        fail(f"cannot use the database in DATABASE_URL: {reason}", code=1)


@cli.command()
def run() -> None:
    """Run bridgebot: Slack (Socket Mode or HTTP) if credentials are set, else the console."""
    from bot.settings import RunMode

    settings = load_settings()
    configure_logging(settings)
    if settings.run_mode is RunMode.CONSOLE:
        logger.info("no Slack or Teams credentials set: starting the local console")
        _console(settings)
        return
    import uvicorn

    from handlers.server import create_web_app

    deps = connect(settings)
    uvicorn.run(
        create_web_app(deps),
        host=settings.bridgebot_host,
        port=settings.bridgebot_port,
        log_level=settings.log_level.lower(),
        lifespan="on",
    )


@cli.command()
def console(
    user: Annotated[str | None, typer.Option(help="Act as this user id (default: $USER).")] = None,
) -> None:
    """Run commands in this terminal against the local database."""
    settings = load_settings()
    configure_logging(settings)
    _console(settings, user)


def _console(settings: Settings, user: str | None = None) -> None:
    from handlers.console import run_console

    deps = connect(settings)
    try:
        asyncio.run(run_console(deps, input_stream=sys.stdin, output=sys.stdout, user_ref=user))
    except KeyboardInterrupt:
        pass
    finally:
        deps.engine.dispose()


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (also done automatically at start-up)."""
    from bot import migrate
    from bot.db import make_engine

    settings = load_settings()
    configure_logging(settings)
    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
    except OperationalError as exc:
        fail(f"cannot use the database in DATABASE_URL: {exc.orig}", code=1)
    typer.echo(f"database is at revision {migrate.current_revision(engine)}")


@cli.command()
def manifest(
    socket_mode: Annotated[
        bool, typer.Option("--socket-mode", help="Socket Mode variant (no public URL).")
    ] = False,
    url: Annotated[
        str, typer.Option(help="Public base URL of this bot (HTTP mode).")
    ] = "https://bridgebot.example.com",
) -> None:
    """Print the Slack app manifest (YAML) to paste into api.slack.com/apps."""
    from handlers.slack.manifest import manifest_yaml

    typer.echo(manifest_yaml(socket_mode=socket_mode, base_url=url), nl=False)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
