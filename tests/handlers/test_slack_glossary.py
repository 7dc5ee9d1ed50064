"""/jargon and Explain jargon end to end: signed Slack requests in, the fake Slack records out.

Every test works in a workspace of its own (a new team id), which the first command seeds
with the starter glossary, through an app whose bot token belongs to that workspace (a
single-workspace install serves no other); the tests that change nothing share one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from bot.commands.glossary import (
    GLOSSARY_EDIT_FORM,
    GLOSSARY_RESET_CONFIRM,
    GLOSSARY_SHARE,
    GLOSSARY_SHOW,
)
from bot.db import make_engine
from bot.deps import Deps, build_deps
from bot.migrate import upgrade
from bot.models import GlossaryEdit, GlossaryTerm
from bot.services import glossary
from bot.settings import Settings
from handlers.server import create_web_app
from handlers.slack.manifest import EXPLAIN_SHORTCUT_ID
from tests.conftest import PG_URL, create_pg_database, drop_pg_database
from tests.fake_slack import Call, FakeSlack
from tests.idle import wait_until_idle
from tests.signing import (
    SIGNING_SECRET,
    block_actions_body,
    message_action_body,
    modal_submission_body,
    slack_headers,
    slash_command_body,
    view_submission_body,
)

ALICE = "U0ALICE"  # a member
BOB = "U0BOB"  # a member who adds terms
ADA = "U0ADA"  # a workspace admin
MESSAGE_METHODS = ("response_url", "chat.postEphemeral", "chat.postMessage", "chat.update")
MODULE_SECRET_KEY = "glossary-module-key-0123456789abcdef0123456789abcdef"


# -- one database per backend, one app per workspace -----------------------------------------------


@pytest.fixture(scope="module")
def slack_server() -> Iterator[FakeSlack]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield FakeSlack(server)
    finally:
        server.clear()
        server.stop()


def slack_settings(url: str, fake: FakeSlack, team: str) -> Settings:
    """Settings of an app whose bot token belongs to `team` (the fake's auth.test says so)."""
    token = f"xoxb-test-{team.lower()}"
    fake.token_teams[token] = team
    with pytest.MonkeyPatch.context() as env:
        for name in Settings.model_fields:
            env.delenv(name.upper(), raising=False)
        return Settings(
            _env_file=None,
            database_url=url,
            slack_bot_token=token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
            # The module's database outlives a test's own key file: one key for all its apps.
            bridgebot_secret_key=MODULE_SECRET_KEY,
        )


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One migrated database per backend, the module's own."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
        url = create_pg_database(PG_URL)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('slack_glossary')}/bridgebot.db"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        if PG_URL and request.param == "postgresql":
            drop_pg_database(PG_URL, url)


