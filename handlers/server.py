"""The FastAPI server: Slack and Teams endpoints, health, metrics; the scheduler in its lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from sqlalchemy import text

from bot.deps import Deps
from bot.metrics import REGISTRY
from bot.notify import Notifier
from bot.services import standups
from bot.services.calendar import standup_calendar
from bot.settings import RunMode
from handlers.body_limit import BodySizeLimit
from handlers.dashboard.app import add_dashboard
from handlers.metrics_access import metrics_allowed
from handlers.notifier import PlatformNotifier
from handlers.slack.app import (
    INSTALL_PATH,
    REDIRECT_PATH,
    create_installation_store,
    create_slack_app,
    create_slack_notifier,
)
from handlers.slack.background import BackgroundWork
from handlers.slack.client import make_http_session
from handlers.slack.lookups_in_ack import LookupsInAck
from handlers.slack.request_metrics import handle_measured
from handlers.slack.runtime import SlackRuntime
from handlers.slack.signature import SlackSignature
from handlers.teams.app import TeamsOptions, create_teams_bot, teams_configured
from schedules import TICK_JOB_ID, create_scheduler

logger = logging.getLogger(__name__)

WORKER_THREADS = 16
SHUTDOWN_GRACE_SECONDS = 10.0


def create_web_app(deps: Deps, *, teams_options: TeamsOptions | None = None) -> FastAPI:
    """The ASGI app for `bridgebot run` (Slack, Teams or both); nothing starts until its lifespan.

    `teams_options` are test seams (see TeamsOptions); the command line passes none.
    """
    slack_on = deps.settings.run_mode is not RunMode.CONSOLE

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        settings = deps.settings
        # Commands run their database work in threads; most of it is waiting on the
        # database, so more threads than cores keep the event loop's acks flowing.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="bridgebot")
        )
        http_session = make_http_session()
        background = BackgroundWork(busy_after=settings.bridgebot_busy_after_seconds)
        api.state.background = background  # what shutdown (and a test) waits for
        loop_watch = asyncio.create_task(background.lag.watch_loop())
        # The notifiers first, then the scheduler with them, then the adapters with its wake.
        installations = create_installation_store(settings) if slack_on else None
        notifiers: dict[str, Notifier] = {}
        if slack_on:
            notifiers["slack"] = create_slack_notifier(settings, http_session, installations)
        if teams_bot is not None:
            notifiers["teams"] = teams_bot.notifier
        scheduler = create_scheduler(deps, one_notifier(deps, notifiers))
        api.state.scheduler = scheduler
        slack_app = None
        api.state.lookups = None
        if slack_on:
            runtime = SlackRuntime(settings, http_session, background, wake=scheduler.wake)
            slack_app = create_slack_app(
                settings,
                deps,
                http_session,
                background,
                installations=installations,
                wake=scheduler.wake,
                scheduler=scheduler,
                runtime=runtime,
            )
            api.state.slack_handler = AsyncSlackRequestHandler(slack_app)
            api.state.lookups = LookupsInAck(deps, runtime)
        if teams_bot is not None:
            await teams_bot.start(wake=scheduler.wake)
        scheduler.start()
        deps.changes.start(deps.engine, settings.bridgebot_listen_url)
        deps.tally.start(deps.session_factory)
        deps.router.start_warm_ups(deps.session_factory)
        socket_handler = None
        if settings.run_mode is RunMode.SLACK_SOCKET and slack_app is not None:
            assert settings.slack_app_token is not None
            socket_handler = AsyncSocketModeHandler(
                slack_app, settings.slack_app_token.get_secret_value()
            )
            await socket_handler.connect_async()
            logger.info("connected to Slack in Socket Mode")
        modes = [settings.run_mode.value] if slack_on else []
        modes += ["teams"] if teams_bot is not None else []
        logger.info("bridgebot is up (%s, instance %s)", " + ".join(modes), deps.instance_id)
        # What start-up built lives as long as the process: kept out of the garbage
        # collector's full collections, which otherwise walk all of it (over 250,000
        # objects, 100 ms and more each) in the middle of a fan-out (see bench.fanout).
        # Once a process (tests start many apps), its garbage collected first.
        if not gc.get_freeze_count():
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            loop_watch.cancel()
            await scheduler.stop()
            # Work on requests already answered: give it a moment to finish.
            await background.drain(timeout=SHUTDOWN_GRACE_SECONDS)
            await asyncio.to_thread(deps.tally.stop)  # writes the counts still pending
            await asyncio.to_thread(deps.changes.stop)
            if socket_handler is not None:
                await socket_handler.close_async()
            await http_session.close()
            deps.engine.dispose()

    docs = deps.settings.bridgebot_api_docs
    api = FastAPI(
        title="bridgebot",
        lifespan=lifespan,
        # Off unless asked for: they would describe the server to anyone who asks.
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    # Outermost of our layers: an oversized body is refused before any route reads it.
    api.add_middleware(BodySizeLimit, max_bytes=deps.settings.bridgebot_max_body_bytes)
    # The Teams SDK registers POST /api/messages on this app when it starts.
    teams_bot = None
    if teams_configured(deps.settings):
        teams_bot = create_teams_bot(deps, api, teams_options)

    if slack_on:
        secret = deps.settings.slack_signing_secret
        signature = SlackSignature(secret.get_secret_value() if secret else None)

        async def slack_endpoint(request: Request) -> Response:
            state = request.app.state
            return await handle_measured(
                state.slack_handler, request, signature, state.background.lag, state.lookups
            )

        # Plain Starlette routes: Bolt reads the request itself, so FastAPI's
        # parameter machinery would only cost time on the busiest path.
        # In Socket Mode Slack reaches bridgebot over the socket alone: no HTTP route
        # exists, so nothing sent to this port can pass for Slack.
        if deps.settings.run_mode is not RunMode.SLACK_SOCKET:
            api.add_route("/slack/events", slack_endpoint, methods=["POST"])
        if deps.settings.run_mode is RunMode.SLACK_OAUTH:
            api.add_route(INSTALL_PATH, slack_endpoint, methods=["GET"])
            api.add_route(REDIRECT_PATH, slack_endpoint, methods=["GET"])

    add_dashboard(api, deps)

    @api.get("/calendar/{token}.ics")
    async def calendar_feed(token: str) -> Response:
        ics = await asyncio.to_thread(_calendar, deps, token)
        if ics is None:
            return Response("No such calendar.", status_code=404, media_type="text/plain")
        return Response(ics, media_type="text/calendar; charset=utf-8")

    @api.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        return await health_response(deps, getattr(request.app.state, "scheduler", None))

    metrics_registry = serving_registry()

    @api.get("/metrics")
    async def metrics(request: Request) -> Response:
        if not metrics_allowed(request.headers, deps.settings.bridgebot_metrics_token):
            return Response(
                "A bearer token is required.",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
                media_type="text/plain",
            )
        return Response(generate_latest(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    return api


def serving_registry() -> CollectorRegistry:
    """What GET /metrics reports: this process's metrics, or, when `bridgebot run` serves
    with several worker processes (PROMETHEUS_MULTIPROC_DIR set, see handlers.cli), every
    worker's added up, so a scrape counts the same whichever worker answers it."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def one_notifier(deps: Deps, notifiers: dict[str, Notifier]) -> Notifier:
    """Where scheduled messages go: the one platform that runs, or each workspace's own."""
    if len(notifiers) == 1:
        (only,) = notifiers.values()
        return only
    return PlatformNotifier(deps.session_factory, notifiers)


async def health_response(deps: Deps, scheduler: Any) -> JSONResponse:
    """200 when the database answers and the scheduler runs, else 503 saying which failed."""
    database = await asyncio.to_thread(_database_status, deps)
    running = bool(scheduler is not None and scheduler.running)
    job = scheduler.get_job(TICK_JOB_ID) if running else None
    body = {
        "status": "ok" if database == "ok" and running else "unavailable",
        "database": database,
        "scheduler": "running" if running else "stopped",
        "next_tick": job.next_run_time.isoformat() if job and job.next_run_time else None,
        "instance": deps.instance_id,
    }
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


def _calendar(deps: Deps, token: str) -> bytes | None:
    """The stand-up's .ics for an unguessable token (the token is the only credential)."""
    with deps.session_factory() as session:
        view = standups.get_by_calendar_token(session=session, token=token)
    if view is None:
        return None
    url = f"{deps.settings.public_url}/calendar/{token}.ics"
    return standup_calendar(view, subscribe_url=url)


def _database_status(deps: Deps) -> str:
    try:
        with deps.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return f"error: {type(exc).__name__}"
    return "ok"
