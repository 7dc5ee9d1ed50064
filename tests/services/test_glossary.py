"""The glossary service on SQLite and PostgreSQL: changes with history, validation, permissions,
the starter glossary, view counts, workspaces kept apart, and the index cache across instances.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.commands.glossary import GLOSSARY_ADD_FORM
from bot.deps import Deps, build_deps
from bot.models import GlossaryEdit, GlossaryKey, GlossaryTerm
from bot.replies import Reply
from bot.router import Caller, RequestScope, run_command, run_form
from bot.services import glossary, glossary_index, glossary_io, workspaces
from bot.services.glossary import (
    InvalidTerm,
    TermCard,
    TermChangeNotAllowed,
    TermDraft,
    TermNotFound,
)
from bot.services.glossary_index import GlossaryIndex, GlossaryIndexCache, compact_key
from tests.conftest import empty_tables

WS = "T0GLOSS"
OTHER_WS = "T0OTHER"
AUTHOR = "U0AUTHOR"
STRANGER = "U0STRANGER"
ADMIN = "U0ADMIN"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=2)


@pytest.fixture
def deps(module_deps: Deps) -> Deps:
    """The module's database, emptied of everything but the secret key; two workspaces."""
    with module_deps.session_factory.begin() as session:
        empty_tables(session)
        for workspace_id in (WS, OTHER_WS):
            workspaces.ensure_workspace(
                session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
            )
    return module_deps


