"""Wiring: Teams alone or beside Slack on one app, routing by platform, settings, app package."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bot.deps import Deps, build_deps
from bot.notify import DeliveryError
from bot.replies import Reply, message
from bot.services import workspaces
from bot.settings import get_settings
from handlers.cli import cli
from handlers.notifier import PlatformNotifier
from handlers.server import create_web_app
from handlers.teams.app import TeamsOptions, create_teams_bot
from handlers.teams.config import settings_problem
from tests.app_scheduler import app_scheduler
from tests.signing import SIGNING_SECRET
from tests.teams.activities import APP_ID, TENANT_A
from tests.teams.conftest import ALICE, Teams, card_text, outgoing_token, teams_settings_for
from tests.teams.fake_connector import FakeConnector


class Recording:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[str, str]] = []

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        self.sent.append((workspace_id, conversation_ref))
        return f"{self.name}-{len(self.sent)}"


def test_scheduled_messages_go_by_each_workspaces_platform(deps: Deps) -> None:
    import asyncio

    with deps.session_factory.begin() as session:
        workspaces.ensure_workspace(
            session=session, workspace_id="T0SLACK", platform="slack", timezone="UTC"
        )
        workspaces.ensure_workspace(
            session=session, workspace_id="tenant-1", platform="teams", timezone="UTC"
        )
        workspaces.ensure_workspace(
            session=session, workspace_id="console", platform="console", timezone="UTC"
        )
    slack, teams = Recording("slack"), Recording("teams")
    router = PlatformNotifier(deps.session_factory, {"slack": slack, "teams": teams})

    async def run() -> None:
        assert await router.post("T0SLACK", "C1", message("hi")) == "slack-1"
        assert await router.post("tenant-1", "19:x", message("hi")) == "teams-1"
        with pytest.raises(DeliveryError):
            await router.post("console", "x", message("hi"))
        with pytest.raises(DeliveryError, match="side sync needs Slack"):
            await router.group_members("tenant-1", "group")

    asyncio.run(run())
    assert slack.sent == [("T0SLACK", "C1")] and teams.sent == [("tenant-1", "19:x")]


@pytest.fixture
def both(database_url: str, connector: FakeConnector) -> Iterator[tuple[TestClient, Deps]]:
    settings = teams_settings_for(
        database_url, slack_bot_token="xoxb-test-token", slack_signing_secret=SIGNING_SECRET,
        slack_api_url="http://127.0.0.1:9/api/",
    )  # fmt: skip
    deps = build_deps(settings, upgrade_schema=False)
    options = TeamsOptions(token=outgoing_token, dangerously_allow_unauthenticated_requests=True)
    try:
        with TestClient(create_web_app(deps, teams_options=options)) as client:
            yield client, deps
    finally:
        deps.engine.dispose()


def test_slack_and_teams_share_one_app_and_one_scheduler(
    both: tuple[TestClient, Deps], connector: FakeConnector
) -> None:
    client, _ = both
    notifier = app_scheduler(client).notifier
    assert isinstance(notifier, PlatformNotifier)  # scheduled messages go by workspace
    assert client.post("/slack/events", content="x").status_code == 401  # Slack's signature check
    Teams(client, connector).say("bridge side it", ALICE)
    assert card_text(connector.sent()[0].card) == "Done: you are on the IT side."
    assert client.get("/healthz").json()["scheduler"] == "running"


def test_teams_alone_serves_no_slack_endpoint(teams: Teams) -> None:
    assert teams.client.post("/slack/events", content="x").status_code == 404


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"teams_app_id": "bridgebot"}, "TEAMS_APP_ID: must be the bot's Microsoft App ID"),
        ({"teams_app_id": APP_ID}, "TEAMS_APP_PASSWORD: is required with TEAMS_APP_ID"),
        ({"teams_app_password": "abc-123-xyz"}, "TEAMS_APP_ID: is required"),
        (
            {
                "teams_app_id": APP_ID,
                "teams_app_password": "abc-123-xyz",
                "teams_tenant_id": "contoso",
            },
            "TEAMS_TENANT_ID",
        ),
        (
            {"teams_app_id": APP_ID, "teams_app_password": "abc-123-xyz"},
            "BRIDGEBOT_PUBLIC_URL: must be the https:// address",
        ),
        (
            {
                "teams_app_id": APP_ID,
                "teams_app_password": "abc-123-xyz",
                "bridgebot_public_url": "http://bridge.example.com",
            },
            "BRIDGEBOT_PUBLIC_URL: must be the https:// address",
        ),
        (
            {
                "teams_app_id": APP_ID,
                "teams_managed_identity_client_id": APP_ID,
                "bridgebot_public_url": "https://bridge.example.com",
            },
            "TEAMS_TENANT_ID: is required with a managed identity",
        ),
        (
            {
                "teams_app_id": APP_ID,
                "teams_app_password": "abc-123-xyz",
                "teams_managed_identity_client_id": APP_ID,
            },
            "TEAMS_MANAGED_IDENTITY_CLIENT_ID: set it or TEAMS_APP_PASSWORD, not both",
        ),
        (
            {
                "teams_app_id": APP_ID,
                "teams_app_password": "abc-123-xyz",
                "bridgebot_public_url": "https://bridge.example.com",
            },
            None,
        ),
        (
            {
                "teams_app_id": APP_ID,
                "teams_managed_identity_client_id": APP_ID,
                "teams_tenant_id": TENANT_A,
                "bridgebot_public_url": "https://bridge.example.com",
            },
            None,
        ),
    ],
)
def test_bad_teams_settings_stop_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], problem: str | None
) -> None:
    from bot.settings import Settings

    found = settings_problem(Settings(_env_file=None, **values))  # type: ignore[arg-type]
    assert (found is None) if problem is None else (found is not None and found.startswith(problem))
    if problem is not None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), value)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["run"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 2
        assert result.output.strip().splitlines() == [f"bridgebot: bad setting: {found}"]


@pytest.mark.parametrize("variable", ["TENANT_ID", "CLIENT_ID", "CLIENT_SECRET"])
def test_the_sdks_own_identity_variables_stop_start_up(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """The SDK would read TENANT_ID & co. behind bridgebot's back: start-up says which."""
    for name, value in {
        "TEAMS_APP_ID": APP_ID,
        "TEAMS_APP_PASSWORD": "abc-123-xyz",
        "BRIDGEBOT_PUBLIC_URL": "https://bridge.example.com",
        variable: TENANT_A,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"bridgebot: bad setting: {variable}: is set in the environment")


