"""The dashboard over HTTP: sign-in by a single-use link, sessions, what each person may see,
CSV downloads, anonymity as in the chat results, and one workspace never showing another's."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.deps import Deps, build_deps
from bot.models import DashboardSession, GlossaryLookup, Person
from bot.replies import Paragraph, SpanKind, Visibility
from bot.router import Caller, RequestScope, run_command
from bot.services import board, dashboard_access, glossary_lookups, pulse, workspaces
from bot.settings import get_settings
from handlers.cli import cli
from handlers.server import create_web_app
from tests.clock import Clock

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SECRET = "test-secret"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def client(deps: Deps) -> Iterator[TestClient]:
    # No lifespan: the scheduler and chat adapters are not needed to serve the pages.
    yield TestClient(create_web_app(deps))


def add_workspace(deps: Deps, workspace_id: str, people: dict[str, str]) -> None:
    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
        )
        for user_ref, side in people.items():
            session.add(Person(workspace_id=workspace_id, user_ref=user_ref, side=side))


def link(deps: Deps, workspace_id: str, user_ref: str, *, admin: bool) -> str:
    with deps.session_factory.begin() as session:
        return dashboard_access.create_link(
            session=session,
            workspace_id=workspace_id,
            user_ref=user_ref,
            is_admin=admin,
            now=deps.clock(),
        )


def sign_in(client: TestClient, token: str) -> None:
    page = client.get(f"/dashboard/sign-in/{token}")
    assert page.status_code == 200, page.text
    assert 'name="token"' in page.text
    done = client.post("/dashboard/sign-in", data={"token": token}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/dashboard"


def weekly_pulse(
    deps: Deps, workspace_id: str, opened: datetime, answers: dict[str, list[int]]
) -> None:
    """A closed weekly pulse where each listed person answered every question with one value."""
    with deps.session_factory.begin() as session:
        poll, _ = pulse.open_weekly(
            session=session,
            workspace_id=workspace_id,
            slot=opened,
            now=opened,
            open_for=timedelta(hours=48),
        )
        for user_ref, values in answers.items():
            for question, value in enumerate(values):
                pulse.vote(
                    session=session,
                    workspace_id=workspace_id,
                    poll_id=poll.id,
                    question=question,
                    value=value,
                    user_ref=user_ref,
                    secret_key=SECRET,
                    now=opened + timedelta(hours=1),
                )
        pulse.close(
            session=session,
            workspace_id=workspace_id,
            poll_id=poll.id,
            now=opened + timedelta(hours=48),
        )


def rows_of(response_text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response_text)))


MARKETING = {f"m{i}": "marketing" for i in range(5)}
IT = {f"i{i}": "it" for i in range(5)}


def test_a_link_signs_in_once_and_the_overview_shows_the_score(
    deps: Deps, client: TestClient
) -> None:
    add_workspace(deps, "T1", MARKETING | IT)
    weekly_pulse(
        deps,
        "T1",
        NOW - timedelta(days=14),
        {**{m: [5, 4, 4] for m in MARKETING}, **{i: [2, 2, 4] for i in IT}},
    )
    token = link(deps, "T1", "m0", admin=True)

    assert client.get("/dashboard").status_code == 401  # not signed in yet
    sign_in(client, token)
    cookie = client.cookies.get("bridgebot_dashboard")
    assert cookie
    overview = client.get("/dashboard")

    assert overview.status_code == 200
    assert "Collaboration-health score by month" in overview.text
    assert "How the score is computed" in overview.text
    assert "Pairs that met" in overview.text
    # Marketing agrees 100/100/100, IT 0/0/100: gaps 100, 100, 0, an average of 66.7.
    score_csv = rows_of(client.get("/dashboard/csv/overview/table-figures.csv").text)
    november = next(row for row in score_csv if row[0] == "2026-11")
    assert november[1] == "66.7"
    assert november[2] == "100" and november[3] == "100"  # everyone asked answered
    # The link works once, here or anywhere else.
    fresh = TestClient(create_web_app(deps))
    again = fresh.post("/dashboard/sign-in", data={"token": token}, follow_redirects=False)
    assert again.status_code == 403
    assert "used already" in again.text
    assert fresh.get(f"/dashboard/sign-in/{token}").status_code == 403


def test_the_cookie_is_signed_http_only_and_same_site(deps: Deps, client: TestClient) -> None:
    add_workspace(deps, "T1", MARKETING)
    token = link(deps, "T1", "m0", admin=False)
    response = client.post("/dashboard/sign-in", data={"token": token}, follow_redirects=False)
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/dashboard" in header
    # The session id is stored only as a hash, and the cookie is not the bare id.
    value = client.cookies["bridgebot_dashboard"]
    with deps.session_factory() as session:
        stored = session.execute(select(DashboardSession.session_hash)).scalar_one()
    assert stored and stored not in value
    # A forged or altered cookie signs nobody in.
    client.cookies.set("bridgebot_dashboard", value[:-3] + "abc", path="/dashboard")
    assert client.get("/dashboard").status_code == 401


def test_a_link_expires_after_ten_minutes(deps: Deps, client: TestClient, clock: Clock) -> None:
    add_workspace(deps, "T1", MARKETING)
    token = link(deps, "T1", "m0", admin=True)
    clock.now = NOW + timedelta(minutes=10, seconds=1)

    page = client.get(f"/dashboard/sign-in/{token}")
    used = client.post("/dashboard/sign-in", data={"token": token}, follow_redirects=False)

    assert page.status_code == used.status_code == 403
    assert "expired" in used.text
    assert client.get("/dashboard").status_code == 401


def test_an_unknown_link_is_refused(client: TestClient) -> None:
    response = client.post("/dashboard/sign-in", data={"token": "nope"}, follow_redirects=False)
    assert response.status_code == 403
    assert "not valid" in response.text


def test_a_session_ends_after_eight_hours(deps: Deps, client: TestClient, clock: Clock) -> None:
    add_workspace(deps, "T1", MARKETING)
    sign_in(client, link(deps, "T1", "m0", admin=True))
    clock.now = NOW + timedelta(hours=7, minutes=59)
    assert client.get("/dashboard").status_code == 200
    clock.now = NOW + timedelta(hours=8, minutes=1)
    assert client.get("/dashboard").status_code == 401


def test_signing_out_ends_the_session_even_for_a_copied_cookie(
    deps: Deps, client: TestClient
) -> None:
    add_workspace(deps, "T1", MARKETING)
    sign_in(client, link(deps, "T1", "m0", admin=True))
    copied = client.cookies["bridgebot_dashboard"]

    out = client.post("/dashboard/sign-out")

    assert out.status_code == 200 and "signed out" in out.text
    assert 'bridgebot_dashboard=""' in out.headers["set-cookie"]
    other = TestClient(create_web_app(deps))
    other.cookies.set("bridgebot_dashboard", copied, path="/dashboard")
    assert other.get("/dashboard").status_code == 401


def test_someone_not_an_admin_sees_the_shared_results_only(deps: Deps, client: TestClient) -> None:
    add_workspace(deps, "T1", MARKETING)
    sign_in(client, link(deps, "T1", "m1", admin=False))

    overview = client.get("/dashboard")
    assert overview.status_code == 200
    assert 'href="/dashboard/pulse"' in overview.text
    assert 'href="/dashboard/glossary"' not in overview.text
    assert 'href="/dashboard/standups"' not in overview.text
    assert client.get("/dashboard/pulse").status_code == 200
    assert client.get("/dashboard/board").status_code == 200
    assert client.get("/dashboard/glossary").status_code == 403
    assert client.get("/dashboard/standups").status_code == 403
    assert client.get("/dashboard/csv/glossary/table-not-found.csv").status_code == 404


def test_a_link_for_one_workspace_never_shows_another(deps: Deps, client: TestClient) -> None:
    add_workspace(deps, "T1", MARKETING | IT)
    add_workspace(deps, "T2", {"x1": "marketing"})
    with deps.session_factory.begin() as session:
        glossary_lookups.record(
            session=session,
            workspace_id="T1",
            user_ref="m0",
            query="zanzibar-secret-plan",
            term_name=None,
            term_origin=None,
            now=NOW,
        )
        board.create_post(
            session=session,
            workspace_id="T1",
            kind="challenge",
            author_ref="m0",
            text="T1 only",
            channel_ref="C1",
            now=NOW,
        )
    weekly_pulse(
        deps,
        "T1",
        NOW - timedelta(days=7),
        {**{m: [5, 5, 5] for m in MARKETING}, **{i: [1, 1, 1] for i in IT}},
    )
    sign_in(client, link(deps, "T2", "x1", admin=True))

    glossary = client.get("/dashboard/glossary").text
    board_csv = rows_of(client.get("/dashboard/csv/board/table-board.csv").text)
    pulse_page = client.get("/dashboard/pulse").text

    assert "zanzibar" not in glossary
    assert len(board_csv) == 13  # the header and twelve months, every count 0
    assert {cell for row in board_csv[1:] for cell in row[1:7]} == {"0"}
    assert "worked together collaboratively" not in pulse_page
    assert "Nothing to show yet." in pulse_page


def test_a_side_hidden_in_chat_is_hidden_on_every_chart_and_csv(
    deps: Deps, client: TestClient
) -> None:
    """Two IT answers: under the threshold of 3, so IT, Everyone and the gap are hidden."""
    add_workspace(deps, "T1", MARKETING | IT)
    weekly_pulse(
        deps,
        "T1",
        NOW - timedelta(days=7),
        {**{m: [5, 5, 5] for m in MARKETING}, "i0": [1, 1, 1], "i1": [2, 2, 2]},
    )
    sign_in(client, link(deps, "T1", "m0", admin=True))

    rows = rows_of(client.get("/dashboard/csv/pulse/table-q1.csv").text)
    page = client.get("/dashboard/pulse").text

    assert rows[0][:4] == ["Pulse", "Marketing % agree", "IT % agree", "Everyone % agree"]
    assert rows[1][1:] == ["100", "", "", ""]  # IT, Everyone and the gap left empty
    # The chart draws Marketing's point; IT's and Everyone's markers are in the legend only.
    chart = re.search(r'<svg class="chart".*?</svg>', page, re.S)
    assert chart is not None
    assert chart.group(0).count('fill="#0b5cad"') == 2  # a point and the legend
    assert chart.group(0).count('fill="#a84a00"') == 1
    assert chart.group(0).count('fill="#444444"') == 1
    response = rows_of(client.get("/dashboard/csv/pulse/table-response.csv").text)
    assert response[1][1:3] == ["5/5", "2/5"]  # as the chat results show response rates
    overview = rows_of(client.get("/dashboard/csv/overview/table-figures.csv").text)
    assert next(row for row in overview if row[0] == "2026-11")[1] == ""  # no gap measured


def test_every_table_downloads_as_csv_and_formulas_are_defused(
    deps: Deps, client: TestClient
) -> None:
    add_workspace(deps, "T1", MARKETING)
    with deps.session_factory.begin() as session:
        for typed in ("=HYPERLINK(1)", "=HYPERLINK(1)", "roadmap"):
            glossary_lookups.record(
                session=session,
                workspace_id="T1",
                user_ref="m0",
                query=typed,
                term_name=None,
                term_origin=None,
                now=NOW,
            )
    sign_in(client, link(deps, "T1", "m0", admin=True))

    for page in ("overview", "pulse", "board", "standups", "glossary"):
        html = client.get("/dashboard" if page == "overview" else f"/dashboard/{page}").text
        for table_id in re.findall(rf'href="/dashboard/csv/{page}/([\w-]+)\.csv"', html):
            response = client.get(f"/dashboard/csv/{page}/{table_id}.csv")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/csv")
            assert "attachment" in response.headers["content-disposition"]
    missing = rows_of(client.get("/dashboard/csv/glossary/table-not-found.csv").text)
    assert missing == [["Typed", "Lookups"], ["'=hyperlink(1)", "2"], ["roadmap", "1"]]
    assert client.get("/dashboard/csv/glossary/table-nope.csv").status_code == 404


def test_pages_forbid_scripts_and_escape_what_people_typed(deps: Deps, client: TestClient) -> None:
    add_workspace(deps, "T1", MARKETING)
    with deps.session_factory.begin() as session:
        glossary_lookups.record(
            session=session,
            workspace_id="T1",
            user_ref="m0",
            query="<script>alert(1)</script>",
            term_name=None,
            term_origin=None,
            now=NOW,
        )
    sign_in(client, link(deps, "T1", "m0", admin=True))
    response = client.get("/dashboard/glossary")
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_bridge_dashboard_gives_a_private_link_that_works(
    deps: Deps, client: TestClient, clock: Clock
) -> None:
    add_workspace(deps, "T1", MARKETING)
    scope = RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=Caller(workspace_id="T1", user_ref="m2", platform="slack", is_admin=False),
        now=NOW,
        default_timezone="UTC",
    )
    reply = run_command(scope, "bridge", "dashboard")
    urls = [
        span.url
        for block in reply.blocks
        if isinstance(block, Paragraph)
        for span in block.text
        if span.kind is SpanKind.LINK and span.url
    ]
    assert reply.visibility is Visibility.PRIVATE
    assert "works once" in reply.fallback
    assert len(urls) == 1
    url = re.fullmatch(r"http://127\.0\.0\.1:3000/dashboard/sign-in/([\w-]+)", urls[0])
    assert url is not None, urls
    sign_in(client, url.group(1))
    assert client.get("/dashboard/glossary").status_code == 403  # not an admin on Slack

    in_channel = run_command(
        RequestScope(
            session_factory=deps.session_factory,
            router=deps.router,
            caller=Caller(workspace_id="T1", user_ref="m2", platform="teams", is_admin=False),
            now=NOW,
            default_timezone="UTC",
            typed_where_others_see=True,
        ),
        "bridge",
        "dashboard",
    )
    assert in_channel.is_error and "chat with bridgebot" in in_channel.fallback
    with deps.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(DashboardSession)) == 1


def test_bridgebot_dashboard_link_prints_a_link(
    deps: Deps, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_workspace(deps, "T1", MARKETING)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BRIDGEBOT_PUBLIC_URL", "https://bridge.example.com")
    monkeypatch.setenv("BRIDGEBOT_ADMINS", "U9")
    get_settings.cache_clear()  # the command reads the settings of this test's environment
    try:
        printed = CliRunner().invoke(cli, ["dashboard-link", "--workspace", "T1", "--user", "U9"])
        missing = CliRunner().invoke(cli, ["dashboard-link", "--workspace", "T404", "--user", "U9"])
    finally:
        get_settings.cache_clear()

    assert printed.exit_code == 0, printed.output
    assert re.match(r"https://bridge\.example\.com/dashboard/sign-in/[\w-]{40,}\n", printed.stdout)
    assert "admin view" in printed.output
    assert missing.exit_code == 2 and "no workspace 'T404'" in missing.output
    with deps.session_factory() as session:
        assert session.execute(select(DashboardSession.is_admin)).scalar_one() is True


def test_forget_me_deletes_dashboard_sign_ins_and_lookups_name_nobody(
    deps: Deps, client: TestClient
) -> None:
    add_workspace(deps, "T1", MARKETING)
    sign_in(client, link(deps, "T1", "m0", admin=True))
    with deps.session_factory.begin() as session:
        glossary_lookups.record(
            session=session,
            workspace_id="T1",
            user_ref="m0",
            query="CAC",
            term_name="CAC",
            term_origin="marketing",
            now=NOW,
        )
    with deps.session_factory.begin() as session:
        exported = deps.router.privacy.export(session=session, workspace_id="T1", user_ref="m0")
        deps.router.privacy.forget(session=session, workspace_id="T1", user_ref="m0", now=NOW)
    assert len(exported["dashboard_sign_ins"]) == 1
    assert client.get("/dashboard").status_code == 401  # forgotten: signed out
    with deps.session_factory() as session:
        lookup = session.execute(select(GlossaryLookup)).scalar_one()
    assert lookup.side == "marketing" and lookup.query == "CAC"


def test_two_instances_cannot_both_use_one_link(deps: Deps, settings: object) -> None:
    """Single use is enforced by the database: a second instance (its own engine) is refused."""
    add_workspace(deps, "T1", MARKETING)
    token = link(deps, "T1", "m0", admin=True)
    other = build_deps(deps.settings, upgrade_schema=False, clock=deps.clock)
    try:
        first = TestClient(create_web_app(deps))
        second = TestClient(create_web_app(other))
        a = first.post("/dashboard/sign-in", data={"token": token}, follow_redirects=False)
        b = second.post("/dashboard/sign-in", data={"token": token}, follow_redirects=False)
    finally:
        other.engine.dispose()
    assert sorted([a.status_code, b.status_code]) == [303, 403]


def test_the_pulse_page_and_its_csv_cover_the_weeks_asked_for(
    deps: Deps, client: TestClient
) -> None:
    add_workspace(deps, "T1", MARKETING | IT)
    for weeks_ago, value in ((3, 1), (2, 2), (1, 5)):
        weekly_pulse(
            deps,
            "T1",
            NOW - timedelta(weeks=weeks_ago),
            {**{m: [value] * 3 for m in MARKETING}, **{i: [5, 5, 5] for i in IT}},
        )
    sign_in(client, link(deps, "T1", "m0", admin=False))

    page = client.get("/dashboard/pulse?weeks=2").text
    assert 'href="/dashboard/csv/pulse/table-q1.csv?weeks=2"' in page
    rows = rows_of(client.get("/dashboard/csv/pulse/table-q1.csv?weeks=2").text)
    everything = rows_of(client.get("/dashboard/csv/pulse/table-q1.csv").text)

    assert [row[:2] for row in rows[1:]] == [["2026-11-16", "0"], ["2026-11-23", "100"]]
    assert len(everything) == 4


def test_a_mirrored_pair_shows_each_sides_statement_and_no_total(
    deps: Deps, client: TestClient
) -> None:
    from tests.services.test_pulse_questions import MIRRORED, choose

    add_workspace(deps, "T1", MARKETING | IT)
    choose(deps, "worked-together", MIRRORED, workspace_id="T1")
    weekly_pulse(
        deps,
        "T1",
        NOW - timedelta(days=7),
        {**{m: [5, 5] for m in MARKETING}, **{i: [4, 2] for i in IT}},
    )
    sign_in(client, link(deps, "T1", "i0", admin=False))

    page = client.get("/dashboard/pulse").text
    rows = rows_of(client.get("/dashboard/csv/pulse/table-q2.csv").text)

    assert "is a mirrored pair" in page
    assert "“IT understands what Marketing needs.”" in page
    assert "“Marketing understands what IT needs.”" in page
    assert rows == [
        ["Pulse", "Marketing % agree", "IT % agree", "Gap (Marketing minus IT, points)"],
        ["2026-11-23", "100", "0", "100"],
    ]


def test_odd_sign_in_requests_get_a_page_saying_so(deps: Deps, client: TestClient) -> None:
    for form in ({}, {"token": ""}, {"token": "x" * 5000}):
        response = client.post("/dashboard/sign-in", data=form, follow_redirects=False)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "not valid" in response.text
    assert client.get("/dashboard/sign-in/" + "y" * 300).status_code == 403
    assert client.get("/dashboard/nosuch").status_code == 401  # signed in or not, first
