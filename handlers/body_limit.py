"""ASGI middleware: a request body over the cap gets 413 before it is read into memory."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

TOO_LARGE_BODY = b"Request body too large."


class BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the cap; answered with 413."""


class BodySizeLimit:
    """Refuse request bodies larger than `max_bytes` with 413.

    A declared Content-Length over the cap is answered at once, without reading a byte;
    a body sent without one (chunked) is counted as it arrives and reading stops at the
    cap, so the rest never reaches memory. Pure ASGI on purpose: Starlette's
    BaseHTTPMiddleware would buffer the body it is meant to refuse.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send)
            return

        received = 0
        exceeded = False
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            # An app that caught BodyTooLarge and answered anyway (500) is overruled.
            if exceeded and not answered:
                return
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not answered:
            await _refuse(send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            # The server rejects a malformed length itself; an unreadable one counts as too large.
            return int(value) if value.isdigit() else 1 << 62
    return None


async def _refuse(send: Send) -> None:
    logger.info("refused a request body over the size limit (413)")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(TOO_LARGE_BODY)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": TOO_LARGE_BODY})