def draft(**changes: object) -> TermDraft:
    base = TermDraft(
        name="Customer acquisition cost",
        definition="What it costs to win one new customer.",
        marketing_view="Spend divided by new customers.",
        it_view="A number computed from ad spend and CRM data.",
        example="Our CAC is 120 euros.",
        origin="marketing",
        aliases=("CAC",),
        related=("Lifetime value",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def add(deps: Deps, term: TermDraft | None = None, *, workspace_id: str = WS) -> TermCard:
    with deps.session_factory.begin() as session:
        return glossary.add_term(
            session=session,
            workspace_id=workspace_id,
            draft=term or draft(),
            author_ref=AUTHOR,
            now=NOW,
        )


def edit(deps: Deps, term_id: int, term: TermDraft, *, editor: str = AUTHOR) -> TermCard:
    with deps.session_factory.begin() as session:
        return glossary.edit_term(
            session=session,
            workspace_id=WS,
            term_id=term_id,
            draft=term,
            editor_ref=editor,
            is_admin=editor == ADMIN,
            now=LATER,
        )


def remove(deps: Deps, term_id: int, *, user: str = AUTHOR, workspace_id: str = WS) -> str:
    with deps.session_factory.begin() as session:
        return glossary.delete_term(
            session=session,
            workspace_id=workspace_id,
            term_id=term_id,
            user_ref=user,
            is_admin=user == ADMIN,
            now=LATER,
        )


def card(deps: Deps, term_id: int, workspace_id: str = WS) -> TermCard:
    with deps.session_factory() as session:
        return glossary.get_card(session=session, workspace_id=workspace_id, term_id=term_id)


def find(deps: Deps, name: str, workspace_id: str = WS) -> int | None:
    with deps.session_factory() as session:
        return glossary.find_id_by_name(session=session, workspace_id=workspace_id, name=name)


def history(deps: Deps, term_id: int) -> list[GlossaryEdit]:
    with deps.session_factory() as session:
        return glossary.history(session=session, workspace_id=WS, term_id=term_id)


def term_count(deps: Deps, workspace_id: str = WS) -> int:
    with deps.session_factory() as session:
        return glossary.count_terms(session=session, workspace_id=workspace_id)


def edit_count(deps: Deps) -> int:
    with deps.session_factory() as session:
        return session.execute(select(func.count()).select_from(GlossaryEdit)).scalar_one()


# -- add, edit, delete, with history ---------------------------------------------------------------


def test_add_stores_the_term_and_a_created_history_row(deps: Deps) -> None:
    added = add(deps)

    stored = card(deps, added.id)
    assert stored.name == "Customer acquisition cost"
    assert stored.aliases == ("CAC",)
    assert stored.definition == "What it costs to win one new customer."
    assert stored.marketing_view == "Spend divided by new customers."
    assert stored.it_view == "A number computed from ad spend and CRM data."
    assert stored.example == "Our CAC is 120 euros."
    assert (stored.origin, stored.related) == ("marketing", ("Lifetime value",))
    assert (stored.author_ref, stored.view_count) == (AUTHOR, 0)
    assert stored.created_at == NOW
    assert find(deps, "cac") == added.id

    [created] = history(deps, added.id)
    assert (created.action, created.editor_ref, created.before) == ("created", AUTHOR, None)
    assert created.after is not None
    assert created.after["name"] == "Customer acquisition cost"
    assert created.after["aliases"] == ["CAC"]


def test_edit_keeps_the_previous_version_in_the_history(deps: Deps) -> None:
    added = add(deps)
    changed = draft(
        name="Cost of acquisition",
        aliases=("CoA",),
        definition="The cost of one new customer.",
    )

    edited = edit(deps, added.id, changed)

    assert edited.id == added.id
    stored = card(deps, added.id)
    assert (stored.name, stored.aliases) == ("Cost of acquisition", ("CoA",))
    assert (stored.updated_by, stored.updated_at) == (AUTHOR, LATER)
    assert stored.created_at == NOW
    # The old name and alias are free again; the new ones find the term.
    assert find(deps, "CAC") is None
    assert find(deps, "Customer acquisition cost") is None
    assert find(deps, "coa") == added.id

    created, updated = history(deps, added.id)
    assert created.action == "created"
    assert (updated.action, updated.editor_ref, updated.at) == ("updated", AUTHOR, LATER)
    assert updated.before is not None and updated.after is not None
    assert updated.before["name"] == "Customer acquisition cost"
    assert updated.before["aliases"] == ["CAC"]
    assert updated.before["definition"] == "What it costs to win one new customer."
    assert updated.after["name"] == "Cost of acquisition"
    assert updated.after["definition"] == "The cost of one new customer."


def test_an_edit_may_keep_the_terms_own_name_and_aliases(deps: Deps) -> None:
    added = add(deps)
    edit(deps, added.id, draft(definition="Shorter."))
    assert card(deps, added.id).definition == "Shorter."
    assert find(deps, "CAC") == added.id


def test_delete_removes_the_term_and_keeps_its_last_version(deps: Deps) -> None:
    added = add(deps)

    assert remove(deps, added.id) == "Customer acquisition cost"

    with pytest.raises(TermNotFound):
        card(deps, added.id)
    assert find(deps, "CAC") is None
    assert term_count(deps) == 0
    created, deleted = history(deps, added.id)
    assert created.action == "created"
    assert (deleted.action, deleted.editor_ref, deleted.after) == ("deleted", AUTHOR, None)
    assert deleted.term_name == "Customer acquisition cost"
    assert deleted.before is not None and deleted.before["aliases"] == ["CAC"]
    # The name can be used again.
    again = add(deps)
    assert find(deps, "CAC") == again.id


def test_deleting_a_deleted_term_says_it_is_not_found(deps: Deps) -> None:
    added = add(deps)
    remove(deps, added.id)
    with pytest.raises(TermNotFound):
        remove(deps, added.id)


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "?!"}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"definition": ""}, "definition"),
        ({"definition": "d" * 601}, "definition"),
        ({"marketing_view": "m" * 1001}, "marketing_view"),
        ({"it_view": "i" * 1001}, "it_view"),
        ({"example": "e" * 501}, "example"),
        ({"origin": "sales"}, "origin"),
        ({"aliases": ("a" * 81,)}, "aliases"),
        ({"aliases": tuple(f"Alias {i}" for i in range(11))}, "aliases"),
        ({"aliases": ("customer-acquisition COST",)}, "aliases"),
        ({"related": tuple(f"Term {i}" for i in range(9))}, "related"),
        ({"related": ("r" * 81,)}, "related"),
        # Commas and semicolons separate list items in forms and CSV files.
        ({"name": "Sales, general and admin"}, "name"),
        ({"aliases": ("Overheads; indirect costs",)}, "aliases"),
        ({"related": ("Sales, general and admin",)}, "related"),
        # From an imported file: forms are refused on the way in (test_router).
        ({"definition": "Bell\x07 and NUL\x00"}, "definition"),
        ({"name": "Zero\x00Day"}, "name"),
        ({"it_view": "\x1b[31mred\x1b[0m"}, "it_view"),
        ({"aliases": ("Over\u2028heads",)}, "aliases"),
        ({"related": ("Opex\x7f",)}, "related"),
    ],
)
def test_invalid_drafts_are_refused_by_field(changes: dict[str, object], field: str) -> None:
    problems = glossary.validate(draft(**changes))
    assert field in problems
    assert problems[field]  # a message to show next to the field


