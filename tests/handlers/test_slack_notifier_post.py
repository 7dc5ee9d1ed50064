"""chat.postMessage's own path: what Slack sees, and the retries slack_sdk's client made."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import ServerDisconnectedError, web
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError

from bot.metrics import SLACK_API_CALLS, SLACK_API_RETRIES
from bot.notify import ConversationRefused
from bot.replies import Reply, Visibility, message
from bot.settings import Settings
from handlers.slack import notifier as notifier_module
from handlers.slack.client import make_http_session
from handlers.slack.notifier import SlackNotifier

TEAM = "T0POST"
TOKEN = "xoxb-post-test"

# An answer: ("drop",) closes the connection unanswered; else (status, body, headers).
Answer = tuple[Any, ...]
OK: Answer = (200, {"ok": True, "channel": "C0SEEN", "ts": "1700000000.000100"}, {})


@dataclass
class ScriptedSlack:
    """Answers chat.postMessage from a script, then ok; records what each request carried."""

    script: list[Answer]
    requests: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            {
                "path": request.path,
                "headers": dict(request.headers),
                "body": json.loads(await request.read()),
            }
        )
        answer = self.script.pop(0) if self.script else OK
        if answer[0] == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()  # never reaches the client
        status, body, headers = answer
        if isinstance(body, str):
            return web.Response(text=body, status=status, headers=headers, content_type="text/html")
        return web.json_response(body, status=status, headers=headers)


@asynccontextmanager
async def scripted_slack(
    script: list[Answer],
) -> AsyncIterator[tuple[ScriptedSlack, SlackNotifier]]:
    """A scripted Slack on 127.0.0.1, and a notifier on the bot's own kind of session."""
    slack = ScriptedSlack(script)
    app = web.Application()
    app.router.add_post("/api/chat.postMessage", slack.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        slack_bot_token=SecretStr(TOKEN),
        slack_signing_secret=SecretStr("test-secret"),
        slack_api_url=f"http://127.0.0.1:{port}/api/",
    )

    async def tokens(_workspace: str) -> str:
        return TOKEN

    session = make_http_session()
    try:
        yield slack, SlackNotifier(settings, tokens, session)
    finally:
        await session.close()
        await runner.cleanup()


def run(
    script: list[Answer], scenario: Callable[[SlackNotifier], Awaitable[object]]
) -> tuple[ScriptedSlack, object]:
    async def main() -> tuple[ScriptedSlack, object]:
        async with scripted_slack(script) as (slack, notifier):
            try:
                return slack, await scenario(notifier)
            except Exception as exc:  # noqa: BLE001 - the test looks at what was raised
                return slack, exc

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's backoff waits, recorded (its jitter fixed at 0.25 s), then shortened."""
    waits: list[float] = []
    backoff = notifier_module._backoff

    def recorded(retry: int) -> float:
        waits.append(backoff(retry))
        return waits[-1] / 100

    monkeypatch.setattr(notifier_module, "random", SimpleNamespace(random=lambda: 0.25))
    monkeypatch.setattr(notifier_module, "_backoff", recorded)
    return waits


def counted(counter: Any, **labels: str) -> float:
    return float(counter.labels(**labels)._value.get())


def post(text: str, where: str = "C0ONE") -> Callable[[SlackNotifier], Awaitable[object]]:
    return lambda notifier: notifier.post(TEAM, where, message(text, visibility=Visibility.CHANNEL))


def test_the_post_carries_the_token_channel_and_rendered_message() -> None:
    slack, ts = run([], post("hello *there*"))

    assert ts == "1700000000.000100"
    [request] = slack.requests
    assert request["path"] == "/api/chat.postMessage"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert request["body"]["channel"] == "C0ONE"
    assert request["body"]["text"] == "hello *there*"
    assert request["body"]["blocks"][0]["type"] == "section"


def test_a_500_is_retried_after_the_backoff_and_sent_once(quick_backoff: list[float]) -> None:
    retries = counted(SLACK_API_RETRIES, reason="server_error")
    calls_500 = counted(SLACK_API_CALLS, method="chat.postMessage", status="500")
    calls_200 = counted(SLACK_API_CALLS, method="chat.postMessage", status="200")

    slack, ts = run([(500, {"ok": False, "error": "internal_error"}, {})], post("after a 500"))

    assert ts == "1700000000.000100"
    assert [r["body"]["text"] for r in slack.requests] == ["after a 500", "after a 500"]
    assert quick_backoff == [0.5 + 0.25]  # slack_sdk's first backoff, 0.5 s and its jitter
    assert counted(SLACK_API_RETRIES, reason="server_error") == retries + 1
    # Every request is counted by the session, the refused one and the retry.
    assert counted(SLACK_API_CALLS, method="chat.postMessage", status="500") == calls_500 + 1
    assert counted(SLACK_API_CALLS, method="chat.postMessage", status="200") == calls_200 + 1


