"""Pulse trends benchmark: two years of weekly pulses of 1,000 people, read for the
dashboard and for the gap alert.

    .venv/bin/python -m bench.pulse_trends [--database-url postgresql://postgres@127.0.0.1:5432/test]

Creates a temporary PostgreSQL database and bulk-loads (COPY) a workspace with 104 closed
weekly pulses, each answered by 1,000 people on its three questions (312,000 answers),
plus a few other workspaces as noise; VACUUM ANALYZE; then times
bot.services.pulse_trends.question_trends() over all of them, pulse_alerts.find() for the
latest pulse (it reads the 26 before it) and pulse.results() of one pulse, and prints
p50 and p99 of each; then question_trends() again with the counts kept at close removed,
so every answer is counted. Prints figures, asserts nothing about time; the database is dropped.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update
from sqlalchemy.engine import make_url

from bench.pulse import (
    BULK_TABLES,
    DEFAULT_URL,
    SIDE_WEIGHTS,
    SIDES,
    _copy_answers,
    _weekly_poll,
    indexes_dropped,
    percentile,
    temporary_database,
)
from bot.deps import Deps, build_deps
from bot.models import PulsePoll
from bot.services import pulse, pulse_alerts, pulse_trends, workspaces
from bot.settings import Settings

WORKSPACE = "T0TRENDS"
FIRST = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday


def load(deps: Deps, weeks: int, people: int, noise_workspaces: int) -> list[int]:
    with deps.session_factory.begin() as session:
        for index in range(noise_workspaces + 1):
            workspaces.ensure_workspace(
                session=session,
                workspace_id=WORKSPACE if index == 0 else f"T0NOISE{index:03d}",
                platform="slack",
                timezone="UTC",
            )
    invited = {
        side: people * weight // 100 + 1 for side, weight in zip(SIDES, SIDE_WEIGHTS, strict=True)
    }
    started = time.perf_counter()
    polls = []
    with indexes_dropped(deps.engine):
        for week in range(weeks):
            slot = FIRST + timedelta(days=7 * week)
            poll_id = _weekly_poll(deps, WORKSPACE, slot, invited)
            _copy_answers(deps.engine, WORKSPACE, poll_id, 3 * people, seed=week)
            polls.append(poll_id)
            if week < noise_workspaces:
                noise = _weekly_poll(deps, f"T0NOISE{week + 1:03d}", slot, invited)
                _copy_answers(deps.engine, f"T0NOISE{week + 1:03d}", noise, 3 * people, seed=-week)
    # The answers came after each pulse closed: keep their counts as a close would have.
    with deps.session_factory.begin() as session:
        pulse.write_tallies(session, polls)
    with deps.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in (*BULK_TABLES, "pulse_polls"):
            connection.execute(text(f"VACUUM ANALYZE {table}"))
        total = connection.execute(text("SELECT count(*) FROM pulse_answers")).scalar_one()
    print(
        f"loaded {weeks} weekly pulses of {people:,} people ({total:,} answers with the noise) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return polls


def timed(label: str, runs: int, call: Callable[[], object], note: str) -> None:
    call()  # warm the cache, as a running bot's would be
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"{label}, {runs} runs: p50 {statistics.median(timings):.0f} ms, "
        f"p99 {percentile(timings, 0.99):.0f} ms, min {min(timings):.0f} ms {note}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pulse_trends", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL server URL")
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--noise-workspaces", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    if make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url must be a postgresql:// URL")
    logging.basicConfig(level=logging.WARNING)

    with temporary_database(args.database_url) as url:
        deps = build_deps(Settings(_env_file=None, database_url=url))
        print(
            f"temporary database {make_url(url).database}; {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} (other work skews the figures)"
        )
        polls = load(deps, args.weeks, args.people, args.noise_workspaces)

        def trends() -> object:
            with deps.session_factory() as session:
                return pulse_trends.question_trends(session=session, workspace_id=WORKSPACE)

        def alert() -> object:
            with deps.session_factory() as session:
                return pulse_alerts.find(session=session, workspace_id=WORKSPACE, poll_id=polls[-1])

        def one() -> object:
            with deps.session_factory() as session:
                return pulse.results(session=session, workspace_id=WORKSPACE, poll_id=polls[-1])

        timed(
            f"question_trends() over {len(polls)} pulses",
            args.runs,
            trends,
            "(all the dashboard's pulse figures)",
        )
        timed("pulse_alerts.find() of the latest pulse", args.runs, alert, "(at each close)")
        timed("results() of one pulse with last week's", args.runs, one, "(/pulse)")
        with deps.session_factory.begin() as session:  # as before counts were kept at close
            session.execute(update(PulsePoll).values(tally=None))
        timed(
            f"question_trends() over {len(polls)} pulses counted from every answer",
            args.runs,
            trends,
            "(without the counts kept at close)",
        )
        deps.engine.dispose()


if __name__ == "__main__":
    main()