@dataclass
class Slack:
    """A workspace of its own and its app, and the requests a Slack user makes."""

    deps: Deps
    http: TestClient
    fake: FakeSlack
    team: str
    acks: list[dict[str, Any]] = field(default_factory=list)

    # -- requests -------------------------------------------------------------------

    def post(self, body: str) -> httpx.Response:
        response = self.http.post("/slack/events", content=body, headers=slack_headers(body))
        assert response.status_code == 200, response.text
        return response

    def command(self, text: str, *, user: str = ALICE, team: str | None = None) -> dict[str, Any]:
        """Run `/jargon TEXT`; the reply rides on the ack or comes through response_url."""
        before = len(self.fake.calls_to("response_url"))
        body = slash_command_body(
            "/jargon", text, response_url=self.fake.response_url(), user_id=user,
            team_id=team or self.team,
        )  # fmt: skip
        response = self.post(body)
        if response.content and response.json().get("blocks"):
            reply: dict[str, Any] = response.json()
            self.acks.append(reply)
            return reply
        return message(self.fake.wait_for("response_url", before + 1)[before])

    def command_opening_modal(self, text: str, *, user: str = ALICE) -> dict[str, Any]:
        before = len(self.fake.calls_to("views.open"))
        body = slash_command_body(
            "/jargon", text, response_url=self.fake.response_url(), user_id=user,
            team_id=self.team,
        )  # fmt: skip
        self.post(body)
        return opened_view(self.fake.wait_for("views.open", before + 1)[before])

    def click(
        self, button: dict[str, Any], *, user: str = ALICE, team: str | None = None
    ) -> dict[str, Any]:
        """Click a button; the answer comes through response_url."""
        before = len(self.fake.calls_to("response_url"))
        self.post(self.click_body(button, user=user, team=team))
        return message(self.fake.wait_for("response_url", before + 1)[before])

    def click_opening_modal(self, button: dict[str, Any], *, user: str = ALICE) -> dict[str, Any]:
        before = len(self.fake.calls_to("views.open"))
        self.post(self.click_body(button, user=user))
        return opened_view(self.fake.wait_for("views.open", before + 1)[before])

    def click_body(self, button: dict[str, Any], *, user: str, team: str | None = None) -> str:
        return block_actions_body(
            button["action_id"], button["value"], response_url=self.fake.response_url(),
            user_id=user, team_id=team or self.team,
        )  # fmt: skip

    def submit(
        self, view: dict[str, Any], answers: dict[str, str | list[str]], *, user: str = ALICE
    ) -> httpx.Response:
        """Submit a modal the bot opened; the response is Slack's view_submission ack."""
        return self.post(modal_submission_body(view, answers, user_id=user, team_id=self.team))

    def confirmation(self, count: int) -> dict[str, Any]:
        """The `count`-th private message posted after a modal (chat.postEphemeral)."""
        return message(self.fake.wait_for("chat.postEphemeral", count)[count - 1])

    def explain(self, text: str, *, team: str | None = None) -> dict[str, Any]:
        before = len(self.fake.calls_to("response_url"))
        body = message_action_body(
            EXPLAIN_SHORTCUT_ID, text, response_url=self.fake.response_url(),
            team_id=team or self.team,
        )  # fmt: skip
        self.post(body)
        return message(self.fake.wait_for("response_url", before + 1)[before])

    # -- the database -----------------------------------------------------------------

    def term(self, name: str, team: str | None = None) -> GlossaryTerm | None:
        with self.deps.session_factory() as session:
            term_id = glossary.find_id_by_name(
                session=session, workspace_id=team or self.team, name=name
            )
            return None if term_id is None else session.get(GlossaryTerm, term_id)

    def edits(self, term_id: int) -> list[str]:
        with self.deps.session_factory() as session:
            return list(
                session.execute(
                    select(GlossaryEdit.action)
                    .where(GlossaryEdit.term_id == term_id)
                    .order_by(GlossaryEdit.id)
                ).scalars()
            )

    def add_term(self, name: str, definition: str, *, user: str = BOB, **more: str) -> int:
        """Add a term the way a person does: /jargon add, fill the modal, submit."""
        posted = len(self.fake.calls_to("chat.postEphemeral"))
        view = self.command_opening_modal(f"add {name}", user=user)
        response = self.submit(view, {"definition": definition, **more}, user=user)
        assert not response.content, response.text  # an empty ack: the modal closes
        confirmation = self.confirmation(posted + 1)
        assert f"Added “*{escaped(name)}*”" in blocks_text(confirmation)
        stored = self.term(name)
        assert stored is not None
        return stored.id


@contextmanager
def serving(url: str, fake: FakeSlack, team: str) -> Iterator[Slack]:
    """An app installed in `team`, and the requests people of that workspace make."""
    deps = build_deps(slack_settings(url, fake, team), upgrade_schema=False)
    try:
        with TestClient(create_web_app(deps)) as client:
            yield Slack(deps, client, fake, team)
    finally:
        deps.engine.dispose()


def with_people(fake: FakeSlack) -> None:
    fake.calls.clear()
    for user in (ALICE, BOB):
        fake.add_user(user)
    fake.add_user(ADA, admin=True)


@pytest.fixture
def slack(database: str, slack_server: FakeSlack) -> Iterator[Slack]:
    with_people(slack_server)
    with serving(database, slack_server, f"T{uuid.uuid4().hex[:10].upper()}") as workspace:
        yield workspace


READER_TEAM = "T0READER"


