"""The dashboard served beside the local console, so its /bridge dashboard links open."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from bot.deps import Deps

logger = logging.getLogger(__name__)

START_SECONDS = 10.0


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def serve_in_background(deps: Deps) -> Callable[[], None] | None:
    """Serve the web app (dashboard, calendar feeds) on BRIDGEBOT_HOST:PORT in a thread,
    without its scheduler (the console runs its own); returns how to stop it, or None when
    the port is taken (another console or bridgebot serves it) and nothing was started."""
    from handlers.server import create_web_app

    host, port = deps.settings.bridgebot_host, deps.settings.bridgebot_port
    if not port_free(host, port):
        logger.warning("the dashboard is not served from this console: %s:%d is in use", host, port)
        return None
    config = uvicorn.Config(
        create_web_app(deps), host=host, port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    logger.info("the dashboard is served at %s/dashboard", deps.settings.public_url)

    def stop() -> None:
        server.should_exit = True
        thread.join(START_SECONDS)

    return stop
