"""Dashboard benchmark: the overview's render time for a workspace with two years of data.

    .venv/bin/python -m bench.dashboard [--database-url postgresql://postgres@127.0.0.1:5432/test]

Creates a temporary PostgreSQL database and loads one workspace of 1,000 people (450
Marketing, 400 IT, 150 other) with two years of weekly pulses (104 closed pulses, about
two thirds of each side answering three questions: some 200,000 answers), a weekly async
stand-up of 40 people, board posts with help across sides, and glossary lookups; plus a
second workspace as noise. Then signs in through a real link and times GET /dashboard
(session check, every figure, the SVG charts and the HTML) through the ASGI app, and the
domain's overview() alone. Prints p50/p99 (target: p99 under 300 ms). Everything stays on
loopback; the temporary database is dropped at the end. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text

from bench.pulse import DEFAULT_URL, percentile, temporary_database
from bot.deps import Deps, build_deps
from bot.models import (
    BoardPost,
    ChallengeHelper,
    GlossaryLookup,
    Occurrence,
    Person,
    PulsePoll,
    Standup,
    StandupAnswer,
)
from bot.services import dashboard, dashboard_access, workspaces
from bot.services.pulse import DEFAULT_QUESTIONS
from bot.services.standups import QUESTIONS_DM
from bot.settings import Settings
from handlers.server import create_web_app

WORKSPACE = "T0DASH"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PEOPLE = {"marketing": 450, "it": 400, "other": 150}
WEEKS = 104


def _copy(engine: Engine, table: str, columns: str, rows: io.StringIO) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("SET session_replication_role = replica")
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(rows.getvalue())
        cursor.execute("SET session_replication_role = DEFAULT")
        raw.commit()
    finally:
        raw.close()


def load(deps: Deps, workspace_id: str, seed: int) -> None:
    rng = random.Random(seed)
    people = [(f"U{side[:1].upper()}{i:04d}", side) for side, n in PEOPLE.items() for i in range(n)]
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
        )
        session.execute(
            insert(Person),
            [{"workspace_id": workspace_id, "user_ref": u, "side": s} for u, s in people],
        )
        poll_ids = []
        for week in range(WEEKS, 0, -1):
            opened = NOW - timedelta(weeks=week)
            poll = PulsePoll(
                workspace_id=workspace_id,
                kind="weekly",
                slot=opened,
                questions=list(DEFAULT_QUESTIONS),
                options=[],
                status="closed",
                opened_at=opened,
                closes_at=opened + timedelta(hours=48),
                closed_at=opened + timedelta(hours=48),
                invited=dict(PEOPLE),
            )
            session.add(poll)
            session.flush()
            poll_ids.append(poll.id)
    answers, respondents = io.StringIO(), io.StringIO()
    stamp = "2025-01-01 10:00:00+00"
    for poll_id in poll_ids:
        for user_ref, side in people:
            if rng.random() > 0.66:
                continue
            voter = f"{poll_id}-{user_ref}"
            respondents.write(f"{poll_id}\t{voter}\t{workspace_id}\t{side}\n")
            lean = {"marketing": 2, "it": 3, "other": 3}[side]
            for question in range(3):
                value = min(5, max(1, lean + rng.randint(-1, 2)))
                answers.write(
                    f"{workspace_id}\t{poll_id}\t{voter}\t{side}\t{question}\t{value}\t{stamp}\n"
                )
    _copy(
        deps.engine,
        "pulse_answers",
        "workspace_id, poll_id, voter_hash, side, question, value, updated_at",
        answers,
    )
    _copy(deps.engine, "pulse_respondents", "poll_id, voter_hash, workspace_id, side", respondents)
    with deps.session_factory.begin() as session:
        standup = Standup(
            workspace_id=workspace_id,
            number=1,
            name="Weekly joint stand-up",
            channel_ref="C1",
            weekdays="mon",
            local_time=datetime(2026, 1, 1, 10).time(),
            timezone="UTC",
            mode="async",
            questions=["A win", "A challenge"],
            participants=[u for u, _ in people[:20]] + [u for u, _ in people[450:470]],
            calendar_token=f"bench-{workspace_id}",
        )
        session.add(standup)
        session.flush()
        asked, given = [], []
        for week in range(WEEKS, 0, -1):
            due = NOW - timedelta(weeks=week)
            for user_ref in standup.participants:
                asked.append(
                    {
                        "workspace_id": workspace_id,
                        "kind": QUESTIONS_DM,
                        "subject_ref": f"standup:{standup.id}",
                        "due_at": due,
                        "recipient_ref": user_ref,
                        "payload": {"standup_id": standup.id},
                        "status": "sent",
                    }
                )
                if rng.random() < 0.7:
                    given.append(
                        {
                            "workspace_id": workspace_id,
                            "standup_id": standup.id,
                            "local_date": due.date(),
                            "user_ref": user_ref,
                            "answers": ["a", "b"],
                        }
                    )
        session.execute(insert(Occurrence), asked)
        session.execute(insert(StandupAnswer), given)
        posts = []
        for day in range(WEEKS * 7):
            created = NOW - timedelta(days=day, hours=3)
            for _ in range(2):
                user_ref, side = rng.choice(people)
                kind = rng.choice(("win", "challenge"))
                resolved = (
                    created + timedelta(days=rng.randint(0, 20)) if rng.random() < 0.6 else None
                )
                posts.append(
                    {
                        "workspace_id": workspace_id,
                        "kind": kind,
                        "author_ref": user_ref,
                        "author_side": side,
                        "text": "bench",
                        "status": "resolved" if resolved and kind == "challenge" else "open",
                        "channel_ref": "C1",
                        "created_at": created,
                        "resolved_at": resolved if kind == "challenge" else None,
                    }
                )
        ids = session.execute(
            insert(BoardPost).returning(BoardPost.id, BoardPost.author_side), posts
        ).all()
        session.execute(
            insert(ChallengeHelper),
            [
                {
                    "workspace_id": workspace_id,
                    "post_id": post_id,
                    "helper_ref": f"H{post_id}",
                    "helper_side": "it" if side == "marketing" else "marketing",
                }
                for post_id, side in ids
                if rng.random() < 0.4
            ],
        )
        session.execute(
            insert(GlossaryLookup),
            [
                {
                    "workspace_id": workspace_id,
                    "side": rng.choice(("marketing", "it", "other")),
                    "query": f"term {rng.randint(0, 300)}",
                    "term_name": None if rng.random() < 0.1 else f"Term {rng.randint(0, 230)}",
                    "term_origin": rng.choice(("marketing", "it", "general")),
                    "found": True,
                    "looked_up_on": date(2025, 1, 1) + timedelta(days=rng.randint(0, 700)),
                }
                for _ in range(20_000)
            ],
        )
    with deps.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def timed(runs: int, work: object) -> list[float]:
    assert callable(work)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    print(
        f"{label}: p50 {statistics.median(times):.1f} ms · p99 {percentile(times, 0.99):.1f} ms"
        f" · max {max(times):.1f} ms over {len(times)} runs"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args(argv)
    with temporary_database(args.database_url) as url:
        deps = build_deps(Settings(_env_file=None, database_url=url), clock=lambda: NOW)
        try:
            started = time.perf_counter()
            load(deps, WORKSPACE, seed=1)
            load(deps, "T0NOISE", seed=2)
            print(
                f"loaded 2 workspaces of 1,000 people, {WEEKS} weekly pulses each, in "
                f"{time.perf_counter() - started:.0f} s"
            )
            with deps.session_factory() as session:
                answers = session.execute(text("SELECT count(*) FROM pulse_answers")).scalar()
            print(f"pulse answers stored: {answers:,}")
            with deps.session_factory.begin() as session:
                token = dashboard_access.create_link(
                    session=session,
                    workspace_id=WORKSPACE,
                    user_ref="UM0000",
                    is_admin=True,
                    now=NOW,
                )
            client = TestClient(create_web_app(deps))
            client.post("/dashboard/sign-in", data={"token": token})
            started = time.perf_counter()
            first = client.get("/dashboard")
            assert first.status_code == 200, first.text
            print(f"first GET /dashboard: {(time.perf_counter() - started) * 1000:.1f} ms")

            def domain() -> None:
                with deps.session_factory() as session:
                    dashboard.overview(
                        session=session,
                        workspace_id=WORKSPACE,
                        now=NOW,
                        pair_figures=dashboard.pairs_that_met,
                    )

            report("overview() figures", timed(args.runs, domain))
            report(
                "GET /dashboard (figures, charts, HTML)",
                timed(args.runs, lambda: client.get("/dashboard")),
            )
            report(
                "GET /dashboard/pulse (26 weeks)",
                timed(max(10, args.runs // 3), lambda: client.get("/dashboard/pulse")),
            )
            print("target: p99 of GET /dashboard under 300 ms")
        finally:
            deps.engine.dispose()


if __name__ == "__main__":
    main()
