"""A request that has waited in front of the server (in the kernel, while the event loop
was busy) for half the busy budget is refused at its acknowledgement, though nothing
inside the server saw it wait: the kernel tells (handlers.arrival)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from bot.deps import Deps
from bot.metrics import REGISTRY
from handlers.arrival import ArrivalStampingProtocol, waited_in_kernel
from handlers.server import create_web_app
from tests.fake_slack import FakeSlack
from tests.signing import slack_headers, slash_command_body

BUSY = "bridgebot is busy, try again in a moment: your command was not run."
BUDGET = 1.0  # the setting's default (the test suite widens it for every other test)
STALL = 0.8  # longer than half the budget, but a single stall: the loop watch ignores it


def test_the_kernel_tells_how_long_bytes_have_waited_unread() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname()) as client:
            server_side, _ = listener.accept()
            with server_side:
                client.sendall(b"GET / HTTP/1.1\r\n\r\n")
                time.sleep(0.3)
                assert 0.25 <= waited_in_kernel(server_side) < 5.0
                server_side.recv(100)
                client.sendall(b"GET / HTTP/1.1\r\n\r\n")
                assert waited_in_kernel(server_side) < 0.25


def test_a_socket_the_kernel_keeps_no_tcp_times_for_has_waited_nothing() -> None:
    left, right = socket.socketpair()  # a Unix socket, as behind a local proxy
    with left, right:
        left.sendall(b"x")
        assert waited_in_kernel(right) == 0.0
    assert waited_in_kernel(None) == 0.0


@dataclass
class Served:
    url: str
    loop: asyncio.AbstractEventLoop
    app: object


@pytest.fixture
def served(slack_deps: Deps, fake_slack: FakeSlack) -> Iterator[Served]:
    """The whole app, lifespan included, served by uvicorn with the arrival protocol as
    `bridgebot run` serves it, on a loopback socket bound here."""
    fake_slack.add_user("U0ALICE")
    app = create_web_app(slack_deps)
    listener = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        http=ArrivalStampingProtocol,
        access_log=False,
    )
    server = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        await server.serve(sockets=[listener])

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    app.state.background.lag.budget = BUDGET
    try:
        yield Served(f"http://127.0.0.1:{listener.getsockname()[1]}", loops[0], app)
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()


def jargon(served: Served, fake_slack: FakeSlack) -> httpx.Response:
    body = slash_command_body("/jargon", "CAC", response_url=fake_slack.response_url())
    return httpx.post(
        f"{served.url}/slack/events", content=body, headers=slack_headers(body), timeout=10
    )


def shed_count() -> float:
    labels = {"platform": "slack", "kind": "command"}
    return REGISTRY.get_sample_value("bridgebot_requests_shed_total", labels) or 0.0


def waits_seen() -> float:
    return REGISTRY.get_sample_value("bridgebot_request_wait_seconds_count") or 0.0


def waits_over_half_a_second() -> float:
    under = REGISTRY.get_sample_value("bridgebot_request_wait_seconds_bucket", {"le": "0.5"})
    return waits_seen() - (under or 0.0)


def test_a_command_that_waited_unread_behind_a_stalled_loop_is_refused_at_once(
    served: Served, fake_slack: FakeSlack
) -> None:
    answered = jargon(served, fake_slack)  # a quiet server answers
    assert answered.status_code == 200 and BUSY not in answered.text
    before, long_waits = shed_count(), waits_over_half_a_second()

    # The event loop is held up: the next command sits in the kernel, unread, meanwhile.
    served.loop.call_soon_threadsafe(time.sleep, STALL)
    time.sleep(0.1)  # the loop is asleep now
    refused = jargon(served, fake_slack)

    assert refused.status_code == 200
    assert refused.json() == {"response_type": "ephemeral", "text": BUSY}
    assert shed_count() == before + 1
    assert waits_over_half_a_second() == long_waits + 1  # /metrics shows the wait
    assert fake_slack.calls_to("response_url") == []

    # Nothing waits any more: the same command is answered again.
    again = jargon(served, fake_slack)
    assert again.status_code == 200 and BUSY not in again.text
    assert shed_count() == before + 1


def test_a_client_slow_to_send_its_body_has_not_waited_for_the_server(
    served: Served, fake_slack: FakeSlack
) -> None:
    body = slash_command_body("/jargon", "CAC", response_url=fake_slack.response_url())
    headers = {**slack_headers(body), "Content-Length": str(len(body))}
    head = "POST /slack/events HTTP/1.1\r\nHost: bridgebot\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    before = shed_count()
    port = int(served.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(head.encode())
        time.sleep(STALL)  # a slow link: the body comes long after the headers
        client.sendall(body.encode())
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"Customer acquisition cost" in answer and BUSY.encode() not in answer
    assert shed_count() == before