@pytest.fixture(scope="module")
def shared_reader(database: str, slack_server: FakeSlack) -> Iterator[Slack]:
    with serving(database, slack_server, READER_TEAM) as workspace:
        yield workspace


@pytest.fixture
def reader(shared_reader: Slack) -> Slack:
    """A workspace shared by the tests that change nothing in it: seeding one takes time."""
    with_people(shared_reader.fake)
    shared_reader.acks.clear()
    return shared_reader


# -- reading what the bot sent ---------------------------------------------------------------------


def escaped(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(call: Call) -> dict[str, Any]:
    params = dict(call.params)
    if isinstance(params.get("blocks"), str):
        params["blocks"] = json.loads(params["blocks"])
    return params


def opened_view(call: Call) -> dict[str, Any]:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def blocks_text(reply: dict[str, Any]) -> str:
    return json.dumps(reply.get("blocks", []), ensure_ascii=False)


def header(reply: dict[str, Any]) -> str:
    headers = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "header"]
    assert len(headers) == 1, reply["blocks"]
    return str(headers[0])


def buttons(reply: dict[str, Any], action: str | None = None) -> list[dict[str, Any]]:
    found = [
        element
        for block in reply.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    if action is not None:
        found = [b for b in found if b["action_id"].split(":")[0] == action]
    return found


def button(reply: dict[str, Any], label: str) -> dict[str, Any]:
    for element in buttons(reply):
        if element["text"]["text"] == label:
            return element
    raise AssertionError(f"no {label!r} button in {[b['text']['text'] for b in buttons(reply)]}")


def labels(reply: dict[str, Any], action: str | None = None) -> list[str]:
    return [b["text"]["text"] for b in buttons(reply, action)]


def fields(reply: dict[str, Any]) -> list[str]:
    return [
        item["text"]
        for block in reply["blocks"]
        if block["type"] == "section"
        for item in block.get("fields", [])
    ]


def initial(view: dict[str, Any], block_id: str) -> Any:
    for block in view["blocks"]:
        if block["block_id"] == block_id:
            element = block["element"]
            if "initial_option" in element:
                return element["initial_option"]["value"]
            return element.get("initial_value", "")
    raise AssertionError(f"no {block_id} in the modal")


def outgoing(slack: Slack) -> list[dict[str, Any]]:
    """Every message the bot sent so far: acks carrying a reply and every post."""
    sent = list(slack.acks)
    for method in MESSAGE_METHODS:
        sent += [message(call) for call in slack.fake.calls_to(method)]
    return sent


# -- /jargon TERM ----------------------------------------------------------------------------------


def test_jargon_cac_shows_the_card_with_both_views_and_buttons(reader: Slack) -> None:
    reply = reader.command("CAC")

    assert reply["response_type"] == "ephemeral"
    assert header(reply) == "Customer acquisition cost"
    text = blocks_text(reply)
    assert "What it costs, on average, to win one new customer" in text
    marketing, it = fields(reply)
    assert marketing.startswith("*For Marketing*\nThe number finance asks about first.")
    assert it.startswith("*For IT*\nA ratio computed from spend and customer counts.")
    assert "_Example:_ Our paid social CAC rose" in text
    assert "Also: CAC" in text
    assert "From: Marketing" in text
    assert "From the starter glossary" in text
    assert labels(reply, GLOSSARY_SHOW) == ["Customer lifetime value", "Attribution"]
    assert button(reply, "Share in channel")["style"] == "primary"
    assert labels(reply)[-2:] == ["Share in channel", "Edit"]
    assert "Customer acquisition cost" in reply["text"]  # the notification fallback


def test_lookups_ignore_case_and_match_aliases(reader: Slack) -> None:
    assert header(reader.command("customer ACQUISITION cost")) == "Customer acquisition cost"
    assert header(reader.command("ltv")) == "Customer lifetime value"
    assert header(reader.command("Pen-Test")) == "Pen test"


def test_views_are_counted_on_the_card(slack: Slack) -> None:
    assert "· 1 view" in blocks_text(slack.command("CAC"))
    assert "· 2 views" in blocks_text(slack.command("cac"))
    related = button(slack.command("CAC"), "Attribution")
    slack.click(related)
    assert "· 2 views" in blocks_text(slack.command("Attribution"))


def test_a_typo_opens_the_closest_card_and_says_so(reader: Slack) -> None:
    reply = reader.command("atribution")
    assert header(reply) == "Attribution"
    assert "Closest match to “atribution”" in blocks_text(reply)

    assert header(reader.command("pentest")) == "Pen test"


def test_an_unknown_term_offers_close_matches_and_adding_it(reader: Slack) -> None:
    reply = reader.command("churm")

    assert "No term “*churm*” in the glossary yet." in blocks_text(reply)
    assert "Did you mean:" in blocks_text(reply)
    suggestions = labels(reply, GLOSSARY_SHOW)
    assert 1 <= len(suggestions) <= 3
    assert "Churn" in suggestions
    assert labels(reply)[-1] == "Add this term"

    card = reader.click(button(reply, "Churn"))
    assert header(card) == "Churn"


def test_a_term_nobody_wrote_offers_only_to_add_it_prefilled(reader: Slack) -> None:
    reply = reader.command("xyzzy")

    assert "No term “*xyzzy*” in the glossary yet." in blocks_text(reply)
    assert "Did you mean" not in blocks_text(reply)
    assert labels(reply) == ["Add this term"]

    view = reader.click_opening_modal(button(reply, "Add this term"))
    assert view["callback_id"] == "glossary_add_form"
    assert initial(view, "name") == "xyzzy"
    assert initial(view, "definition") == ""


def test_a_related_button_opens_that_terms_card(reader: Slack) -> None:
    card = reader.command("CAC")
    related = button(card, "Customer lifetime value")
    assert related["action_id"].startswith(f"{GLOSSARY_SHOW}:")

    shown = reader.click(related)

    assert shown["response_type"] == "ephemeral"
    assert shown.get("replace_original") in (False, None, "false")
    assert header(shown) == "Customer lifetime value"
    assert "Share in channel" in labels(shown)


# -- Share, Edit -----------------------------------------------------------------------------------


def test_share_posts_the_card_in_the_channel_saying_who_shared_it(reader: Slack) -> None:
    card = reader.command("CAC")

    shared = reader.click(button(card, "Share in channel"), user=BOB)

    assert shared["response_type"] == "in_channel"
    assert header(shared) == "Customer acquisition cost"
    text = blocks_text(shared)
    assert "Shared by <@U0BOB>" in text
    assert "/jargon Customer acquisition cost" in text
    assert "*For IT*" in text
    assert buttons(shared) == []  # nobody else can click Edit on the shared copy


def test_edit_on_a_starter_term_is_refused_to_a_member(reader: Slack) -> None:
    card = reader.command("CAC")

    refused = reader.click(button(card, "Edit"), user=ALICE)

    assert (
        "Only the person who added “Customer acquisition cost” or a workspace admin"
        in (refused["text"])
    )
    assert refused["response_type"] == "ephemeral"
    assert reader.fake.calls_to("views.open") == []


def test_edit_opens_a_prefilled_modal_for_an_admin_and_saves_with_history(slack: Slack) -> None:
    card = slack.command("CAC")

    view = slack.click_opening_modal(button(card, "Edit"), user=ADA)

    assert view["callback_id"] == GLOSSARY_EDIT_FORM
    assert initial(view, "name") == "Customer acquisition cost"
    assert initial(view, "aliases") == "CAC"
    assert initial(view, "definition").startswith("What it costs, on average")
    assert initial(view, "marketing_view").startswith("The number finance asks about first.")
    assert initial(view, "origin") == "marketing"
    assert initial(view, "related") == "Customer lifetime value, Attribution"

    response = slack.submit(view, {"definition": "Spend divided by new customers."}, user=ADA)

    assert not response.content
    saved = slack.confirmation(1)
    assert "Saved “*Customer acquisition cost*”" in blocks_text(saved)
    assert "Edited " in blocks_text(saved) and "by <@U0ADA>" in blocks_text(saved)
    stored = slack.term("CAC")
    assert stored is not None and stored.definition == "Spend divided by new customers."
    assert slack.edits(stored.id) == ["updated"]


def test_the_author_may_edit_their_term_and_others_may_not(slack: Slack) -> None:
    term_id = slack.add_term("Zorblax", "A made-up word.", user=BOB, aliases="ZBX")

    refused = slack.command("edit Zorblax", user=ALICE)
    assert "Only the person who added “Zorblax” or a workspace admin" in refused["text"]
    refused = slack.click(button(slack.command("Zorblax"), "Edit"), user=ALICE)
    assert "Only the person who added “Zorblax”" in refused["text"]
    assert len(slack.fake.calls_to("views.open")) == 1  # only the add modal, earlier

    view = slack.command_opening_modal("edit zbx", user=BOB)
    assert (initial(view, "name"), initial(view, "aliases")) == ("Zorblax", "ZBX")

    # A member who forges the submission of the author's modal changes nothing.
    slack.submit(view, {"definition": "Hijacked."}, user=ALICE)
    forged = slack.confirmation(2)
    assert "Only the person who added this term or an admin" in forged["text"]
    stored = slack.term("Zorblax")
    assert stored is not None and stored.definition == "A made-up word."

    assert not slack.submit(view, {"definition": "A word made up for tests."}, user=BOB).content
    assert "Saved “*Zorblax*”" in blocks_text(slack.confirmation(3))
    stored = slack.term("Zorblax")
    assert stored is not None and stored.definition == "A word made up for tests."
    assert slack.edits(term_id) == ["created", "updated"]


# -- /jargon add and the modal's validation --------------------------------------------------------


def test_jargon_add_opens_the_modal_and_a_valid_submission_stores_the_term(slack: Slack) -> None:
    view = slack.command_opening_modal("add Zorblax", user=BOB)

    assert view["callback_id"] == "glossary_add_form"
    assert initial(view, "name") == "Zorblax"
    assert [b["block_id"] for b in view["blocks"]] == [
        "name", "aliases", "definition", "marketing_view", "it_view", "example", "origin",
        "related",
    ]  # fmt: skip
    response = slack.submit(
        view,
        {
            "aliases": "ZBX, zorb",
            "definition": "A made-up word.",
            "marketing_view": "Say it in campaigns.",
            "it_view": "Never in code.",
            "example": "Zorblax all the things.",
            "origin": "it",
            "related": "CAC",
        },
        user=BOB,
    )

    assert response.status_code == 200 and not response.content
    posted = slack.fake.wait_for("chat.postEphemeral")[0].params
    assert (posted["channel"], posted["user"]) == ("C0GENERAL", BOB)
    confirmation = slack.confirmation(1)
    assert "Added “*Zorblax*”. Here is its card:" in blocks_text(confirmation)
    assert header(confirmation) == "Zorblax"
    assert "Added by <@U0BOB>" in blocks_text(confirmation)
    assert "From: IT" in blocks_text(confirmation)
    assert labels(confirmation, GLOSSARY_SHOW) == ["CAC"]

    stored = slack.term("zbx")
    assert stored is not None
    assert (stored.name, stored.author_ref, stored.origin) == ("Zorblax", BOB, "it")
    assert slack.edits(stored.id) == ["created"]
    card = slack.command("zorb")
    assert header(card) == "Zorblax"
    assert "*For Marketing*\nSay it in campaigns." in fields(card)


INVALID_ANSWERS: list[tuple[dict[str, str | list[str]], str, str]] = [
    ({"definition": ""}, "definition", "Write a plain definition"),
    ({"name": "", "definition": "Fine."}, "name", "Give the term a name."),
    ({"definition": "d" * 601}, "definition", "Keep it under 600 characters"),
    ({"name": "N" * 81, "definition": "Fine."}, "name", "Keep it under 80 characters"),
    ({"definition": "Fine.", "aliases": "ZBX, CAC"}, "aliases", "already used by the term"),
    ({"name": "ROI", "definition": "Fine."}, "name", "“ROI” is already used by the term"),
    ({"name": "attribution", "definition": "Fine."}, "name", "already used"),
]


def test_invalid_submissions_show_errors_in_the_modal_and_store_nothing(reader: Slack) -> None:
    view = reader.command_opening_modal("add Zorblax", user=BOB)
    with reader.deps.session_factory() as session:
        before = glossary.count_terms(session=session, workspace_id=reader.team)

    # The modal stays open after each error, so the person corrects and submits again.
    for answers, name, message_part in INVALID_ANSWERS:
        body = reader.submit(view, answers, user=BOB).json()
        assert body["response_action"] == "errors", answers
        assert list(body["errors"]) == [name], answers
        assert message_part in body["errors"][name], answers

    with reader.deps.session_factory() as session:
        assert glossary.count_terms(session=session, workspace_id=reader.team) == before
    assert reader.term("Zorblax") is None
    assert reader.fake.calls_to("chat.postEphemeral") == []
    assert reader.fake.calls_to("chat.postMessage") == []


def test_a_submission_with_several_problems_shows_each_next_to_its_field(reader: Slack) -> None:
    view = reader.command_opening_modal("add", user=BOB)
    body = reader.submit(view, {"name": "", "definition": "", "origin": "it"}, user=BOB).json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"name", "definition"}