def test_an_invalid_add_stores_nothing(deps: Deps) -> None:
    with pytest.raises(InvalidTerm) as refused:
        add(deps, draft(name="", definition="", origin="sales"))
    assert set(refused.value.field_errors) == {"name", "definition", "origin"}
    assert term_count(deps) == 0
    assert edit_count(deps) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "\u3392" * 30}, "name"),  # "㎒" is "MHz" once normalised: 90 characters
        ({"aliases": ("\ufb03" * 30,)}, "aliases"),  # the "ﬃ" ligature is "ffi"
    ],
)
def test_a_name_that_expands_when_normalised_is_refused_not_a_crash(
    deps: Deps, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidTerm) as refused:
        add(deps, draft(**changes))
    assert field in refused.value.field_errors
    assert term_count(deps) == 0


def test_the_longest_allowed_values_are_accepted(deps: Deps) -> None:
    added = add(
        deps,
        draft(
            name="N" * 80,
            aliases=(),
            definition="d" * 600,
            marketing_view="m" * 1000,
            it_view="i" * 1000,
            example="e" * 500,
        ),
    )
    assert card(deps, added.id).definition == "d" * 600


def test_an_invalid_edit_changes_nothing(deps: Deps) -> None:
    added = add(deps)
    with pytest.raises(InvalidTerm) as refused:
        edit(deps, added.id, draft(definition=""))
    assert "definition" in refused.value.field_errors
    assert card(deps, added.id).definition == "What it costs to win one new customer."
    assert [row.action for row in history(deps, added.id)] == ["created"]


@pytest.mark.parametrize("definition", ["-", "—", "?!", "- -"])
def test_an_edit_whose_definition_is_only_punctuation_is_refused(
    deps: Deps, definition: str
) -> None:
    """A console's "-" (empty this field) typed for the definition is not saved as one."""
    added = add(deps)
    with pytest.raises(InvalidTerm) as refused:
        edit(deps, added.id, draft(definition=definition))
    assert "needs words" in refused.value.field_errors["definition"]
    assert card(deps, added.id).definition == "What it costs to win one new customer."


@pytest.mark.parametrize("field", ["definition", "example", "name"])
def test_a_glossary_file_with_a_list_for_a_text_field_is_refused_on_that_row(
    deps: Deps, field: str
) -> None:
    yaml_text = (
        "- name: Opex\n"
        "  definition: Money spent to keep the business running.\n"
        "- name: Capex\n"
        "  definition: Money spent on things that last.\n"
        f"  {field}: [1, 2]\n"
    )
    with deps.session_factory.begin() as session:
        report = glossary_io.import_rows(
            session=session,
            workspace_id=WS,
            rows=glossary_io.parse_yaml(yaml_text),
            editor_ref=AUTHOR,
            now=NOW,
        )
    assert report.added == 1
    (rejected,) = report.rejected
    assert rejected.line == 3 and f"{field}: write text, not a list" in rejected.reason
    assert find(deps, "Capex") is None


def test_an_alias_that_is_another_terms_name_is_refused_on_aliases(deps: Deps) -> None:
    add(deps, draft(name="Churn", aliases=(), related=()))
    with pytest.raises(InvalidTerm) as refused:
        add(deps, draft(aliases=("CAC", "churn")))
    assert list(refused.value.field_errors) == ["aliases"]
    assert "Churn" in refused.value.field_errors["aliases"]
    assert term_count(deps) == 1


