"""Incoming token validation: on unless a test turns it off; only Bot Framework-signed
tokens for this bot and this service URL get through. Signing keys come from a fake
OpenID endpoint on 127.0.0.1, so the real validator runs without Azure."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm
from microsoft_teams.api.auth.cloud_environment import PUBLIC, CloudEnvironment, with_overrides
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from bot.deps import Deps
from bot.models import Workspace
from handlers.server import create_web_app
from handlers.teams.app import TeamsOptions
from tests.teams.activities import APP_ID, message, personal
from tests.teams.conftest import ALICE, card_text, outgoing_token
from tests.teams.fake_connector import FakeConnector

ISSUER = "https://api.botframework.test"
KID = "test-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


SIGNING_KEY = new_key()
OTHER_KEY = new_key()


@pytest.fixture
def cloud() -> Iterator[CloudEnvironment]:
    """A cloud whose Bot Framework signing keys are served on 127.0.0.1."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    jwk = json.loads(RSAAlgorithm.to_jwk(SIGNING_KEY.public_key())) | {"kid": KID, "use": "sig"}
    server.expect_request("/v1/.well-known/keys").respond_with_json({"keys": [jwk]})
    try:
        yield with_overrides(
            PUBLIC,
            openid_metadata_url=server.url_for("/v1/.well-known/openidconfiguration"),
            token_issuer=ISSUER,
        )
    finally:
        server.clear()
        server.stop()


def token(service_url: str, *, key: rsa.RSAPrivateKey = SIGNING_KEY, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER, "aud": APP_ID, "serviceurl": service_url, "iat": now - 10, "nbf": now - 10,
        "exp": now + 3600,
    } | claims  # fmt: skip
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KID})


@pytest.fixture
def secured(
    teams_deps: Deps, connector: FakeConnector, cloud: CloudEnvironment
) -> Iterator[TestClient]:
    """The app as `bridgebot run` builds it (validation on), trusting the local keys."""
    options = TeamsOptions(token=outgoing_token, cloud=cloud)
    with TestClient(create_web_app(teams_deps, teams_options=options)) as client:
        yield client


def post(client: TestClient, connector: FakeConnector, authorization: str | None) -> int:
    activity = message(connector.service_url, "bridge side it", ALICE, personal(ALICE))
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.post("/api/messages", json=activity, headers=headers).status_code


def workspaces(deps: Deps) -> int:
    with deps.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Workspace)) or 0


def test_a_token_signed_for_this_bot_is_accepted(
    secured: TestClient, connector: FakeConnector, teams_deps: Deps
) -> None:
    assert post(secured, connector, f"Bearer {token(connector.service_url)}") == 200
    (answer,) = connector.sent()
    assert card_text(answer.card) == "Done: you are on the IT side."


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "Bearer not-a-jwt",
        "signed with a guessed shared secret",
        "signed by another key",
        "for another bot",
        "expired",
        "for another service URL",
        "from another issuer",
    ],
)
def test_requests_without_a_valid_token_are_refused_and_change_nothing(
    secured: TestClient, connector: FakeConnector, teams_deps: Deps, authorization: str | None
) -> None:
    url = connector.service_url
    forged = {
        "signed with a guessed shared secret": "Bearer "
        + jwt.encode(
            {"iss": ISSUER, "aud": APP_ID, "serviceurl": url},
            "guessed-secret-0123456789abcdef-0",  # 32 bytes: PyJWT warns below
            algorithm="HS256",
        ),
        "signed by another key": f"Bearer {token(url, key=OTHER_KEY)}",
        "for another bot": f"Bearer {token(url, aud='11111111-2222-4333-8444-555555555555')}",
        "expired": f"Bearer {token(url, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)}",
        "for another service URL": f"Bearer {token('https://smba.elsewhere.example/teams')}",
        "from another issuer": f"Bearer {token(url, iss='https://attacker.example')}",
    }
    header = forged.get(authorization or "", authorization)
    assert post(secured, connector, header) == 401
    assert connector.calls == []
    assert workspaces(teams_deps) == 0


def test_the_sdks_environment_switch_cannot_turn_validation_off(
    monkeypatch: pytest.MonkeyPatch,
    teams_deps: Deps,
    connector: FakeConnector,
    cloud: CloudEnvironment,
) -> None:
    monkeypatch.setenv("DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS", "true")
    with TestClient(
        create_web_app(teams_deps, teams_options=TeamsOptions(token=outgoing_token, cloud=cloud))
    ) as client:
        assert post(client, connector, None) == 401
    assert connector.calls == []


def test_the_production_app_validates_by_default(
    teams_deps: Deps, connector: FakeConnector
) -> None:
    """create_web_app(deps), as `bridgebot run` calls it: no token, no entry."""
    with TestClient(create_web_app(teams_deps)) as client:
        assert post(client, connector, None) == 401
        assert client.get("/healthz").status_code == 200
    assert connector.calls == []