def test_the_sdk_reads_no_cloud_or_service_url_from_the_environment(
    teams_deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    from microsoft_teams.api.auth.cloud_environment import PUBLIC

    monkeypatch.setenv("CLOUD", "USGov")
    monkeypatch.setenv("SERVICE_URL", "https://evil.example")
    bot = create_teams_bot(teams_deps, FastAPI(), TeamsOptions(token=outgoing_token))
    assert bot.app.cloud is PUBLIC
    assert "evil" not in str(bot.app.api.service_url)


def test_a_managed_identity_replaces_the_client_secret(database_url: str) -> None:
    from microsoft_teams.api import ManagedIdentityCredentials

    settings = teams_settings_for(
        database_url,
        teams_app_password=None,
        teams_managed_identity_client_id=APP_ID,
        teams_tenant_id=TENANT_A,
    )
    deps = build_deps(settings, upgrade_schema=False)
    try:
        bot = create_teams_bot(deps, FastAPI())
    finally:
        deps.engine.dispose()
    assert isinstance(bot.app.credentials, ManagedIdentityCredentials)
    assert (bot.app.credentials.client_id, bot.app.credentials.tenant_id) == (APP_ID, TENANT_A)


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_teams_manifest_writes_an_app_package(tmp_path: Path) -> None:
    target = tmp_path / "bridgebot.zip"
    result = CliRunner().invoke(
        cli,
        [
            "teams-manifest",
            "--app-id",
            APP_ID,
            "--url",
            "https://bridge.example.com/",
            "-o",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        data = json.loads(package.read("manifest.json"))
        color, outline = package.read("color.png"), package.read("outline.png")
    assert data["id"] == APP_ID and data["bots"][0]["botId"] == APP_ID
    assert data["bots"][0]["scopes"] == ["personal", "team", "groupChat"]
    commands = data["bots"][0]["commandLists"][0]["commands"]
    # The rest of the menu is the router's (tests/test_command_registry.py).
    assert commands[0]["title"] == "help"
    assert len(commands) <= 10 and all(
        len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands
    )
    assert data["validDomains"] == ["bridge.example.com"]
    assert data["developer"]["websiteUrl"] == "https://bridge.example.com"
    assert data["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert png_size(color) == (192, 192) and png_size(outline) == (32, 32)
    # The outline icon is white on transparent, as Teams requires.
    pixels = zlib.decompress(outline[outline.index(b"IDAT") + 4 : outline.index(b"IEND") - 8])
    alphas = {pixels[1 + x * 4 + 3] for x in range(32)}  # first row
    assert alphas == {0}


def test_teams_manifest_needs_an_app_id_and_an_https_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    get_settings.cache_clear()
    try:
        missing = CliRunner().invoke(cli, ["teams-manifest", "-o", str(tmp_path / "x.zip")])
        plain_http = CliRunner().invoke(
            cli,
            [
                "teams-manifest",
                "--app-id",
                APP_ID,
                "--url",
                "http://bridge.example.com",
                "-o",
                str(tmp_path / "x.zip"),
            ],
        )
    finally:
        get_settings.cache_clear()
    assert missing.exit_code == 2 and "TEAMS_APP_ID" in missing.output
    assert plain_http.exit_code == 2 and "https" in plain_http.output
    assert not (tmp_path / "x.zip").exists()