def test_a_forged_submission_with_a_bad_origin_is_refused(reader: Slack) -> None:
    reader.command("help")  # the workspace exists
    body = reader.post(
        view_submission_body(
            "glossary_add_form",
            {"name": "Zorblax", "definition": "A made-up word.", "origin": "sales"},
            user_id=BOB,
            team_id=reader.team,
        )
    ).json()
    assert body == {"response_action": "errors", "errors": {"origin": body["errors"]["origin"]}}
    assert "marketing, it or general" in body["errors"]["origin"]
    assert reader.term("Zorblax") is None


# -- escaping --------------------------------------------------------------------------------------


def test_typed_broadcasts_in_a_definition_never_ping_anyone(slack: Slack) -> None:
    slack.add_term(
        "Megaphone",
        "Ping <!channel> and <!here> & <@U0ALICE> about <https://evil.example|this>.",
        marketing_view="Shout <!channel> at everyone.",
        example="<!everyone> hears it.",
        user=BOB,
    )

    slack.command("megaphone")
    slack.command("search megaphone")
    slack.click(button(slack.command("Megaphone"), "Share in channel"), user=BOB)
    slack.explain("Have you read the Megaphone entry?")
    slack.command("edit Megaphone", user=ALICE)  # a refusal names the term only

    sent = outgoing(slack)
    assert len(sent) >= 6
    showing_definition = 0
    for reply in sent:
        for rendered in (reply["text"], blocks_text(reply)):
            assert "<!channel>" not in rendered
            assert "<!here>" not in rendered
            assert "<!everyone>" not in rendered
            assert "<https://evil.example" not in rendered
            assert "<@U0ALICE>" not in rendered
        if "Ping" in blocks_text(reply):
            showing_definition += 1
            assert "&lt;!channel&gt;" in blocks_text(reply)
            assert "&lt;!channel&gt;" in reply["text"]
            assert "&amp; &lt;@U0ALICE&gt;" in blocks_text(reply)
    assert showing_definition >= 5  # confirmation, card, search, shared card, Explain


