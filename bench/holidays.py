"""Planning and fan-out with holiday calendars and people on time off: the tick's cost.

Run with `python -m bench.holidays` (`--standups 1000` for a quick run; `--database-url
postgresql://user@host/db` to use a database of its own on that server). It prints
figures and asserts no timing.

10,000 stand-ups (weekdays, a mix of meeting and async, five time zones, start times
spread over the day, as in `bench.fanout`'s part 2) each name holiday calendars, in turn
GB, US-CA, DE-BY, "GB, US-CA", IN or none; each has 5 participants of its own (50,000
people), each with a region (GB, US-CA, DE-BY, IN, or the workspace's GB) and a time zone
(UTC, Europe/London, America/Los_Angeles, Asia/Kolkata), and one in ten of them on time
off over the days measured. The clock starts on Wednesday 23 December 2026, so the plan
meets Christmas Eve, Christmas Day (a holiday of every calendar here) and the weekend.

Measured: the holiday sets built once per calendar and year (cold) and a lookup after;
the ticks of the first plan (all stand-ups new), each within the planner's 100 ms budget
plus one batch; 20 steady ticks when nothing is due; the re-planning ticks a day on, when
every plan runs out at once; and the ticks of an hour in which fan-outs fall due (each
asks who of its people is away or on a holiday where they are) with a notifier that
sends nothing. Target for every tick: under 200 ms. `--baseline` first times the same
stand-ups with no calendar, no region and nobody away, on the same machine and load.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from itertools import cycle

from sqlalchemy import insert, update

from bench.fanout import (
    STEADY_TICKS,
    WORKSPACE,
    SilentNotifier,
    database,
    insert_standups,
    load_average,
    make_deps,
    make_scheduler,
    mark_sent_until,
    ms,
    participants_of,
    percentile,
    planning_ticks,
    status_counts,
)
from bot.deps import Deps
from bot.models import Person, Standup, TimeOff, WorkspaceSettings
from bot.services import holiday_calendars
from schedules import jobs

START = datetime(2026, 12, 23, 8, 0, tzinfo=UTC)  # a Wednesday, two days before Christmas
CALENDARS: tuple[list[str], ...] = (["GB"], ["US-CA"], ["DE-BY"], ["GB", "US-CA"], ["IN"], [])
REGIONS = ("GB", "US-CA", "DE-BY", "IN", None)  # None: the workspace's (GB)
ZONES = ("UTC", "Europe/London", "America/Los_Angeles", "Asia/Kolkata")
AWAY_SHARE = 10  # one person in ten is on time off
FANOUT_MINUTES = 60
TARGET_MS = 200


def holiday_set_cost() -> None:
    """The holidays package builds a calendar's year in milliseconds; bridgebot does it once."""
    holiday_calendars._year.cache_clear()
    began = time.perf_counter()
    for codes in CALENDARS:
        for code in codes:
            for year in (2026, 2027):
                holiday_calendars._year(code, year)
    cold = time.perf_counter() - began
    days = [START.date() + timedelta(days=i) for i in range(366)]
    began = time.perf_counter()
    for day in days:
        holiday_calendars.holiday_name(("GB", "US-CA"), day)
    warm = (time.perf_counter() - began) / len(days)
    print(
        f"holiday sets             {ms(cold)} to build 4 calendars x 2 years once; "
        f"then {warm * 1e6:.1f} µs a lookup of two calendars"
    )


def add_calendars_people_and_time_off(deps: Deps, count: int) -> int:
    """Calendars on every stand-up, a region and zone for everyone, and one in ten away
    from the day before the first plan to a week after. Returns how many are away."""
    regions, zones = cycle(REGIONS), cycle(ZONES)
    people, away = [], []
    for i in range(1, count + 1):
        for person in participants_of(i):
            number = int(person[1:])
            people.append(
                {
                    "workspace_id": WORKSPACE,
                    "user_ref": person,
                    "side": "marketing" if number % 2 else "it",
                    "region": next(regions),
                    "timezone": next(zones),
                }
            )
            if number % AWAY_SHARE == 0:
                away.append(
                    {
                        "workspace_id": WORKSPACE,
                        "user_ref": person,
                        "first_day": date(2026, 12, 22),
                        "last_day": date(2026, 12, 31),
                        "created_at": START,
                    }
                )
    with deps.session_factory.begin() as session:
        session.execute(
            update(WorkspaceSettings)
            .where(WorkspaceSettings.workspace_id == WORKSPACE)
            .values(holiday_region="GB")
        )
        for index, codes in enumerate(CALENDARS):  # stand-up i names CALENDARS[(i - 1) % 6]
            session.execute(
                update(Standup)
                .where(
                    Standup.workspace_id == WORKSPACE,
                    (Standup.number - 1) % len(CALENDARS) == index,
                )
                .values(holiday_calendars=codes)
            )
        session.execute(insert(Person), people)
        session.execute(insert(TimeOff), away)
    return len(away)


