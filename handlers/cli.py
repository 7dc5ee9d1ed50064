"""The `bridgebot` command line; the composition root that picks and starts an adapter."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from bot.settings import SettingError, Settings, describe_validation_error, get_settings

if TYPE_CHECKING:  # imported when a command needs it, so `bridgebot --help` starts fast
    from bot.deps import Deps

cli = typer.Typer(
    name="bridgebot",
    help="bridgebot: Marketing and IT, working as one team (Slack, Teams, console).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
glossary_cli = typer.Typer(help="Import or export a workspace's glossary.", no_args_is_help=True)
cli.add_typer(glossary_cli, name="glossary")

logger = logging.getLogger("bridgebot")


def show_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"bridgebot {package_version('bridgebot')}")
        raise typer.Exit()


@cli.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """bridgebot: Marketing and IT, working as one team (Slack, Teams, console)."""


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"bridgebot: {message}", err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """Settings, or one clear line naming the bad setting and an exit."""
    try:
        return get_settings()
    except ValidationError as exc:
        fail(f"bad setting: {describe_validation_error(exc)}")


CONSOLE_LOG = "bridgebot-console.log"


def configure_logging(settings: Settings, *, console: bool = False) -> None:
    """Log lines to stderr; in the console, to a file in BRIDGEBOT_FILES_DIR instead, so
    they never land between a reply's lines."""
    destination: dict[str, Any] = {"stream": sys.stderr}
    if console:
        settings.bridgebot_files_dir.mkdir(parents=True, exist_ok=True)
        destination = {"filename": settings.bridgebot_files_dir / CONSOLE_LOG}
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,  # `run` logged to stderr until it knew it would be the console
        **destination,
    )
    # Alembic narrates every plugin at INFO; only its warnings matter to an operator.
    # Alembic narrates every plugin and APScheduler every tick at INFO.
    for chatty in ("alembic", "apscheduler"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


def connect(settings: Settings, *, upgrade_schema: bool = True) -> Deps:
    """Deps with the schema upgraded, or one clear line if the database is unreachable."""
    from bot.deps import build_deps

    try:
        return build_deps(settings, upgrade_schema=upgrade_schema)
    except SettingError as exc:  # the secret key is unusable or not this database's
        fail(f"bad setting: {exc}")
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        fail(f"cannot use the database in DATABASE_URL: {reason}", code=1)


@cli.command()
def run() -> None:
    """Run bridgebot: Slack and/or Teams if credentials are set, else the console."""
    from bot.settings import RunMode
    from handlers.teams.config import settings_problem, teams_configured

    settings = load_settings()
    if problem := settings_problem(settings):
        fail(f"bad setting: {problem}")
    configure_logging(settings)
    if settings.run_mode is RunMode.CONSOLE and not teams_configured(settings):
        if not sys.stdin.isatty():
            # A container or a service has no terminal: quitting quietly (0) would only
            # be restarted for ever, with nothing to say why.
            fail(
                "no Slack or Teams credentials are set and there is no terminal for the "
                "local console: put SLACK_BOT_TOKEN (or TEAMS_APP_ID and TEAMS_APP_PASSWORD) "
                "in .env, or use `bridgebot console` to read commands from a pipe.",
                code=1,
            )
        logger.info("no Slack or Teams credentials set: starting the local console")
        _console(settings)
        return
    import uvicorn

    from handlers.arrival import ArrivalStampingProtocol
    from handlers.server import create_web_app

    deps = connect(settings)
    workers = settings.workers

    def serve(app: Any, **more: Any) -> None:
        uvicorn.run(
            app,
            host=settings.bridgebot_host,
            port=settings.bridgebot_port,
            log_level=settings.log_level.lower(),
            lifespan="on",
            # Each Slack request already gets one log line of its own (without its text).
            access_log=False,
            http=ArrivalStampingProtocol,
            **more,
        )

    if settings.bridgebot_workers is None and settings.database_is_sqlite:
        logger.info(
            "serving with one worker process: SQLite lets one process write at a time and "
            "has no row locks for the scheduler's claims (use PostgreSQL for one per core)"
        )
    if workers == 1:
        serve(create_web_app(deps))
        return
    # The schema is up to date and the key checked: each worker connects on its own.
    deps.engine.dispose()
    logger.info("serving with %d worker processes on one port", workers)
    with metrics_shared_by_workers():
        serve(WORKER_APP, factory=True, workers=workers)


# uvicorn imports this in each worker process it starts (with `factory=True`).
WORKER_APP = "handlers.cli:worker_app"
MULTIPROCESS_METRICS = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def metrics_shared_by_workers() -> Iterator[Path]:
    """A fresh folder where every worker writes its metrics, for any worker to serve them all.

    prometheus_client's multiprocess mode reads PROMETHEUS_MULTIPROC_DIR when it is first
    imported, so it is set before the workers start (they inherit it). A folder left by
    an earlier run would add its counts to this one's, so each run makes its own and
    removes it when the last worker has stopped.
    """
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="bridgebot-metrics-"))
    previous = os.environ.get(MULTIPROCESS_METRICS)
    os.environ[MULTIPROCESS_METRICS] = str(folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if previous is None:
            os.environ.pop(MULTIPROCESS_METRICS, None)
        else:
            os.environ[MULTIPROCESS_METRICS] = previous


def worker_app() -> Any:
    """The web app of one worker process of `bridgebot run` (uvicorn calls this in each)."""
    from handlers.server import create_web_app

    settings = load_settings()
    configure_logging(settings)
    # The parent process migrated the schema and checked the key before starting us.
    return create_web_app(connect(settings, upgrade_schema=False))


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
    from handlers.dashboard.background import serve_in_background

    configure_logging(settings, console=True)
    deps = connect(settings)
    # /bridge dashboard links open while the console runs.
    stop_dashboard = serve_in_background(deps)
    try:
        asyncio.run(run_console(deps, input_stream=sys.stdin, output=sys.stdout, user_ref=user))
    except KeyboardInterrupt:
        pass
    finally:
        stop_dashboard()
        deps.engine.dispose()


@cli.command()
def demo(
    database: Annotated[
        Path | None,
        typer.Option(
            help="Keep the demo's database in this file (a demo database there is replaced; "
            "any other file is refused). Default: a temporary file, deleted at the end."
        ),
    ] = None,
    weeks: Annotated[int, typer.Option(min=1, max=12, help="Weeks to live.")] = 6,
    seed: Annotated[int, typer.Option(help="Another seed, other made-up answers.")] = 15,
) -> None:
    """A demo workspace of 30 made-up people living six weeks, then the console on it."""
    import tempfile

    from handlers.dashboard.background import serve_in_background
    from handlers.demo.database import DemoDatabaseUnusable
    from handlers.demo.runner import build_demo_deps, run_demo

    settings = load_settings()
    configure_logging(settings, console=True)
    with tempfile.TemporaryDirectory(prefix="bridgebot-demo-") as scratch:
        path = database or Path(scratch) / "bridgebot-demo.db"
        try:
            deps = build_demo_deps(settings, path, weeks)
        except DemoDatabaseUnusable as exc:
            fail(str(exc))
        # With a person at the terminal, /bridge dashboard links open on the demo's data.
        stop_dashboard = serve_in_background(deps) if sys.stdin.isatty() else None
        try:
            asyncio.run(
                run_demo(
                    deps,
                    database=path,
                    weeks=weeks,
                    seed=seed,
                    input_stream=sys.stdin,
                    output=sys.stdout,
                )
            )
        except KeyboardInterrupt:
            pass
        finally:
            if stop_dashboard is not None:
                stop_dashboard()
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


WorkspaceOption = Annotated[
    str | None,
    typer.Option(help="Workspace id (Slack team id); needed when there is more than one."),
]


def _pick_workspace(deps: Any, wanted: str | None) -> str:
    """The workspace to act on: the one named, the only one, or the console's."""
    from sqlalchemy import select

    from bot.models import Workspace
    from bot.router import Caller, CommandContext, prepare_workspace

    with deps.session_factory.begin() as session:
        known = list(session.execute(select(Workspace.id).order_by(Workspace.id)).scalars())
        if wanted:
            if wanted not in known:
                fail(f"no workspace {wanted!r}; known: {', '.join(known) or 'none'}")
            return wanted
        if len(known) > 1:
            fail(f"several workspaces; pick one with --workspace ({', '.join(known)})")
        if known:
            return known[0]
        caller = Caller(workspace_id="console", user_ref="cli", platform="console", is_admin=True)
        ctx = CommandContext(
            session=session,
            caller=caller,
            now=deps.clock(),
            default_timezone=deps.settings.bridgebot_timezone,
        )
        prepare_workspace(ctx, deps.router)
        return "console"


@glossary_cli.command("import")
def glossary_import(
    file: Annotated[Path, typer.Argument(help="A .csv, .yaml or .yml glossary file.")],
    workspace: WorkspaceOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and report; store nothing.")
    ] = False,
) -> None:
    """Add or update terms from a file; report what was added, updated and rejected."""
    from rich.progress import Progress

    from bot.services import glossary_io

    settings = load_settings()
    configure_logging(settings)
    try:
        rows = glossary_io.read_rows(file)
    except glossary_io.GlossaryFileError as exc:
        fail(str(exc))
    deps = connect(settings)
    workspace_id = _pick_workspace(deps, workspace)
    session = deps.session_factory()
    with session.begin(), Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task(f"Importing {file.name}", total=len(rows))
        report = glossary_io.import_rows(
            session=session,
            workspace_id=workspace_id,
            rows=rows,
            editor_ref=None,
            now=deps.clock(),
            progress=lambda n: progress.advance(task, n),
        )
        if dry_run:
            session.rollback()
    session.close()
    note = " (dry run: nothing stored)" if dry_run else ""
    typer.echo(f"{file.name} → workspace {workspace_id}: {report.summary()}{note}")
    for rejection in report.rejected:
        label = f" ({rejection.name})" if rejection.name else ""
        typer.echo(f"  line {rejection.line}{label}: {rejection.reason}")
    if report.rejected:
        raise typer.Exit(1)