# -- delete ----------------------------------------------------------------------------------------


def test_delete_asks_to_confirm_and_only_the_author_or_an_admin_may(slack: Slack) -> None:
    term_id = slack.add_term("Zorblax", "A made-up word.", user=BOB)

    refused = slack.command("delete Zorblax", user=ALICE)
    assert "Only the person who added “Zorblax” or a workspace admin" in refused["text"]

    confirm = slack.command("delete zorblax", user=BOB)
    assert "Delete “*Zorblax*” from the glossary? Its history is kept." in blocks_text(confirm)
    assert labels(confirm) == ["Delete Zorblax", "Cancel"]
    assert button(confirm, "Delete Zorblax")["style"] == "danger"

    cancelled = slack.click(button(confirm, "Cancel"), user=BOB)
    assert "Cancelled; nothing changed." in cancelled["text"]
    assert cancelled["replace_original"] in (True, "true")
    assert slack.term("Zorblax") is not None

    # Someone else clicking the confirm button (a forwarded message) is refused.
    forged = slack.click(button(confirm, "Delete Zorblax"), user=ALICE)
    assert "Only the person who added this term or an admin can delete it." in forged["text"]
    assert slack.term("Zorblax") is not None

    deleted = slack.click(button(confirm, "Delete Zorblax"), user=BOB)
    assert "Deleted “Zorblax”." in deleted["text"]
    assert deleted["replace_original"] in (True, "true")
    assert slack.term("Zorblax") is None
    assert slack.edits(term_id) == ["created", "deleted"]
    assert "No term “*Zorblax*”" in blocks_text(slack.command("Zorblax"))

    again = slack.click(button(confirm, "Delete Zorblax"), user=BOB)
    assert "already deleted" in again["text"]