async def run(count: int, database_url: str, *, baseline: bool = False) -> None:
    if baseline:
        print(f"== {count:,} stand-ups, no holiday calendar, nobody away (the baseline) ==")
    else:
        print(f"== {count:,} stand-ups with holiday calendars, 10% of people away ==")
        holiday_set_cost()
    deps = make_deps(database_url, "http://127.0.0.1:9/api/")
    scheduler = make_scheduler(deps, SilentNotifier())
    try:
        began = time.perf_counter()
        await asyncio.to_thread(insert_standups, deps, count, START)
        away = (
            0
            if baseline
            else await asyncio.to_thread(add_calendars_people_and_time_off, deps, count)
        )
        print(
            f"inserted {count:,} stand-ups, {count * 5:,} participants "
            f"({'no regions or time off' if baseline else f'{away:,} away'}) "
            f"in {time.perf_counter() - began:.2f} s"
        )

        first = await planning_ticks(scheduler, START)
        statuses = await asyncio.to_thread(status_counts, deps)
        print(
            f"first plan (all new)     {len(first):>5} tick(s), {ms(sum(first))} in all; "
            f"longest tick {ms(max(first))}, p50 {ms(percentile(first, 0.5))} "
            f"(target < {TARGET_MS} ms)"
        )
        print(f"occurrence rows planned  {sum(statuses.values()):>9,}  {statuses}")

        steady: list[float] = []
        for minute in range(1, STEADY_TICKS + 1):
            began = time.perf_counter()
            await jobs.run_tick(scheduler, now=START + timedelta(minutes=minute))
            steady.append(time.perf_counter() - began)
        print(
            f"steady ticks p50 / p99   {ms(percentile(steady, 0.5))} / "
            f"{ms(percentile(steady, 0.99))} (target < {TARGET_MS} ms; {load_average()})"
        )

        # An hour in which reminders and questions fall due: each fan-out asks who of its
        # people is away or on a holiday where they are, and expands to the others.
        fanning: list[float] = []
        claimed = 0
        hour = START + timedelta(minutes=STEADY_TICKS + 1)  # straight after the steady ticks
        for minute in range(FANOUT_MINUTES):
            began = time.perf_counter()
            report = await jobs.run_tick(scheduler, now=hour + timedelta(minutes=minute))
            fanning.append(time.perf_counter() - began)
            claimed += report.claimed
        print(
            f"fan-out ticks (an hour)  {len(fanning):>5}  deliveries claimed {claimed:,}; "
            f"p50 {ms(percentile(fanning, 0.5))}, p99 {ms(percentile(fanning, 0.99))}, "
            f"max {ms(max(fanning))} (target < {TARGET_MS} ms)"
        )

        later = START + timedelta(days=1, hours=1)  # Christmas Eve: plans meet Christmas
        await asyncio.to_thread(mark_sent_until, deps, later)
        again = await planning_ticks(scheduler, later)
        print(
            f"re-planning ticks        {len(again):>5}  (a day on, all {count:,} at once; "
            f"p50 {ms(percentile(again, 0.5))}, p99 {ms(percentile(again, 0.99))}, "
            f"max {ms(max(again))}; target < {TARGET_MS} ms)"
        )
        worst = max([*first, *steady, *fanning, *again])
        verdict = "met" if worst * 1000 < TARGET_MS else "NOT met"
        print(f"longest tick of all      {ms(worst)}: target < {TARGET_MS} ms {verdict}")
    finally:
        deps.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.holidays", description=__doc__)
    parser.add_argument("--standups", type=int, default=10_000, help="stand-ups (10000)")
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server (a database of its own)"
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also time the same stand-ups with no calendar and nobody away, first",
    )
    args = parser.parse_args(argv)
    if args.baseline:
        with database(args.database_url, "baseline") as url:
            asyncio.run(run(args.standups, url, baseline=True))
        print()
    with database(args.database_url, "holidays") as url:
        asyncio.run(run(args.standups, url))


if __name__ == "__main__":
    main()