def test_a_name_that_is_another_terms_alias_is_refused_on_name(deps: Deps) -> None:
    add(deps)  # Customer acquisition cost, alias CAC
    with pytest.raises(InvalidTerm) as refused:
        add(deps, draft(name="C.A.C.", aliases=(), definition="Something else."))
    assert list(refused.value.field_errors) == ["name"]
    assert "Customer acquisition cost" in refused.value.field_errors["name"]
    assert term_count(deps) == 1


def test_a_name_clash_ignores_case_spaces_and_punctuation(deps: Deps) -> None:
    add(deps, draft(name="Pen test", aliases=(), related=()))
    with pytest.raises(InvalidTerm) as refused:
        add(deps, draft(name="PEN-TEST", aliases=()))
    assert "name" in refused.value.field_errors


def test_an_edit_cannot_take_another_terms_alias(deps: Deps) -> None:
    add(deps)
    churn = add(deps, draft(name="Churn", aliases=(), related=()))
    with pytest.raises(InvalidTerm) as refused:
        edit(deps, churn.id, draft(name="Churn", aliases=("cac",)))
    assert "aliases" in refused.value.field_errors
    assert card(deps, churn.id).aliases == ()


def test_a_form_alias_that_restates_the_name_is_dropped_not_refused() -> None:
    typed = TermDraft.from_mapping(
        {"name": "Roadmap", "definition": "A plan.", "aliases": "road map, plan; ROADMAP"}
    )
    assert typed.aliases == ("plan",)
    assert TermDraft.from_mapping({"name": "X", "definition": "Y", "origin": "IT"}).origin == "it"
    assert TermDraft.from_mapping({"name": "X", "definition": "Y"}).origin == "general"


# -- permissions -----------------------------------------------------------------------------------


def test_only_the_author_or_an_admin_may_edit(deps: Deps) -> None:
    added = add(deps)
    with pytest.raises(TermChangeNotAllowed):
        edit(deps, added.id, draft(definition="Hijacked."), editor=STRANGER)
    assert card(deps, added.id).definition == "What it costs to win one new customer."
    assert len(history(deps, added.id)) == 1

    edit(deps, added.id, draft(definition="By the author."))
    edit(deps, added.id, draft(definition="By an admin."), editor=ADMIN)
    assert card(deps, added.id).definition == "By an admin."
    assert [row.editor_ref for row in history(deps, added.id)] == [AUTHOR, AUTHOR, ADMIN]


def test_only_the_author_or_an_admin_may_delete(deps: Deps) -> None:
    added = add(deps)
    with pytest.raises(TermChangeNotAllowed):
        remove(deps, added.id, user=STRANGER)
    assert find(deps, "CAC") == added.id

    remove(deps, added.id, user=ADMIN)
    assert find(deps, "CAC") is None