def test_an_admin_may_delete_a_starter_term(slack: Slack) -> None:
    confirm = slack.command("delete CAC", user=ADA)
    deleted = slack.click(button(confirm, "Delete Customer acquisition cost"), user=ADA)
    assert "Deleted “Customer acquisition cost”." in deleted["text"]
    assert slack.term("CAC") is None


def test_edit_or_delete_of_an_unknown_term_says_so(reader: Slack) -> None:
    assert "There is no term “xyzzy” to delete." in reader.command("delete xyzzy")["text"]
    assert "There is no term “xyzzy” to edit." in reader.command("edit xyzzy")["text"]
    usage = reader.command("delete")
    assert "/jargon delete CAC" in usage["text"]
    assert "Usage" in usage["text"]


# -- search, random, help --------------------------------------------------------------------------


def test_search_lists_the_best_matches_first_at_most_ten(reader: Slack) -> None:
    reply = reader.command("search attribution")
    text = blocks_text(reply)
    assert "terms for “attribution”:" in text
    lines = reply["blocks"][1]["text"]["text"].split("\n")
    assert lines[0].startswith("*Attribution* — Working out which marketing activities")
    assert 2 <= len(lines) <= 10
    assert labels(reply, GLOSSARY_SHOW)[0] == "Attribution"
    assert len(buttons(reply)) <= 5

    many = reader.command("search lead")
    assert len(many["blocks"][1]["text"]["text"].split("\n")) == 10


