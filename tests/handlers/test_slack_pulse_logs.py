"""No log line, at any level, holds a pulse answer: not ours, not Bolt's, not the Slack SDK's."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.deps import Deps
from handlers.server import create_web_app
from handlers.slack.payload_logging import SLACK_LIBRARY_LOGGERS
from tests.clock import Clock
from tests.fake_slack import FakeSlack
from tests.handlers.test_slack_pulse import NOW, buttons, click, open_pulse, seed
from tests.test_logs import everything_logged


@pytest.fixture
def library_levels() -> Iterator[None]:
    """The Slack libraries' log levels as they were before the test."""
    saved = {name: logging.getLogger(name).level for name in SLACK_LIBRARY_LOGGERS}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_a_vote_leaves_no_answer_in_the_logs_at_debug(
    slack_deps: Deps,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    library_levels: None,
    clock: Clock,
) -> None:
    fake_slack.add_user("U0ALICE")
    seed(slack_deps)
    poll_id = open_pulse(slack_deps)
    # LOG_LEVEL=DEBUG, set before the app is built, as `bridgebot run` does.
    caplog.set_level(logging.DEBUG)
    clock.now = NOW
    with TestClient(create_web_app(slack_deps)) as http:
        click(http, fake_slack, "pulse_vote:3", f"{poll_id}:0:4")  # "Agree" on question 1
        reply = fake_slack.wait_for("response_url")[0]

    chosen = [b["text"]["text"] for b in buttons(reply) if b["text"]["text"].startswith("✓")]
    assert chosen == ["✓ Agree"]  # the reply shows the answer, so a logged reply would too
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG was on
    value = re.compile(rf"(?<![\d:]){poll_id}:0:4(?!\d)")
    for logged in everything_logged(caplog):
        assert not value.search(logged), logged
        assert "pulse_vote:3" not in logged, logged  # the button's position is the answer
        assert "✓" not in logged and json.dumps("✓") not in logged, logged