@glossary_cli.command("export")
def glossary_export(
    file: Annotated[Path, typer.Argument(help="Where to write: .csv, .yaml or .yml.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Write every term of the workspace to a file."""
    from bot.services import glossary, glossary_io

    settings = load_settings()
    configure_logging(settings)
    try:
        glossary_io.file_format(file)
    except glossary_io.GlossaryFileError as exc:
        fail(str(exc))
    deps = connect(settings)
    workspace_id = _pick_workspace(deps, workspace)
    with deps.session_factory() as session:
        cards = glossary.all_cards(session=session, workspace_id=workspace_id)
    count = glossary_io.export_cards(cards, file)
    typer.echo(f"wrote {count} terms of workspace {workspace_id} to {file}")


@cli.command("delete-workspace")
def delete_workspace(
    workspace: Annotated[str, typer.Option(help="Workspace id (Slack team id) to delete.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every row of a workspace and its stored Slack tokens, for good."""
    from bot.services.workspace_deletion import delete_workspace as delete_rows
    from handlers.slack.installation import delete_stored_tokens

    settings = load_settings()
    configure_logging(settings)
    deps = connect(settings)
    try:
        if not yes and not typer.confirm(
            f"Delete all of workspace {workspace}'s data? This cannot be undone."
        ):
            fail("nothing deleted")
        with deps.session_factory.begin() as session:
            found = delete_rows(session=session, workspace_id=workspace)
        if settings.slack_client_id:
            delete_stored_tokens(deps.engine, settings.slack_client_id, workspace)
    finally:
        deps.engine.dispose()
    if not found:
        fail(f"no workspace {workspace!r} has data here (any stored Slack tokens were deleted)")
    typer.echo(f"deleted workspace {workspace}: its data and any stored Slack tokens")


@cli.command("dashboard-link")
def dashboard_link(
    workspace: Annotated[str, typer.Option(help="Workspace id (Slack team id, Teams tenant id).")],
    user: Annotated[str, typer.Option(help="The user id the link signs in.")],
    admin: Annotated[
        bool | None,
        typer.Option(
            "--admin/--no-admin",
            help="Whether the session sees every page (default: if the user is in BRIDGEBOT_ADMINS).",
        ),
    ] = None,
) -> None:
    """Print a single-use dashboard sign-in link, valid for 10 minutes."""
    from bot.errors import DomainError
    from bot.services import dashboard_access

    settings = load_settings()
    configure_logging(settings)
    deps = connect(settings)
    is_admin = admin if admin is not None else user in settings.bridgebot_admins
    try:
        with deps.session_factory.begin() as session:
            token = dashboard_access.create_link(
                session=session,
                workspace_id=workspace,
                user_ref=user,
                is_admin=is_admin,
                now=deps.clock(),
            )
    except DomainError as exc:
        fail(str(exc))
    finally:
        deps.engine.dispose()
    typer.echo(dashboard_access.sign_in_url(settings.public_url, token))
    typer.echo(
        f"works once, for 10 minutes; {'admin view: every page' if is_admin else 'shared results only'}",
        err=True,
    )


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
    from bot.commands import build_router
    from handlers.slack.manifest import manifest_yaml

    commands = build_router().commands()
    typer.echo(manifest_yaml(commands, socket_mode=socket_mode, base_url=url), nl=False)


@cli.command("teams-manifest")
def teams_manifest(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the app package (.zip).")
    ] = Path("bridgebot-teams.zip"),
    app_id: Annotated[
        str | None, typer.Option(help="The bot's Microsoft App ID (default: TEAMS_APP_ID).")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(help="Public https base URL of this bot (default: BRIDGEBOT_PUBLIC_URL)."),
    ] = None,
    version: Annotated[str, typer.Option(help="The app package version.")] = "1.0.0",
) -> None:
    """Write the Teams app package (manifest.json and two icons, zipped) to upload in Teams."""
    from bot.commands import build_router
    from handlers.teams.config import GUID
    from handlers.teams.manifest import manifest as teams_app_manifest
    from handlers.teams.manifest import package

    settings = load_settings()
    bot_id = app_id or settings.teams_app_id
    if not bot_id or not GUID.match(bot_id):
        fail("teams-manifest needs the bot's Microsoft App ID: set TEAMS_APP_ID or pass --app-id")
    base_url = (url or settings.bridgebot_public_url or "").rstrip("/")
    if not base_url.startswith("https://"):
        fail("teams-manifest needs this bot's public https URL: set BRIDGEBOT_PUBLIC_URL or --url")
    router = build_router()
    data = teams_app_manifest(
        router.commands(),
        message_actions=router.message_actions(),
        app_id=bot_id,
        base_url=base_url,
        version=version,
    )
    output.write_bytes(package(data))
    typer.echo(f"wrote {output}: upload it in Teams under Apps › Manage your apps › Upload an app")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
