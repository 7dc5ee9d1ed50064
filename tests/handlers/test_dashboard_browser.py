"""The dashboard in a real headless Chromium (Playwright driving the system's browser):
sign in with a link, see the overview, follow a chart to its table, download a CSV.
A screenshot of each page is written to a folder and listed in the test output.

Needs the `chromium` command (Debian: apt-get install chromium); CI installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn

from bot.deps import Deps
from bot.services import board, glossary_lookups
from handlers.server import create_web_app
from tests.clock import Clock
from tests.handlers.test_dashboard_http import IT, MARKETING, add_workspace, link, weekly_pulse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="the dashboard's browser tests need Chromium: apt-get install chromium "
    "(.ci/run installs it when missing)",
)
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("BRIDGEBOT_SCREENSHOTS_DIR", "test-screenshots"))
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
EXPECT_TIMEOUT_MS = 30_000


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def server(deps: Deps) -> Iterator[str]:
    """The FastAPI app served by uvicorn on a loopback port (no scheduler: lifespan off)."""
    # The socket is bound here and handed to uvicorn, so no other test's server (another
    # worker's, in a parallel run) can take the port between choosing it and serving.
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    config = uvicorn.Config(
        create_web_app(deps), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(10)
        listener.close()


def a_month_of_data(deps: Deps) -> None:
    add_workspace(deps, "T1", MARKETING | IT)
    for weeks_ago, it_value in ((4, 2), (3, 3), (2, 4), (1, 4)):
        weekly_pulse(
            deps,
            "T1",
            NOW - timedelta(weeks=weeks_ago),
            {**{m: [5, 4, 4] for m in MARKETING}, **{i: [it_value, 4, 5] for i in IT}},
        )
    with deps.session_factory.begin() as session:
        board.create_post(
            session=session,
            workspace_id="T1",
            kind="win",
            author_ref="i1",
            text="Shipped the landing page",
            channel_ref="C1",
            now=NOW - timedelta(days=3),
        )
        for typed, term, origin in (("CAC", "CAC", "marketing"), ("kanban board", None, None)):
            glossary_lookups.record(
                session=session,
                workspace_id="T1",
                user_ref="i2",
                query=typed,
                term_name=term,
                term_origin=origin,
                now=NOW,
            )


def test_sign_in_see_the_overview_follow_a_chart_and_download_a_csv(
    deps: Deps, server: str, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    # Each check waits for its condition; the bound only decides when to give up, and a
    # machine shared with a parallel run's other tests can take more than the default 5 s.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    a_month_of_data(deps)
    token = link(deps, "T1", "m0", admin=True)
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    folder = SCREENSHOTS / backend
    folder.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(f"{server}/dashboard/sign-in/{token}")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
            expect(page.get_by_text("How the score is computed")).to_be_visible()
            shots.append(folder / "overview.png")
            page.screenshot(path=str(shots[-1]), full_page=True)

            # The score chart is a link to its table.
            page.locator("figure a.chart-link").first.click()
            assert page.url.endswith("#table-score")
            expect(page.locator("#table-score")).to_be_in_viewport()
            expect(page.get_by_role("table").first).to_contain_text("2026-11")

            with page.expect_download() as info:
                page.get_by_role(
                    "link", name="Download “Score by month and its parts (0-100)” as CSV"
                ).click()
            download = info.value
            assert download.suggested_filename == "bridgebot-overview-score.csv"
            content = Path(download.path()).read_text()
            assert content.startswith("Month,Score,")
            assert "2026-11," in content

            for name in ("pulse", "board", "standups", "glossary"):
                page.get_by_role("navigation").get_by_role(
                    "link", name=name.title().replace("Standups", "Stand-ups")
                ).click()
                expect(page.get_by_role("heading", level=1)).to_be_visible()
                shots.append(folder / f"{name}.png")
                page.screenshot(path=str(shots[-1]), full_page=True)
            expect(page.get_by_text("kanban board")).to_be_visible()

            phone = browser.new_context(viewport={"width": 390, "height": 844})
            phone_page = phone.new_page()
            phone_page.goto(f"{server}/dashboard/sign-in/{link(deps, 'T1', 'm0', admin=True)}")
            phone_page.get_by_role("button", name="Sign in").click()
            expect(phone_page.get_by_role("heading", name="Overview")).to_be_visible()
            # Readable on a phone: nothing wider than the screen but the scrollable tables.
            width = phone_page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390
            shots.append(folder / "overview-phone.png")
            phone_page.screenshot(path=str(shots[-1]), full_page=True)

            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
            page.goto(f"{server}/dashboard")
            expect(page.get_by_role("heading", name="Sign in to the dashboard")).to_be_visible()
        finally:
            browser.close()

    for shot in shots:
        assert shot.stat().st_size > 5000
    with capsys.disabled():  # listed in the test output, for review
        print("\ndashboard screenshots: " + ", ".join(str(shot) for shot in shots))
