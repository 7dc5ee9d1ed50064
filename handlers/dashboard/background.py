"""The dashboard served beside the local console, so its /bridge dashboard links open."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

from bot.deps import Deps

logger = logging.getLogger(__name__)

STOP_SECONDS = 10.0


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def serve_in_background(deps: Deps) -> Callable[[], None]:
    """Serve /dashboard alone on BRIDGEBOT_HOST:PORT from a thread, which also builds it, so
    the console starts no later for it; returns how to stop it. When the port is taken
    (another console, or `bridgebot run`, serves it) nothing is started and the log says so."""
    stopping = threading.Event()
    holder: dict[str, object] = {}

    def run() -> None:
        import uvicorn
        from fastapi import FastAPI

        from handlers.dashboard.app import add_dashboard

        host, port = deps.settings.bridgebot_host, deps.settings.bridgebot_port
        if not port_free(host, port):
            logger.warning("the dashboard is not served from here: %s:%d is in use", host, port)
            return
        api = FastAPI(title="bridgebot dashboard", openapi_url=None, docs_url=None, redoc_url=None)
        add_dashboard(api, deps)
        server = uvicorn.Server(
            uvicorn.Config(api, host=host, port=port, lifespan="off", log_level="warning")
        )
        holder["server"] = server
        if stopping.is_set():
            return
        logger.info("the dashboard is served at %s/dashboard", deps.settings.public_url)
        server.run()

    thread = threading.Thread(target=run, name="dashboard", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        server = holder.get("server")
        if server is not None:
            server.should_exit = True  # type: ignore[attr-defined]
        thread.join(STOP_SECONDS)

    return stop
