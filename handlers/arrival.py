"""When a request's bytes reached this machine, not when the server got round to them.

Above capacity a request waits before any Python code sees it: in the kernel's accept
queue, in its socket's buffer, behind a long turn of the event loop. Only the kernel
knows for how long. TCP_INFO's `tcpi_last_data_recv` says how many milliseconds ago the
last bytes arrived on a connection; read when the request's last bytes are parsed, that
is how long it has already waited. The server runs uvicorn with this protocol, which puts
the arrival (on the event loop's clock) in each request's ASGI scope.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

ARRIVED = "bridgebot.arrived"  # the scope key: loop.time() when the request's bytes came
# struct tcp_info (linux/tcp.h): eight one-byte fields, then 32-bit fields; the times
# since the last data sent, ack sent and data received are the 10th to 12th of those.
_LAST_DATA_RECV = struct.Struct("=I")
_LAST_DATA_RECV_OFFSET = 8 + 4 * 11
_TCP_INFO_BYTES = _LAST_DATA_RECV_OFFSET + 4
_TCP_INFO = getattr(socket, "TCP_INFO", None)  # Linux only


def waited_in_kernel(sock: Any) -> float:
    """Seconds since the last bytes arrived on `sock` (0 where the kernel cannot say)."""
    if _TCP_INFO is None or sock is None:
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_BYTES)
    except (OSError, AttributeError):  # not TCP (a Unix socket), or closed meanwhile
        return 0.0
    if len(info) < _TCP_INFO_BYTES:
        return 0.0
    (milliseconds,) = _LAST_DATA_RECV.unpack_from(info, _LAST_DATA_RECV_OFFSET)
    return milliseconds / 1000


class ArrivalStampingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, noting in each request's scope when it arrived."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._socket = transport.get_extra_info("socket")

    def on_message_complete(self) -> None:
        # Once the whole request is in: a client slow to send its body has not waited
        # for the server, and is not taken for a queue.
        arrived = self.loop.time() - waited_in_kernel(self._socket)
        self.scope[ARRIVED] = arrived  # type: ignore[literal-required]
        super().on_message_complete()


def waited_since_arrival(scope: Mapping[str, Any], now: float) -> float:
    """Seconds the request has waited since it arrived, by the event loop's clock `now`
    (0 where nobody noted its arrival: a test client, Socket Mode)."""
    arrived = scope.get(ARRIVED)
    return max(0.0, now - arrived) if isinstance(arrived, float) else 0.0
