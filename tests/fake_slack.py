"""A fake Slack Web API on 127.0.0.1 that records every call and can fail on demand."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import METHOD_ALL
from werkzeug import Request, Response

TEAM_ID = "T0BRIDGE"
BOT_USER_ID = "U0BOT"


@dataclass
class Call:
    """One request the bot made: a Web API method or a response_url post."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Upload:
    """A file the bot uploaded with files_upload_v2 (getUploadURLExternal, POST, complete)."""

    file_id: str
    filename: str
    content: bytes = b""
    channel: str | None = None
    title: str | None = None


@dataclass
class Failure:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


class FakeSlack:
    """Answers like Slack for the methods bridgebot uses; everything else answers ok."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.calls: list[Call] = []
        self.latency = 0.0  # seconds to wait before answering each call
        # Run while Slack works on a call of a method, before it answers: what a test
        # wants to know about the bot meanwhile (its database transactions, say).
        self.while_answering: dict[str, Callable[[Call], None]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._posting_full_until = 0.0  # see fill_posting_limit
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ts = 0
        self.uploads: list[Upload] = []
        # Members of each Slack user group (usergroups.users.list), set by the test.
        self.usergroups: dict[str, list[str]] = {}
        # The workspace each bot token belongs to (auth.test); TEAM_ID for any other token.
        self.token_teams: dict[str, str] = {}
        # Bot tokens handed out by oauth.v2.access, one new token per install.
        self.issued_bot_tokens: list[str] = []
        server.expect_request(re.compile(r"^/.*"), method=METHOD_ALL).respond_with_handler(
            self._handle
        )

    @property
    def api_url(self) -> str:
        return self.server.url_for("/api/")

    def response_url(self, name: str = "cmd") -> str:
        return self.server.url_for(f"/response/{name}")

    def add_user(self, user_id: str, *, admin: bool = False, name: str | None = None) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name or user_id.lower(),
            "is_admin": admin,
            "is_owner": False,
            "is_primary_owner": False,
        }

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        error: str = "ratelimited",
    ) -> None:
        """Make the next `times` calls of `method` fail with HTTP `status`."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        for _ in range(times):
            self._failures[method].append(Failure(status, headers, {"ok": False, "error": error}))

    def fill_posting_limit(self, seconds: float) -> None:
        """Slack's workspace-wide posting limit, reached: for `seconds`, every
        chat.postMessage answers 429 with Retry-After: 1, whatever the conversation."""
        self._posting_full_until = time.monotonic() + seconds

    def completed_uploads(self) -> list[Upload]:
        """Files whose upload was completed (files.completeUploadExternal), in order."""
        with self._lock:
            return [upload for upload in self.uploads if upload.channel is not None]

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until `count` calls of `method` arrived (the bot works after it acks)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [call for call in self.calls if call.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = sorted({call.method for call in self.calls})
                    raise AssertionError(f"expected {count} {method} call(s); saw {seen}")
                self._changed.wait(remaining)

    # -- the HTTP side ---------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        method = self._method_name(request.path)
        if method == "file_upload":
            # The bytes of a files_upload_v2 file, POSTed to the URL we handed out.
            self._store_upload(request.path.rsplit("/", 1)[-1], request.get_data())
        call = Call(method=method, params=self._params(request), headers=dict(request.headers))
        with self._changed:
            self.calls.append(call)
            failure: Failure | None
            if method == "chat.postMessage" and time.monotonic() < self._posting_full_until:
                failure = Failure(429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"})
            else:
                failure = self._failures[method].popleft() if self._failures[method] else None
            self._changed.notify_all()
        if self.latency:
            time.sleep(self.latency)  # a slower Slack keeps deliveries in flight longer
        if method in self.while_answering:
            self.while_answering[method](call)
        if failure is not None:
            return Response(
                json.dumps(failure.body),
                status=failure.status,
                headers=failure.headers,
                content_type="application/json",
            )
        return Response(json.dumps(self._answer(call)), content_type="application/json")

    @staticmethod
    def _method_name(path: str) -> str:
        if path.startswith("/response/"):
            return "response_url"
        if path.startswith("/upload/"):
            return "file_upload"
        return path.removeprefix("/api/")

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {key: value for key, value in request.args.items()}
        body = request.get_data(as_text=True)
        if not body:
            return params
        if request.path.startswith("/upload/"):
            return params  # raw file bytes: see FakeSlack.uploads
        if request.mimetype == "application/json":
            params.update(json.loads(body))
        else:
            params.update({k: v[0] for k, v in parse_qs(body).items()})
        return params

    def _answer(self, call: Call) -> dict[str, Any]:
        match call.method:
            case "auth.test":
                token = call.headers.get("Authorization", "").removeprefix("Bearer ")
                return {
                    "ok": True,
                    "url": "https://bridge.example/",
                    "team": "Bridge Co",
                    "team_id": self.token_teams.get(token, TEAM_ID),
                    "user": "bridgebot",
                    "user_id": BOT_USER_ID,
                    "bot_id": "B0BOT",
                }
            case "users.info":
                user = self.users.get(call.params.get("user", ""))
                if user is None:
                    return {"ok": False, "error": "user_not_found"}
                return {"ok": True, "user": user}
            case "chat.postMessage" | "chat.update" | "chat.postEphemeral":
                with self._lock:
                    self._ts += 1
                    ts = f"{int(time.time())}.{self._ts:06d}"
                return {"ok": True, "channel": call.params.get("channel"), "ts": ts}
            case "response_url":
                return {"ok": True}
            case "conversations.open":
                first_user = str(call.params.get("users", "")).split(",")[0]
                return {"ok": True, "channel": {"id": f"D{first_user}"}}
            case "files.getUploadURLExternal":
                with self._lock:
                    file_id = f"F{len(self.uploads) + 1}"
                    self.uploads.append(Upload(file_id, str(call.params.get("filename", ""))))
                return {
                    "ok": True,
                    "upload_url": self.server.url_for(f"/upload/{file_id}"),
                    "file_id": file_id,
                }
            case "files.completeUploadExternal":
                return {"ok": True, "files": self._complete_uploads(call.params)}
            case "oauth.v2.access":
                return self._install(call)
            case "usergroups.users.list":
                members = self.usergroups.get(str(call.params.get("usergroup", "")))
                if members is None:
                    return {"ok": False, "error": "no_such_subteam"}
                return {"ok": True, "users": list(members)}
        return {"ok": True}

    def _install(self, call: Call) -> dict[str, Any]:
        """An OAuth install of the team completes: a fresh bot token and a user token."""
        if not call.params.get("code") or not call.headers.get("Authorization"):
            return {"ok": False, "error": "invalid_code"}  # client id and secret come as Basic
        with self._lock:
            token = f"xoxb-installed-{len(self.issued_bot_tokens) + 1}"
            self.issued_bot_tokens.append(token)
        return {
            "ok": True,
            "app_id": "A0BRIDGE",
            "authed_user": {
                "id": "U0INSTALLER",
                "scope": "",
                "access_token": f"xoxp-installer-{len(self.issued_bot_tokens)}",
                "token_type": "user",
            },
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": BOT_USER_ID,
            "team": {"id": TEAM_ID, "name": "Bridge Co"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _store_upload(self, file_id: str, content: bytes) -> None:
        with self._lock:
            for upload in self.uploads:
                if upload.file_id == file_id:
                    upload.content = content

    def _complete_uploads(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        files = params.get("files") or "[]"
        listed = json.loads(files) if isinstance(files, str) else files
        channel = str(params.get("channel_id") or params.get("channels") or "")
        done = []
        with self._lock:
            for item in listed:
                for upload in self.uploads:
                    if upload.file_id == item.get("id"):
                        upload.channel, upload.title = channel, item.get("title")
                done.append({"id": item.get("id"), "title": item.get("title")})
        return done