def test_503s_past_three_retries_raise_the_error_slack_gave(quick_backoff: list[float]) -> None:
    unavailable: Answer = (503, {"ok": False, "error": "service_unavailable"}, {})

    slack, raised = run([unavailable] * 4, post("never"))

    assert isinstance(raised, SlackApiError)
    assert raised.response.status_code == 503
    assert raised.response.get("error") == "service_unavailable"
    assert len(slack.requests) == 4  # the first try and three retries, no more
    assert quick_backoff == [0.75, 1.25, 2.25]  # 0.5, 1 and 2 s, each with its jitter


def test_other_server_errors_are_not_retried() -> None:
    slack, raised = run([(502, "<html>Bad gateway</html>", {})], post("bad gateway"))

    assert isinstance(raised, SlackApiError)
    assert raised.response.status_code == 502
    assert raised.response.get("error") is None  # no JSON to read, as slack_sdk had it
    assert len(slack.requests) == 1


def test_a_dropped_connection_is_retried_and_counted(quick_backoff: list[float]) -> None:
    retries = counted(SLACK_API_RETRIES, reason="connection_error")

    slack, ts = run([("drop",)], post("after a drop"))

    assert ts == "1700000000.000100"
    assert len(slack.requests) == 2
    assert counted(SLACK_API_RETRIES, reason="connection_error") == retries + 1


def test_connections_dropped_past_the_retries_raise() -> None:
    slack, raised = run([("drop",)] * 4, post("dropped"))

    assert isinstance(raised, ServerDisconnectedError)
    assert len(slack.requests) == 4


def test_a_429_is_left_to_the_pacer_with_its_retry_after(quick_backoff: list[float]) -> None:
    limited = (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
    retries = counted(SLACK_API_RETRIES, reason="rate_limited")

    slack, ts = run([limited], post("paced"))

    assert ts == "1700000000.000100"
    assert len(slack.requests) == 2
    assert quick_backoff == []  # no client backoff: the pacer held the conversation instead
    assert counted(SLACK_API_RETRIES, reason="rate_limited") == retries + 1


def test_a_refusal_is_not_retried_and_says_how_to_fix_it() -> None:
    slack, raised = run([(200, {"ok": False, "error": "not_in_channel"}, {})], post("hi"))

    assert isinstance(raised, ConversationRefused)
    assert "/invite @bridgebot" in raised.remedy
    assert len(slack.requests) == 1


def test_replies_rendered_once_still_go_to_each_their_own_place() -> None:
    """A fan-out posts one reply to many people; many replies in turn never mix up."""
    shared = message("the same reminder", visibility=Visibility.CHANNEL)

    async def scenario(notifier: SlackNotifier) -> None:
        for person in ("U0A", "U0B"):
            await notifier.post(TEAM, person, shared)
        for n in range(notifier_module.RENDERED_CACHE + 20):  # more than are kept
            await notifier.post(TEAM, f"C{n}", Reply(message(f"post {n}").blocks))

    slack, _ = run([], scenario)

    bodies = [r["body"] for r in slack.requests]
    assert [(b["channel"], b["text"]) for b in bodies[:2]] == [
        ("U0A", "the same reminder"),
        ("U0B", "the same reminder"),
    ]
    assert all(b["text"] == f"post {n}" for n, b in enumerate(bodies[2:]))
    assert all(b["channel"] == f"C{n}" for n, b in enumerate(bodies[2:]))


def test_a_fan_out_looks_its_token_up_once_and_a_later_post_afresh() -> None:
    """Thirty messages to one workspace at once ask for its token together: one lookup
    (a database query in OAuth mode) answers them all. Nothing is kept: a reinstalled
    workspace's new token is what the next post uses."""
    lookups: list[str] = []
    current = {"token": TOKEN}

    async def tokens(_workspace: str) -> str:
        lookups.append(current["token"])
        await asyncio.sleep(0.05)
        return current["token"]

    async def scenario(notifier: SlackNotifier) -> None:
        notifier._tokens = tokens
        await asyncio.gather(
            *(notifier.post(TEAM, f"U{n:03d}", message(f"hello {n}")) for n in range(30))
        )
        current["token"] = "xoxb-reinstalled"
        await notifier.post(TEAM, "C0AFTER", message("after the reinstall"))

    slack, raised = run([], scenario)

    assert raised is None
    assert lookups == [TOKEN, "xoxb-reinstalled"]
    auth = [r["headers"]["Authorization"] for r in slack.requests]
    assert auth == [f"Bearer {TOKEN}"] * 30 + ["Bearer xoxb-reinstalled"]