def test_search_with_no_match_offers_to_add_a_term(reader: Slack) -> None:
    reply = reader.command("search qqqzzzxxx")
    assert "Nothing in the glossary matches “qqqzzzxxx”." in blocks_text(reply)
    assert labels(reply) == ["Add a term"]


def test_random_shows_a_card(reader: Slack) -> None:
    reply = reader.command("random")
    assert header(reply)
    assert labels(reply)[-2:] == ["Share in channel", "Edit"]


@pytest.mark.parametrize("text", ["", "help"])
def test_jargon_alone_or_help_explains_the_command(reader: Slack, text: str) -> None:
    reply = reader.command(text)
    body = blocks_text(reply)
    for part in ("/jargon TERM", "/jargon search WORDS", "/jargon add", "/jargon random"):
        assert part in body
    assert "Explain jargon" in body


# -- Explain jargon --------------------------------------------------------------------------------


def test_explain_lists_every_term_in_the_message_to_the_caller_only(reader: Slack) -> None:
    reply = reader.explain(
        "Our CAC doubled, the sqlite cache says sql is fine, SQL counts are down, "
        "the backend is slow and the penetration test is booked."
    )

    assert reply["response_type"] == "ephemeral"
    assert reply.get("replace_original") in (False, "false")
    text = blocks_text(reply)
    assert "Jargon in this message (5):" in text
    lines = reply["blocks"][1]["text"]["text"].split("\n")
    assert [line.split(" — ")[0] for line in lines] == [
        "*Customer acquisition cost* (CAC)",
        "*Cache*",
        "*SQL*",
        "*Back end*",  # written closed up
        "*Pen test* (penetration test)",
    ]
    assert lines[0].endswith("What it costs, on average, to win one new customer, counting ad "
                             "spend, tools and people.")  # fmt: skip
    assert reader.fake.calls_to("chat.postMessage") == []


