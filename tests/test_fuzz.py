"""Fuzzing every slash command: no crash, no unescaped Slack control sequence, no half-save."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.deps import Deps, build_deps
from bot.models import Base, Occurrence
from bot.replies import Reply
from bot.router import Caller, RequestScope, delivery_context, run_command
from bot.services.outbox import CHANNEL_POST
from bot.settings import Settings
from handlers.slack.render import render_message
from handlers.slack.slash_text import resolve_channel
from tests.fake_slack import FakeSlack
from tests.signing import slack_headers, slash_command_body

COMMANDS = ("bridge", "jargon", "standup", "win", "challenge", "pulse")
SUBCOMMANDS = (
    "",
    "side ",
    "channel ",
    "search ",
    "add ",
    "edit ",
    "delete ",
    "list ",
    "skip 1 ",
    "pause ",
    "now ",
    "calendar ",
    "ask ",
    "results ",
    "export",
    "settings",
    "random",
    "help ",
)
NASTY = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0VICTIM>",
    "<#C0SECRET|secret>",
    "<https://evil.example|click>",
    "<!subteam^S0123>",
    "&lt;",
    "'; DROP TABLE people; --",
    "<script>alert(1)</script>",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "|",
    " | ",
    "%s",
    "{0}",
)
CALLER = "U0FUZZ"
OUR_CHANNEL = "C0SHARED"

text_parts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(NASTY),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFF), max_size=20),
)
command_text = st.one_of(
    st.builds(
        lambda sub, parts: sub + "".join(parts),
        st.sampled_from(SUBCOMMANDS),
        st.lists(text_parts, max_size=6),
    ),
    st.just("x" * 10_000),
    st.builds(lambda s: "win " + s * 2500, st.sampled_from(["<!channel>", "ab"])),
)

# A Slack control sequence we did not make: anything in <...> other than the caller's
# mention or a channel reference, which the bot itself renders.
UNSAFE = re.compile(r"<(?!@U0FUZZ>|#C[A-Z0-9]+>)[^>]*>")


@pytest.fixture(scope="module")
def fuzz_deps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deps]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    deps = build_deps(Settings(_env_file=None, database_url=f"sqlite:///{path}"))
    run(deps, "bridge", f"channel <#{OUR_CHANNEL}|shared>", admin=True)
    try:
        yield deps
    finally:
        deps.engine.dispose()


def run(deps: Deps, name: str, args: str, *, admin: bool = False) -> Reply:
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=Caller("T0FUZZ", CALLER, "slack", is_admin=admin),
        now=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
        default_timezone="UTC",
        channel_ref=OUR_CHANNEL,
        resolve_channel=resolve_channel,
    )
    return run_command(scope, name, args)


def row_counts(deps: Deps) -> dict[str, int]:
    with deps.session_factory() as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def mrkdwn_strings(node: object) -> Iterator[str]:
    """The strings Slack parses for mentions: mrkdwn texts (plain_text and values are not)."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from mrkdwn_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from mrkdwn_strings(item)


def last_occurrence(deps: Deps) -> int:
    with deps.session_factory() as session:
        return session.execute(select(func.coalesce(func.max(Occurrence.id), 0))).scalar_one()


def queued_since(deps: Deps, last: int) -> list[Reply]:
    """The posts a command queued (after occurrence `last`), as they would be posted."""
    with deps.session_factory() as session:
        keys = session.execute(
            select(Occurrence.subject_ref).where(
                Occurrence.kind == CHANNEL_POST, Occurrence.id > last
            )
        ).scalars()
        ctx = delivery_context(
            session=session, workspace_id="T0FUZZ", now=datetime.now(UTC), default_timezone="UTC"
        )
        return [queued.reply for key in keys if (queued := deps.router.render(ctx, key))]


def outgoing_texts(reply: Reply, queued: list[Reply]) -> list[str]:
    """Every text Slack would parse for this reply and the posts it queued."""
    messages = [render_message(reply)] + [render_message(post) for post in queued]
    texts: list[str] = []
    for message in messages:
        texts.append(message["text"])  # the notification fallback is mrkdwn too
        texts.extend(mrkdwn_strings(message["blocks"]))
    return texts


@pytest.mark.slow  # 300 examples
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(COMMANDS), args=command_text, admin=st.booleans())
def test_any_command_text_is_answered_safely(
    fuzz_deps: Deps, name: str, args: str, admin: bool
) -> None:
    before = row_counts(fuzz_deps)
    last = last_occurrence(fuzz_deps)
    reply = run(fuzz_deps, name, args, admin=admin)
    for message in outgoing_texts(reply, queued_since(fuzz_deps, last)):
        assert not UNSAFE.search(message), message[:300]
    if reply.is_error:
        assert row_counts(fuzz_deps) == before, (
            f"/{name} {args[:60]!r} was refused but stored something"
        )


@pytest.fixture
def fuzz_http(slack_http: TestClient, fake_slack: FakeSlack) -> TestClient:
    fake_slack.add_user("U0ALICE", admin=True)
    return slack_http


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(COMMANDS), args=command_text)
def test_signed_requests_never_get_a_server_error(
    fuzz_http: TestClient, fake_slack: FakeSlack, name: str, args: str
) -> None:
    body = slash_command_body(f"/{name}", args, response_url=fake_slack.response_url())
    response = fuzz_http.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200
