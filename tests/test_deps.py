"""The dependencies are built once and never changed: adapters and jobs all see the same."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.deps import Deps
from bot.replies import Reply
from schedules import create_scheduler
from schedules.jobs import POST_KIND, deliver_post


class SilentNotifier:
    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        return None


def test_deps_cannot_be_changed_once_built(deps: Deps) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        deps.clock = lambda: datetime(2030, 1, 1, tzinfo=UTC)  # type: ignore[misc]
    # Where scheduled messages go is the scheduler's, given when it is built.
    with pytest.raises(dataclasses.FrozenInstanceError):
        deps.notifier = SilentNotifier()  # type: ignore[attr-defined]


def test_the_scheduler_is_built_with_its_notifier_and_every_delivery(deps: Deps) -> None:
    notifier = SilentNotifier()
    scheduler = create_scheduler(deps, notifier)
    assert scheduler.notifier is notifier and scheduler.deps is deps
    assert scheduler.delivery_for(POST_KIND) is deliver_post
    assert not scheduler.running
    # A second registration of a kind is a mistake, not a silent replacement.
    with pytest.raises(ValueError, match="registered already"):
        scheduler.add_delivery(POST_KIND, deliver_post)