def test_explain_on_a_message_without_jargon_says_so(reader: Slack) -> None:
    reply = reader.explain("Lunch at noon? :taco:")
    assert "No glossary terms in that message." in reply["text"]
    assert reply["response_type"] == "ephemeral"


# -- workspaces ------------------------------------------------------------------------------------


def test_another_workspace_never_sees_this_workspaces_terms(slack: Slack) -> None:
    term_id = slack.add_term("Zorblax", "A made-up word.", user=BOB)
    url = slack.deps.settings.database_url

    with serving(url, slack.fake, f"{slack.team}B") as other:
        assert "No term “*Zorblax*”" in blocks_text(other.command("Zorblax"))
        assert "Nothing in the glossary matches" in blocks_text(other.command("search zorblax"))
        assert "No glossary terms" in other.explain("Zorblax!")["text"]
        # Buttons carrying this workspace's term id do nothing in the other one.
        show = {"action_id": f"{GLOSSARY_SHOW}:0", "value": str(term_id)}
        assert "That term has been deleted." in other.click(show)["text"]
        share = {"action_id": f"{GLOSSARY_SHARE}:0", "value": str(term_id)}
        refused = other.click(share, user=ADA)
        assert refused["response_type"] == "ephemeral"
        assert "Zorblax" not in blocks_text(refused)
        # Nor does a forged edit of it by the other workspace's admin. Slack is asked
        # whether they are an admin after the first submission's ack; the next has the answer.
        forged = view_submission_body(
            GLOSSARY_EDIT_FORM,
            {"name": "Hijacked", "definition": "Gone.", "origin": "it"},
            private_metadata=json.dumps({"m": str(term_id), "c": "C0GENERAL"}),
            user_id=ADA,
            team_id=other.team,
        )
        assert "checking with Slack" in other.post(forged).text
        wait_until_idle(other.http)
        other.post(forged)
        assert "deleted" in message(slack.fake.wait_for("chat.postEphemeral", 2)[1])["text"]
        stored = slack.term("Zorblax")
        assert stored is not None and stored.definition == "A made-up word."
        # The other workspace has its own starter glossary, and this one still its term.
        assert header(other.command("CAC")) == "Customer acquisition cost"
    assert header(slack.command("Zorblax")) == "Zorblax"


# -- reset -----------------------------------------------------------------------------------------


def test_reset_is_for_admins_and_restores_the_starter_glossary(slack: Slack) -> None:
    slack.add_term("Zorblax", "A made-up word.", user=BOB)

    refused = slack.command("reset", user=ALICE)
    assert "Only workspace admins can reset the glossary." in refused["text"]
    forged = slack.click({"action_id": f"{GLOSSARY_RESET_CONFIRM}:0", "value": ""}, user=ALICE)
    assert "Only workspace admins can reset the glossary." in forged["text"]
    assert slack.term("Zorblax") is not None

    confirm = slack.command("reset", user=ADA)
    starter = len(glossary.starter_drafts())
    assert f"Replace all {starter + 1} terms with the starter glossary?" in blocks_text(confirm)
    done = slack.click(button(confirm, "Reset the glossary"), user=ADA)

    assert f"The glossary now holds the {starter} starter terms." in done["text"]
    assert slack.term("Zorblax") is None
    assert header(slack.command("CAC")) == "Customer acquisition cost"
    with slack.deps.session_factory() as session:
        assert glossary.count_terms(session=session, workspace_id=slack.team) == starter


# -- two bot instances on one database -------------------------------------------------------------


def test_a_term_added_through_one_instance_is_found_through_another(slack: Slack) -> None:
    second = build_deps(slack.deps.settings, upgrade_schema=False)
    try:
        with TestClient(create_web_app(second)) as other_http:
            other = Slack(second, other_http, slack.fake, slack.team)
            assert "No term “*Zorblax*”" in blocks_text(other.command("Zorblax"))  # warm cache

            slack.add_term("Zorblax", "A made-up word.", user=BOB)

            assert header(other.command("Zorblax")) == "Zorblax"
            assert "Zorblax" in blocks_text(other.explain("Zorblax again"))
    finally:
        second.engine.dispose()