def test_starter_terms_can_be_changed_by_admins_only(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        glossary.seed_starter(session=session, workspace_id=WS, now=NOW)
    term_id = find(deps, "Attribution")
    assert term_id is not None
    starter = card(deps, term_id)
    assert starter.author_ref is None
    with pytest.raises(TermChangeNotAllowed):
        edit(deps, term_id, replace(starter.draft(), definition="Mine now."), editor=STRANGER)
    edit(deps, term_id, replace(starter.draft(), definition="Admin's wording."), editor=ADMIN)
    assert card(deps, term_id).definition == "Admin's wording."


# -- the starter glossary --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def starter_file() -> list[dict[str, object]]:
    text = resources.files("bot.data").joinpath("starter_glossary.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    terms: list[dict[str, object]] = yaml.load(text, Loader=loader)["terms"]
    return terms


def test_the_starter_file_is_big_enough_and_valid() -> None:
    terms = starter_file()
    origins = Counter(str(item["origin"]) for item in terms)
    assert len(terms) >= 150
    assert origins["marketing"] >= 60
    assert origins["it"] >= 60
    for item in terms:
        problems = glossary.validate(TermDraft.from_mapping(item))
        assert problems == {}, (item["name"], problems)


def test_seed_starter_loads_every_term_of_the_file_once(deps: Deps) -> None:
    terms = starter_file()
    with deps.session_factory.begin() as session:
        added = glossary.seed_starter(session=session, workspace_id=WS, now=NOW)

    assert added == len(terms)
    assert term_count(deps) == len(terms)
    with deps.session_factory() as session:
        origins = Counter(
            session.execute(
                select(GlossaryTerm.origin).where(GlossaryTerm.workspace_id == WS)
            ).scalars()
        )
    assert origins["marketing"] >= 60
    assert origins["it"] >= 60
    assert sum(origins.values()) >= 150
    # Every name and alias of the file finds its own term.
    with deps.session_factory() as session:
        names = dict(
            session.execute(
                select(GlossaryTerm.id, GlossaryTerm.name).where(GlossaryTerm.workspace_id == WS)
            ).all()
        )
        keys = dict(
            session.execute(
                select(GlossaryKey.key, GlossaryKey.term_id).where(GlossaryKey.workspace_id == WS)
            ).all()
        )
    for item in terms:
        name = str(item["name"])
        assert names.get(keys.get(compact_key(name), -1)) == name, name
        for alias in item.get("aliases") or []:  # type: ignore[attr-defined]
            assert names.get(keys.get(compact_key(alias), -1)) == name, (name, alias)

    # Seeding again adds nothing.
    with deps.session_factory.begin() as session:
        assert glossary.seed_starter(session=session, workspace_id=WS, now=LATER) == 0
    assert term_count(deps) == len(terms)
    assert term_count(deps, OTHER_WS) == 0


def test_every_related_name_in_the_starter_file_is_a_term(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        glossary.seed_starter(session=session, workspace_id=WS, now=NOW)
    with deps.session_factory() as session:
        cards = glossary.all_cards(session=session, workspace_id=WS)
        missing = []
        for each in cards:
            found = glossary.find_ids_by_names(
                session=session, workspace_id=WS, names=list(each.related)
            )
            missing += [(each.name, name) for name in each.related if name not in found]
    assert missing == []
    assert sum(len(each.related) for each in cards) > 100


def test_seed_starter_keeps_a_workspaces_own_terms(deps: Deps) -> None:
    own = add(deps, draft(definition="Our own wording."))
    with deps.session_factory.begin() as session:
        added = glossary.seed_starter(session=session, workspace_id=WS, now=NOW)
    assert added == len(starter_file()) - 1  # the starter's CAC is skipped
    assert find(deps, "CAC") == own.id
    assert card(deps, own.id).definition == "Our own wording."


# -- views and workspaces --------------------------------------------------------------------------


def test_view_card_counts_each_view_in_its_own_workspace(deps: Deps) -> None:
    added = add(deps)
    seen = []
    for _ in range(3):
        with deps.session_factory.begin() as session:
            viewed = glossary.view_card(session=session, workspace_id=WS, term_id=added.id)
            seen.append(viewed.view_count)
    with deps.session_factory.begin() as session, pytest.raises(TermNotFound):
        glossary.view_card(session=session, workspace_id=OTHER_WS, term_id=added.id)
    assert seen == [1, 2, 3]
    assert card(deps, added.id).view_count == 3
    assert viewed.aliases == card(deps, added.id).aliases


def test_workspaces_never_see_each_others_terms(deps: Deps) -> None:
    mine = add(deps)

    assert find(deps, "CAC", OTHER_WS) is None
    with pytest.raises(TermNotFound):
        card(deps, mine.id, OTHER_WS)
    with deps.session_factory.begin() as session, pytest.raises(TermNotFound):
        glossary.edit_term(
            session=session, workspace_id=OTHER_WS, term_id=mine.id, draft=draft(name="Taken"),
            editor_ref=ADMIN, is_admin=True, now=LATER,
        )  # fmt: skip
    with pytest.raises(TermNotFound):
        remove(deps, mine.id, user=ADMIN, workspace_id=OTHER_WS)
    # The same name is free in the other workspace.
    theirs = add(deps, workspace_id=OTHER_WS)
    assert theirs.id != mine.id
    assert find(deps, "CAC", OTHER_WS) == theirs.id
    assert find(deps, "CAC") == mine.id
    assert term_count(deps) == 1 and term_count(deps, OTHER_WS) == 1
    with deps.session_factory() as session:
        assert glossary.random_term_id(session=session, workspace_id=OTHER_WS) == theirs.id
        assert [c.name for c in glossary.all_cards(session=session, workspace_id=WS)] == [
            "Customer acquisition cost"
        ]


def test_reset_removes_every_term_of_one_workspace_only(deps: Deps) -> None:
    add(deps)
    add(deps, workspace_id=OTHER_WS)
    with deps.session_factory.begin() as session:
        assert glossary.delete_all(session=session, workspace_id=WS) == 1
    assert term_count(deps) == 0
    assert term_count(deps, OTHER_WS) == 1
    assert edit_count(deps) == 2  # the history is kept


# -- the index cache across bot instances ----------------------------------------------------------


@pytest.fixture
def second_instance(deps: Deps) -> Iterator[Deps]:
    """Another bot instance on the same database, with its own router and index cache."""
    other = build_deps(deps.settings, upgrade_schema=False)
    try:
        yield other
    finally:
        other.engine.dispose()


def test_an_index_cache_sees_changes_made_by_another_instance(
    deps: Deps, second_instance: Deps
) -> None:
    ours, theirs = GlossaryIndexCache(), GlossaryIndexCache()
    with second_instance.session_factory() as session:
        assert theirs.get(session, WS).lookup("CAC").term is None  # warm, and empty

    added = add(deps)  # through the first instance
    with second_instance.session_factory() as session:
        found = theirs.get(session, WS).lookup("CAC").term
    assert found is not None and found.id == added.id

    edit(deps, added.id, draft(aliases=("Acquisition cost",)))
    with second_instance.session_factory() as session:
        index = theirs.get(session, WS)
    assert index.find_exact("CAC") is None
    assert index.find_exact("acquisition cost") is not None

    remove(deps, added.id)
    with second_instance.session_factory() as session:
        assert theirs.get(session, WS).find_exact("Customer acquisition cost") is None
    with deps.session_factory() as session:
        assert ours.get(session, WS).find_exact("Customer acquisition cost") is None


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every whole build of an index, by workspace (updates term by term are not)."""
    made: list[str] = []
    whole = glossary_index.build_index

    def counted(session: Session, workspace_id: str) -> GlossaryIndex:
        made.append(workspace_id)
        return whole(session, workspace_id)

    monkeypatch.setattr(glossary_index, "build_index", counted)
    return made


def lookup_in(deps: Deps, cache: GlossaryIndexCache, query: str) -> int | None:
    with deps.session_factory() as session:
        found = cache.get(session, WS).lookup(query).term
    return found.id if found is not None else None


def test_an_edit_through_another_instance_is_applied_term_by_term_not_rebuilt(
    deps: Deps, second_instance: Deps, builds: list[str]
) -> None:
    """The other instance's next lookup sees each add, rename and delete at once, and
    its index is never built again from scratch for them."""
    theirs = GlossaryIndexCache()
    kept = add(deps, draft(name="Lead", aliases=(), related=()))
    assert lookup_in(second_instance, theirs, "lead") == kept.id
    assert builds == [WS]

    added = add(deps)
    assert lookup_in(second_instance, theirs, "CAC") == added.id
    edit(deps, added.id, draft(name="Cost per acquisition", aliases=("CPA",)))
    assert lookup_in(second_instance, theirs, "CAC") is None
    assert lookup_in(second_instance, theirs, "cost per acquisiton") == added.id  # a typo
    with second_instance.session_factory() as session:
        index = theirs.get(session, WS)
        assert [t.id for t in index.search("acquisition")] == [added.id]
        assert [h.found_as for h in index.explain("Our CPA fell, thanks to every Lead.")] == [
            "CPA",
            "Lead",
        ]
    remove(deps, added.id)
    assert lookup_in(second_instance, theirs, "CPA") is None
    assert lookup_in(second_instance, theirs, "Lead") == kept.id
    assert builds == [WS]  # only the first lookup built it


def test_a_reset_through_another_instance_is_in_the_next_lookup(
    deps: Deps, second_instance: Deps, builds: list[str]
) -> None:
    """The whole glossary replaced: the other instance's next lookup rebuilds its index
    rather than answer from the old one (which would show a deleted term)."""
    theirs = GlossaryIndexCache()
    first = add(deps)
    assert lookup_in(second_instance, theirs, "CAC") == first.id
    with deps.session_factory.begin() as session:
        glossary.delete_all(session=session, workspace_id=WS)
    second = add(deps, draft(name="Churn", aliases=(), related=()))

    assert lookup_in(second_instance, theirs, "CAC") is None
    assert lookup_in(second_instance, theirs, "Churn") == second.id
    assert builds == [WS, WS]  # built, then built again for the reset


def test_warming_builds_the_index_before_the_first_lookup(
    deps: Deps, second_instance: Deps, builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large glossaries are indexed at start-up (here "large" is two terms or more);
    a small one is left for its first lookup, which builds it in no time."""
    monkeypatch.setattr(glossary_index, "WARM_MIN_TERMS", 2)
    added = add(deps)
    add(deps, draft(name="Churn", aliases=(), related=()))
    add(deps, draft(name="Lead", aliases=(), related=()), workspace_id=OTHER_WS)
    cache = GlossaryIndexCache()
    cache.warm(second_instance.session_factory)
    assert builds == [WS]
    assert lookup_in(second_instance, cache, "CAC") == added.id
    assert builds == [WS]  # the lookup built nothing


def test_an_index_read_in_a_rolled_back_transaction_gives_way_to_the_one_before(
    deps: Deps, builds: list[str]
) -> None:
    cache = GlossaryIndexCache()
    kept = add(deps)
    assert lookup_in(deps, cache, "CAC") == kept.id
    with deps.session_factory() as session:
        glossary.add_term(
            session=session,
            workspace_id=WS,
            draft=draft(name="Churn", aliases=(), related=()),
            author_ref=AUTHOR,
            now=NOW,
        )
        assert cache.get(session, WS).find_exact("Churn") is not None  # its own, uncommitted
        session.rollback()
    assert lookup_in(deps, cache, "Churn") is None
    assert lookup_in(deps, cache, "CAC") == kept.id
    assert builds == [WS]  # back to the index before, not rebuilt


def caller(workspace_id: str, user: str = AUTHOR) -> Caller:
    return Caller(workspace_id=workspace_id, user_ref=user, platform="slack")


def scope(deps: Deps, caller: Caller) -> RequestScope:
    return RequestScope(
        session_factory=deps.session_factory,
        router=deps.router,
        caller=caller,
        now=NOW,
        default_timezone="UTC",
    )


def plain(reply: Reply) -> str:
    return reply.fallback


def test_a_term_added_on_one_instance_is_found_by_jargon_on_another(
    deps: Deps, second_instance: Deps
) -> None:
    before = run_command(scope(second_instance, caller(WS)), "jargon", "Zorblax")
    assert "No term" in plain(before)

    run_form(
        scope(deps, caller(WS)),
        GLOSSARY_ADD_FORM,
        {"name": "Zorblax", "definition": "A made-up word for tests.", "origin": "it"},
        "",
    )

    after = run_command(scope(second_instance, caller(WS)), "jargon", "zorblax")
    assert "Zorblax" in plain(after)
    assert "A made-up word for tests." in plain(after)
    elsewhere = run_command(scope(second_instance, caller(OTHER_WS)), "jargon", "zorblax")
    assert "No term" in plain(elsewhere)


def test_a_card_names_the_starter_glossary_only_for_its_own_terms(deps: Deps) -> None:
    with deps.session_factory.begin() as session:
        glossary.seed_starter(session=session, workspace_id=WS, now=NOW)
    add(deps, draft(name="Zorblax", definition="A made-up word.", aliases=(), related=()))
    with deps.session_factory.begin() as session:
        deps.router.privacy.forget(session=session, workspace_id=WS, user_ref=AUTHOR, now=NOW)

    def card(term: str) -> str:
        return run_command(scope(deps, caller(WS)), "jargon", term).fallback

    assert "From the starter glossary" in card("CAC")
    forgotten = card("Zorblax")
    assert "From the starter glossary" not in forgotten and "Added by" not in forgotten
