"""A fake Bot Connector service on 127.0.0.1: records what the bot sends, answers like Teams."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import METHOD_ALL
from werkzeug import Request, Response

CARD = "application/vnd.microsoft.card.adaptive"
# Teams refuses a message over about 100 KB, counted in UTF-16.
MAX_MESSAGE_BYTES = 100_000


def utf16_bytes(body: dict[str, Any]) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode("utf-16-le"))


@dataclass
class Call:
    """One request the bot made to the Bot Connector."""

    method: str  # POST | PUT | GET
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    message_id: str = ""  # the id the fake gave a posted message

    @property
    def kind(self) -> str:
        if self.method == "POST" and self.path == "/v3/conversations":
            return "create_conversation"
        if self.method == "POST" and self.path.endswith("/activities"):
            return "send"
        if self.method == "PUT" and "/activities/" in self.path:
            return "update"
        if self.method == "GET" and "/members/" in self.path:
            return "member"
        if self.method == "GET" and self.path.startswith("/v3/teams/"):
            return "channels"
        return "other"

    @property
    def conversation(self) -> str:
        match = re.match(r"^/v3/conversations/([^/]+)", self.path)
        return match.group(1) if match else ""

    @property
    def activity_id(self) -> str:
        return self.path.rsplit("/", 1)[-1] if self.kind == "update" else ""

    @property
    def card(self) -> dict[str, Any]:
        """The Adaptive Card the activity carries."""
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == CARD:
                content: dict[str, Any] = attachment["content"]
                return content
        raise AssertionError(f"no card in {self.body}")


class FakeConnector:
    """Answers the Bot Connector calls bridgebot makes; can fail a kind of call on demand."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.calls: list[Call] = []
        # (conversation or team id, user id) -> member, for GET .../members/{id}
        self.members: dict[tuple[str, str], dict[str, Any]] = {}
        self.channels: dict[str, list[dict[str, Any]]] = {}
        # kind -> (status, headers, only this conversation or any)
        self._failures: dict[str, deque[tuple[int, dict[str, str], str | None]]] = defaultdict(
            deque
        )
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._next_id = 1_700_000_000_000
        server.expect_request(re.compile(r"^/.*"), method=METHOD_ALL).respond_with_handler(
            self._handle
        )

    @property
    def service_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def add_member(self, where: str, member: dict[str, Any]) -> None:
        """Make `member` findable in a team or chat by both their 29: id and Entra id."""
        for key in (member["id"], member.get("aadObjectId")):
            if key:
                self.members[(where, key)] = member

    def fail_next(
        self,
        kind: str,
        *,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        conversation: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `kind` (only those to `conversation`, if given)
        with `status`."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        for _ in range(times):
            self._failures[kind].append((status, headers, conversation))

    def _take_failure(self, call: Call) -> tuple[int, dict[str, str]] | None:
        failures = self._failures[call.kind]
        for failure in failures:
            status, headers, conversation = failure
            if conversation is None or conversation == call.conversation:
                failures.remove(failure)
                return status, headers
        return None

    def of_kind(self, kind: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.kind == kind]

    def sent(self, conversation: str | None = None) -> list[Call]:
        """Messages posted, optionally only those to one conversation."""
        return [
            c
            for c in self.of_kind("send")
            if conversation is None or c.conversation == conversation
        ]

    def updates(self, activity_id: str | None = None) -> list[Call]:
        return [
            c for c in self.of_kind("update") if activity_id is None or c.activity_id == activity_id
        ]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def wait_for(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [call for call in self.calls if call.kind == kind]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} {kind} call(s); saw {[c.kind for c in self.calls]}"
                    )
                self._changed.wait(remaining)

    # -- the HTTP side -----------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True) or "{}") if request.method != "GET" else {}
        call = Call(request.method, unquote(request.path), body, dict(request.headers))
        with self._changed:
            self.calls.append(call)
            failure = self._take_failure(call)
            self._changed.notify_all()
        if failure is not None:
            status, headers = failure
            return Response(
                json.dumps({"error": {"code": "Fake"}}),
                status=status,
                headers=headers,
                content_type="application/json",
            )
        if call.kind in {"send", "update"} and utf16_bytes(call.body) > MAX_MESSAGE_BYTES:
            # What Teams answers a message over its size limit.
            return Response(
                json.dumps({"error": {"code": "MessageSizeTooBig"}}),
                status=413,
                content_type="application/json",
            )
        answer, status = self._answer(call)
        return Response(json.dumps(answer), status=status, content_type="application/json")

    def _new_id(self) -> str:
        with self._lock:
            self._next_id += 1
            return str(self._next_id)

    def _answer(self, call: Call) -> tuple[dict[str, Any] | list[Any], int]:
        match call.kind:
            case "create_conversation":
                # Teams answers with the one 1:1 chat between the bot and that person.
                member = call.body["members"][0]["id"]
                return {"id": f"a:1-personal-{member}"}, 201
            case "send":
                call.message_id = self._new_id()
                return {"id": call.message_id}, 201
            case "update":
                return {"id": call.activity_id}, 200
            case "member":
                where, _, user = call.path.removeprefix("/v3/conversations/").partition("/members/")
                member = self.members.get((where, user))
                return (
                    (member, 200)
                    if member
                    else ({"error": {"code": "MemberNotFoundInConversation"}}, 404)
                )
            case "channels":
                team = call.path.split("/")[3]
                return {"conversations": self.channels.get(team, [])}, 200
        return {}, 200
