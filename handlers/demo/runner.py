"""Builds the demo workspace in its own database, lives its weeks, then hands over."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bot.deps import Deps, build_deps, utc_clock
from bot.replies import Reply, counted
from bot.router import Caller, RequestScope, run_command
from bot.settings import Settings
from handlers.console import render_reply, run_console
from handlers.console_clock import ConsoleClock
from handlers.console_files import save_file
from handlers.demo.cast import CHANNEL, PEOPLE
from handlers.demo.database import fresh_demo_database
from handlers.demo.simulation import WORKSPACE, DemoNotifier, DemoTally, live_weeks, narrate_to
from schedules import create_scheduler

DEFAULT_WEEKS = 6
DEFAULT_SEED = 15
# What the closing summary counts, in order: (singular, plural).
TALLY = (
    ("stand-up answer", "stand-up answers"),
    ("stand-up skipped for a holiday", "stand-ups skipped for holidays"),
    ("win", "wins"),
    ("celebration", "celebrations"),
    ("challenge", "challenges"),
    ("help offer", "help offers"),
    ("challenge resolved", "challenges resolved"),
    ("glossary lookup", "glossary lookups"),
    ("pulse answer", "pulse answers"),
)


def demo_settings(settings: Settings, database_url: str) -> Settings:
    """The operator's settings, on the demo's database with a key of its own (the real
    key file is not touched) and no admins but the demo's."""
    return settings.model_copy(
        update={
            "database_url": database_url,
            "bridgebot_secret_key": SecretStr(secrets.token_urlsafe(32)),
            "bridgebot_admins": [],
        }
    )


def build_demo_deps(settings: Settings, database: Path, weeks: int) -> Deps:
    """Deps on a fresh demo database, their clock `weeks` weeks in the past: the demo
    lives them and ends about now, where the console takes over."""
    url = fresh_demo_database(database)
    clock = ConsoleClock(utc_clock)
    clock.offset = -timedelta(weeks=weeks)
    return build_deps(demo_settings(settings, url), clock=clock)


async def run_demo(
    deps: Deps,
    *,
    database: Path,
    weeks: int,
    seed: int,
    input_stream: TextIO,
    output: TextIO,
) -> DemoTally:
    """Live the demo's weeks, print what came of them, and open the console on the
    workspace when a person is at the terminal (else write the trend chart and stop)."""
    clock = deps.clock
    assert isinstance(clock, ConsoleClock)
    narrate = narrate_to(output)
    narrate(
        f"bridgebot demo: {len(PEOPLE)} made-up people of Marketing and IT live {weeks} "
        f"simulated weeks in {database}, a database of the demo's own (your own "
        "database is not touched). Everything they say is generated.\n"
    )
    started = time.monotonic()
    notifier = DemoNotifier(clock)
    scheduler = create_scheduler(deps, notifier)  # not started: the simulation ticks it
    tally = await live_weeks(
        deps, clock, scheduler, notifier, weeks=weeks, seed=seed, narrate=narrate
    )
    narrate(f"\n{summary(tally.counts, weeks)} (lived in {time.monotonic() - started:.0f} s)\n")
    admin = PEOPLE[0]
    latest = await asyncio.to_thread(_ask, deps, admin.user_ref, "pulse", "")
    narrate(render_reply(latest) + "\n")
    results = await asyncio.to_thread(_ask, deps, admin.user_ref, "pulse", f"results {weeks}")
    narrate(render_reply(results))
    for attachment in results.attachments:
        path = save_file(deps.settings.bridgebot_files_dir, attachment.filename, attachment.content)
        narrate(f"  (trend chart saved: {path})")
    if not input_stream.isatty():
        return tally
    narrate(
        f"\nYou are @{admin.user_ref}, the demo workspace's admin. Try /pulse, /standup list, "
        f"/challenge list, `:who`, `:as maya` (marketing) or `:as ava` (IT), `:advance 1d`.\n"
    )
    await run_console(deps, input_stream=input_stream, output=output, user_ref=admin.user_ref)
    return tally


def summary(counts: Counter[str], weeks: int) -> str:
    parts = [counted(counts[one], one, many) for one, many in TALLY if counts[one]]
    return f"{weeks} weeks in #{CHANNEL}: " + ", ".join(parts)


def _ask(deps: Deps, user_ref: str, name: str, args: str) -> Reply:
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=Caller(workspace_id=WORKSPACE, user_ref=user_ref, platform="console", is_admin=True),
        now=deps.clock(),
        default_timezone=deps.settings.bridgebot_timezone,
        channel_ref=CHANNEL,
    )
    return run_command(scope, name, args)
