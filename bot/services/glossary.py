"""The glossary: terms with a Marketing view and an IT view, their aliases and history."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any, cast

import yaml
from sqlalchemy import Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from bot.errors import Invalid, NotAllowed, NotFound
from bot.models import GlossaryChange, GlossaryEdit, GlossaryKey, GlossaryTerm, Workspace
from bot.services import change_feed, glossary_tally
from bot.services.glossary_index import compact_key
from bot.textinput import CONTROL_MESSAGE, JOINER_MESSAGE, has_control_characters, has_joiners

ORIGINS = ("marketing", "it", "general")
MAX_ALIASES = 10
MAX_RELATED = 8
# Field limits (characters); Slack shows a field of up to 2,000.
LIMITS = {
    "name": 80,
    "alias": 80,
    "definition": 600,
    "marketing_view": 1000,
    "it_view": 1000,
    "example": 500,
}


# What a person is told when the term they act on is gone, by what they were doing.
GONE = "That term has been deleted."
GONE_WHILE_EDITING = "That term has been deleted meanwhile."
GONE_BEFORE_DELETE = "That term was already deleted."
# Glossary revisions whose changed terms are kept (see bump_revision).
KEPT_REVISIONS = 1000


class TermNotFound(NotFound):
    def __init__(self, term_id: int, message: str = GONE) -> None:
        super().__init__(message)
        self.term_id = term_id


class TermChangeNotAllowed(NotAllowed):
    """Only the author or an admin may change or delete a term."""

    def __init__(self, verb: str) -> None:
        super().__init__(f"Only the person who added this term or an admin can {verb} it.")


class InvalidTerm(Invalid):
    """A draft with problems, by field name; nothing was saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(field_errors=errors)


@dataclass(frozen=True)
class TermDraft:
    """A term as typed in a form, a file or the console, before validation."""

    name: str
    definition: str
    marketing_view: str = ""
    it_view: str = ""
    example: str = ""
    origin: str = "general"
    aliases: tuple[str, ...] = ()
    related: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> TermDraft:
        """From a dict whose aliases/related are lists or comma/semicolon-separated text.

        An alias that only restates the name ("road map" for "Roadmap") is dropped:
        lookups already ignore case, spaces and punctuation.
        """
        name = _text(data.get("name"))
        return cls(
            name=name,
            definition=_text(data.get("definition")),
            marketing_view=_text(data.get("marketing_view")),
            it_view=_text(data.get("it_view")),
            example=_text(data.get("example")),
            origin=_text(data.get("origin")).lower() or "general",
            aliases=tuple(
                a for a in split_list(data.get("aliases")) if compact_key(a) != compact_key(name)
            ),
            related=split_list(data.get("related")),
        )


@dataclass(frozen=True)
class TermCard:
    """Everything the glossary card shows."""

    id: int
    name: str
    aliases: tuple[str, ...]
    definition: str
    marketing_view: str
    it_view: str
    example: str
    origin: str
    related: tuple[str, ...]
    author_ref: str | None
    updated_by: str | None
    created_at: datetime
    updated_at: datetime
    view_count: int
    extra: dict[str, Any] = field(default_factory=dict)

    def draft(self) -> TermDraft:
        return TermDraft(
            name=self.name,
            definition=self.definition,
            marketing_view=self.marketing_view,
            it_view=self.it_view,
            example=self.example,
            origin=self.origin,
            aliases=self.aliases,
            related=self.related,
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("\r", "").strip()


# Forms and CSV files list aliases and related terms separated by these, so a name
# holding one could not be listed (nor exported and imported back) as itself.
LIST_SEPARATORS = (",", ";")
SEPARATOR_MESSAGE = (
    "Names cannot hold a comma or semicolon: they separate aliases and related terms."
)


def _has_list_separator(text: str) -> bool:
    return any(separator in text for separator in LIST_SEPARATORS)


def split_list(value: Any) -> tuple[str, ...]:
    """["a", "b"], "a, b" or "a; b" as a tuple of distinct, trimmed items."""
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else str(value).replace(";", ",").split(",")
    seen: dict[str, str] = {}
    for item in items:
        text = _text(item)
        if text and compact_key(text) not in seen:
            seen[compact_key(text)] = text
    return tuple(seen.values())


def validate(draft: TermDraft) -> dict[str, str]:
    """Problems by field name; empty when the draft can be saved (clashes aside)."""
    errors: dict[str, str] = {}
    if not draft.name:
        errors["name"] = "Give the term a name."
    elif not compact_key(draft.name):
        errors["name"] = "A name needs at least one letter or digit."
    elif "\n" in draft.name:
        errors["name"] = "A name is one line."
    elif _has_list_separator(draft.name):
        errors["name"] = SEPARATOR_MESSAGE
    elif len(compact_key(draft.name)) > LIMITS["name"]:
        # Some characters expand when normalised ("㎒" is "MHz"); the key must fit too.
        errors["name"] = f"Keep it under {LIMITS['name']} characters once spelled out."
    if not draft.definition:
        errors["definition"] = "Write a plain definition, one or two sentences."
    elif not any(character.isalnum() for character in draft.definition):
        # "-" (a console's "empty this field") or stray punctuation explains nothing.
        errors["definition"] = "A definition needs words: write one or two sentences."
    for name, limit in LIMITS.items():
        value = getattr(draft, name, None)
        if isinstance(value, str) and len(value) > limit:
            errors[name] = f"Keep it under {limit} characters (this is {len(value)})."
    if draft.origin not in ORIGINS:
        errors["origin"] = "Origin is marketing, it or general."
    if len(draft.aliases) > MAX_ALIASES:
        errors["aliases"] = f"At most {MAX_ALIASES} aliases."
    else:
        for alias in draft.aliases:
            if len(alias) > LIMITS["alias"]:
                errors["aliases"] = f"“{alias[:30]}…” is over {LIMITS['alias']} characters."
            elif not compact_key(alias):
                errors["aliases"] = f"“{alias}” has no letter or digit."
            elif len(compact_key(alias)) > LIMITS["alias"]:
                errors["aliases"] = f"“{alias[:30]}” is over {LIMITS['alias']} characters."
            elif compact_key(alias) == compact_key(draft.name):
                errors["aliases"] = f"“{alias}” is the term's own name."
    if len(draft.related) > MAX_RELATED:
        errors["related"] = f"At most {MAX_RELATED} related terms."
    for name, items in (("aliases", draft.aliases), ("related", draft.related)):
        if any(_has_list_separator(item) for item in items):
            errors.setdefault(name, SEPARATOR_MESSAGE)
    for item in draft.related:
        if len(item) > LIMITS["name"]:
            errors.setdefault("related", f"“{item[:30]}…” is over {LIMITS['name']} characters.")
    # Forms are checked on the way in; files imported from the command line come here.
    texts = {name: (getattr(draft, name),) for name in LIMITS if name != "alias"}
    lists = {"aliases": draft.aliases, "related": draft.related}
    for name, values in (texts | lists).items():
        if any(has_control_characters(value) for value in values):
            errors.setdefault(name, CONTROL_MESSAGE)
    names = {"name": (draft.name,), "aliases": draft.aliases, "related": draft.related}
    for name, values in names.items():
        if any(has_joiners(value) for value in values):
            errors.setdefault(name, JOINER_MESSAGE)
    return errors


def _clashes(
    session: Session, workspace_id: str, draft: TermDraft, own_id: int | None
) -> dict[str, str]:
    """Names or aliases already used by another term of the workspace."""
    wanted = {compact_key(draft.name): "name"} | {compact_key(a): "aliases" for a in draft.aliases}
    rows = session.execute(
        select(GlossaryKey.key, GlossaryKey.text, GlossaryTerm.name)
        .join(GlossaryTerm, GlossaryTerm.id == GlossaryKey.term_id)
        .where(
            GlossaryKey.workspace_id == workspace_id,
            GlossaryKey.key.in_(list(wanted)),
            GlossaryKey.term_id != (own_id or -1),
        )
    ).all()
    errors: dict[str, str] = {}
    for key, text, owner in rows:
        errors.setdefault(wanted[key], f"“{text}” is already used by the term “{owner}”.")
    return errors


def check_name(
    *, session: Session, workspace_id: str, name: str, own_id: int | None = None
) -> str | None:
    """What is wrong with a term's name (badly formed, or another term's), or None: asked
    before the rest of a form, so nobody types a definition for a name that cannot be."""
    draft = TermDraft(name=name, definition="")
    problem = validate(draft).get("name")
    if problem is None and name.strip():
        problem = _clashes(session, workspace_id, draft, own_id).get("name")
    return problem


def _check(session: Session, workspace_id: str, draft: TermDraft, own_id: int | None) -> None:
    errors = validate(draft)
    if not errors:
        errors = _clashes(session, workspace_id, draft, own_id)
    if errors:
        raise InvalidTerm(errors)


def bump_revision(session: Session, workspace_id: str, term_ids: Sequence[int] | None) -> None:
    """Move the workspace's glossary revision on, recording which terms changed (None:
    the whole glossary), so every instance's index catches up on just those terms, and
    every process hears of it when this transaction commits (its kept cards with it)."""
    revision = session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(glossary_revision=Workspace.glossary_revision + 1)
        .returning(Workspace.glossary_revision)
    ).scalar_one_or_none()
    if revision is None:
        return
    change_feed.announce(session, change_feed.GLOSSARY, workspace_id)
    session.execute(
        insert(GlossaryChange),
        [
            {"workspace_id": workspace_id, "revision": revision, "term_id": term_id}
            for term_id in (term_ids if term_ids is not None else [None])
        ],
    )
    # An index further behind than this rebuilds itself whole.
    session.execute(
        delete(GlossaryChange).where(
            GlossaryChange.workspace_id == workspace_id,
            GlossaryChange.revision <= revision - KEPT_REVISIONS,
        )
    )


def _write_keys(session: Session, workspace_id: str, term_id: int, draft: TermDraft) -> None:
    session.execute(delete(GlossaryKey).where(GlossaryKey.term_id == term_id))
    session.add(
        GlossaryKey(
            workspace_id=workspace_id,
            term_id=term_id,
            key=compact_key(draft.name),
            text=draft.name,
            is_name=True,
        )
    )
    for alias in draft.aliases:
        session.add(
            GlossaryKey(
                workspace_id=workspace_id,
                term_id=term_id,
                key=compact_key(alias),
                text=alias,
                is_name=False,
            )
        )


def _snapshot(draft: TermDraft) -> dict[str, Any]:
    data = asdict(draft)
    data["aliases"] = list(draft.aliases)
    data["related"] = list(draft.related)
    return data


def add_term(
    *,
    session: Session,
    workspace_id: str,
    draft: TermDraft,
    author_ref: str | None,
    now: datetime,
    record_history: bool = True,
) -> TermCard:
    """Add a term.

    Raises:
        InvalidTerm: a field is empty or too long, or the name/an alias is taken.
    """
    _check(session, workspace_id, draft, None)
    term = GlossaryTerm(
        workspace_id=workspace_id,
        name=draft.name,
        definition=draft.definition,
        marketing_view=draft.marketing_view,
        it_view=draft.it_view,
        example=draft.example,
        origin=draft.origin,
        related=list(draft.related),
        author_ref=author_ref,
        updated_by=author_ref,
        created_at=now,
        updated_at=now,
    )
    session.add(term)
    session.flush()
    _write_keys(session, workspace_id, term.id, draft)
    if record_history:
        session.add(
            GlossaryEdit(
                workspace_id=workspace_id,
                term_id=term.id,
                term_name=draft.name,
                action="created",
                editor_ref=author_ref,
                before=None,
                after=_snapshot(draft),
                at=now,
            )
        )
    bump_revision(session, workspace_id, [term.id])
    session.flush()
    return _card(term, draft.aliases)


def _get_row(session: Session, workspace_id: str, term_id: int, gone: str = GONE) -> GlossaryTerm:
    term = session.execute(
        select(GlossaryTerm).where(
            GlossaryTerm.workspace_id == workspace_id, GlossaryTerm.id == term_id
        )
    ).scalar_one_or_none()
    if term is None:
        raise TermNotFound(term_id, gone)
    return term


def _check_may_change(term: GlossaryTerm, user_ref: str, is_admin: bool, verb: str) -> None:
    if not is_admin and term.author_ref != user_ref:
        raise TermChangeNotAllowed(verb)


def edit_term(
    *,
    session: Session,
    workspace_id: str,
    term_id: int,
    draft: TermDraft,
    editor_ref: str,
    is_admin: bool,
    now: datetime,
) -> TermCard:
    """Change a term (its author or an admin); the previous version goes to the history.

    Raises:
        TermNotFound, TermChangeNotAllowed, InvalidTerm.
    """
    term = _get_row(session, workspace_id, term_id, GONE_WHILE_EDITING)
    _check_may_change(term, editor_ref, is_admin, "change")
    _check(session, workspace_id, draft, term.id)
    before = _snapshot(
        get_card(session=session, workspace_id=workspace_id, term_id=term_id).draft()
    )
    _apply(term, draft, editor_ref, now)
    _write_keys(session, workspace_id, term.id, draft)
    session.add(
        GlossaryEdit(
            workspace_id=workspace_id,
            term_id=term.id,
            term_name=draft.name,
            action="updated",
            editor_ref=editor_ref,
            before=before,
            after=_snapshot(draft),
            at=now,
        )
    )
    bump_revision(session, workspace_id, [term.id])
    session.flush()
    return _card(term, draft.aliases)


def _apply(term: GlossaryTerm, draft: TermDraft, editor_ref: str | None, now: datetime) -> None:
    term.name = draft.name
    term.definition = draft.definition
    term.marketing_view = draft.marketing_view
    term.it_view = draft.it_view
    term.example = draft.example
    term.origin = draft.origin
    term.related = list(draft.related)
    term.updated_by = editor_ref
    term.updated_at = now


def delete_term(
    *,
    session: Session,
    workspace_id: str,
    term_id: int,
    user_ref: str,
    is_admin: bool,
    now: datetime,
) -> str:
    """Delete a term (its author or an admin); the history keeps its last version.

    Returns:
        The deleted term's name.
    """
    term = _get_row(session, workspace_id, term_id, GONE_BEFORE_DELETE)
    _check_may_change(term, user_ref, is_admin, "delete")
    card = get_card(session=session, workspace_id=workspace_id, term_id=term_id)
    session.add(
        GlossaryEdit(
            workspace_id=workspace_id,
            term_id=term.id,
            term_name=term.name,
            action="deleted",
            editor_ref=user_ref,
            before=_snapshot(card.draft()),
            after=None,
            at=now,
        )
    )
    session.execute(delete(GlossaryKey).where(GlossaryKey.term_id == term.id))
    session.delete(term)
    bump_revision(session, workspace_id, [term.id])
    session.flush()
    return card.name


def get_card(*, session: Session, workspace_id: str, term_id: int) -> TermCard:
    term = _get_row(session, workspace_id, term_id)
    return _card(term, _aliases(session, term.id))


def _aliases(session: Session, term_id: int) -> tuple[str, ...]:
    return tuple(
        session.execute(
            select(GlossaryKey.text)
            .where(GlossaryKey.term_id == term_id, GlossaryKey.is_name.is_(False))
            .order_by(GlossaryKey.id)
        ).scalars()
    )


def find_id_by_name(*, session: Session, workspace_id: str, name: str) -> int | None:
    """The term whose name or alias is `name` (ignoring case and punctuation)."""
    return session.execute(
        select(GlossaryKey.term_id).where(
            GlossaryKey.workspace_id == workspace_id, GlossaryKey.key == compact_key(name)
        )
    ).scalar_one_or_none()


def find_ids_by_names(*, session: Session, workspace_id: str, names: list[str]) -> dict[str, int]:
    """The term id for each of `names` that is a name or alias in the workspace."""
    keys = {compact_key(name): name for name in names}
    if not keys:
        return {}
    rows = session.execute(
        select(GlossaryKey.key, GlossaryKey.term_id).where(
            GlossaryKey.workspace_id == workspace_id, GlossaryKey.key.in_(list(keys))
        )
    )
    return {keys[key]: term_id for key, term_id in rows}


_terms = cast(Table, GlossaryTerm.__table__)
# Built once: /jargon's busiest statement, in Core (nothing here needs an ORM object).
_COUNT_VIEW = (
    update(_terms)
    .where(_terms.c.workspace_id == bindparam("in_workspace"), _terms.c.id == bindparam("term"))
    .values(view_count=_terms.c.view_count + 1)
    .returning(*_terms.c)
)


_READ_CARD = select(_terms).where(
    _terms.c.workspace_id == bindparam("in_workspace"), _terms.c.id == bindparam("term")
)
# A card kept for lookups is read again after this long, for the views other processes
# counted (its text cannot go stale: an edit moves the glossary revision on, and with it
# the index that keeps the cards).
KEPT_CARD_SECONDS = 60.0


@dataclass(frozen=True)
class KeptCard:
    card: TermCard
    read_at: float  # time.monotonic()
    # The card's view count less this process's views counted when it was read: add the
    # views counted here since, and the card shows them too.
    views_before_here: int


def view_card(
    *,
    session: Session,
    workspace_id: str,
    term_id: int,
    aliases: tuple[str, ...] | None = None,
    kept: dict[int, KeptCard] | None = None,
) -> TermCard:
    """Count a view of the term and return its card.

    Where a server counts in batches (glossary_tally), the view is counted in memory and
    the card comes from `kept` (cards read at the glossary index's revision) while it is
    fresh: no query at all. Otherwise one statement counts and reads (an atomic
    increment, so concurrent views all count). `aliases` from the glossary index save
    the query for them.
    """
    tally = glossary_tally.tally_of(session)
    if tally is None or not tally.batching:
        term = session.execute(
            _COUNT_VIEW, {"in_workspace": workspace_id, "term": term_id}
        ).one_or_none()
        if term is None:
            raise TermNotFound(term_id)
        return _card(term, aliases if aliases is not None else _aliases(session, term.id))
    counted_here = tally.counted_here(workspace_id, term_id)
    found = kept.get(term_id) if kept is not None else None
    if found is None or time.monotonic() - found.read_at > KEPT_CARD_SECONDS:
        pending = tally.pending_views(workspace_id, term_id)
        term = session.execute(
            _READ_CARD, {"in_workspace": workspace_id, "term": term_id}
        ).one_or_none()
        if term is None:
            raise TermNotFound(term_id)
        card = _card(term, aliases if aliases is not None else _aliases(session, term.id))
        found = KeptCard(card, time.monotonic(), card.view_count + pending - counted_here)
        # What this transaction changed itself is not kept for others (it may roll back).
        if kept is not None and not change_feed.announcing(
            session, change_feed.GLOSSARY, workspace_id
        ):
            kept[term_id] = found
    # Counted when the transaction commits: the card shows this view already.
    tally.count_view(session, workspace_id, term_id)
    return replace(found.card, view_count=found.views_before_here + counted_here + 1)


def random_term_id(
    *, session: Session, workspace_id: str, rng: random.Random | None = None
) -> int | None:
    ids = (
        session.execute(select(GlossaryTerm.id).where(GlossaryTerm.workspace_id == workspace_id))
        .scalars()
        .all()
    )
    return (rng or random).choice(ids) if ids else None


def history(*, session: Session, workspace_id: str, term_id: int) -> list[GlossaryEdit]:
    return list(
        session.execute(
            select(GlossaryEdit)
            .where(GlossaryEdit.workspace_id == workspace_id, GlossaryEdit.term_id == term_id)
            .order_by(GlossaryEdit.at, GlossaryEdit.id)
        ).scalars()
    )


def count_terms(*, session: Session, workspace_id: str) -> int:
    return session.execute(
        select(func.count())
        .select_from(GlossaryTerm)
        .where(GlossaryTerm.workspace_id == workspace_id)
    ).scalar_one()


def upsert_term(
    *, session: Session, workspace_id: str, draft: TermDraft, editor_ref: str | None, now: datetime
) -> str:
    """Add the term, or update the one with the same name (imports).

    Returns:
        "added", "updated", or "unchanged" when the stored term already says the same.

    Raises:
        InvalidTerm: as add_term / edit_term.
    """
    existing = session.execute(
        select(GlossaryKey.term_id).where(
            GlossaryKey.workspace_id == workspace_id,
            GlossaryKey.key == compact_key(draft.name),
            GlossaryKey.is_name.is_(True),
        )
    ).scalar_one_or_none()
    if existing is None:
        add_term(
            session=session, workspace_id=workspace_id, draft=draft, author_ref=editor_ref, now=now
        )
        return "added"
    current = get_card(session=session, workspace_id=workspace_id, term_id=existing).draft()
    if current == draft:
        return "unchanged"
    edit_term(
        session=session,
        workspace_id=workspace_id,
        term_id=existing,
        draft=draft,
        editor_ref=editor_ref or "import",
        is_admin=True,
        now=now,
    )
    return "updated"


def all_cards(*, session: Session, workspace_id: str) -> list[TermCard]:
    """Every term of the workspace, by name (export)."""
    aliases: dict[int, list[str]] = {}
    for term_id, text in session.execute(
        select(GlossaryKey.term_id, GlossaryKey.text)
        .where(GlossaryKey.workspace_id == workspace_id, GlossaryKey.is_name.is_(False))
        .order_by(GlossaryKey.id)
    ):
        aliases.setdefault(term_id, []).append(text)
    terms = session.execute(
        select(GlossaryTerm)
        .where(GlossaryTerm.workspace_id == workspace_id)
        .order_by(GlossaryTerm.name)
    ).scalars()
    return [_card(term, tuple(aliases.get(term.id, ()))) for term in terms]


def delete_all(*, session: Session, workspace_id: str) -> int:
    """Remove every term of the workspace (an admin's reset); history is kept."""
    session.execute(delete(GlossaryKey).where(GlossaryKey.workspace_id == workspace_id))
    removed = session.execute(
        delete(GlossaryTerm).where(GlossaryTerm.workspace_id == workspace_id)
    ).rowcount  # type: ignore[attr-defined]
    bump_revision(session, workspace_id, None)
    return int(removed)


@lru_cache(maxsize=1)
def starter_drafts() -> tuple[TermDraft, ...]:
    """The starter glossary shipped with bridgebot (bot/data/starter_glossary.yaml)."""
    text = resources.files("bot.data").joinpath("starter_glossary.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(TermDraft.from_mapping(item) for item in yaml.load(text, Loader=loader)["terms"])


@lru_cache(maxsize=1)
def _starter_keys() -> frozenset[str]:
    return frozenset(compact_key(draft.name) for draft in starter_drafts())


def is_starter_term(name: str) -> bool:
    return compact_key(name) in _starter_keys()


def seed_starter(*, session: Session, workspace_id: str, now: datetime) -> int:
    """Load the starter glossary into a workspace, skipping names or aliases it already has.

    The shipped file is checked by the test suite, so rows are inserted in bulk
    rather than one validated add at a time.
    """
    taken = set(
        session.execute(
            select(GlossaryKey.key).where(GlossaryKey.workspace_id == workspace_id)
        ).scalars()
    )
    fresh: list[TermDraft] = []
    for draft in starter_drafts():
        keys = {compact_key(draft.name), *(compact_key(a) for a in draft.aliases)}
        if not keys & taken:
            taken |= keys
            fresh.append(draft)
    if not fresh:
        return 0
    ids = session.scalars(
        insert(GlossaryTerm).returning(GlossaryTerm.id, sort_by_parameter_order=True),
        [
            {
                "workspace_id": workspace_id,
                "name": d.name,
                "definition": d.definition,
                "marketing_view": d.marketing_view,
                "it_view": d.it_view,
                "example": d.example,
                "origin": d.origin,
                "related": list(d.related),
                "author_ref": None,
                "view_count": 0,
                "created_at": now,
                "updated_at": now,
            }
            for d in fresh
        ],
    ).all()
    session.execute(
        insert(GlossaryKey),
        [
            {
                "workspace_id": workspace_id,
                "term_id": term_id,
                "key": compact_key(text),
                "text": text,
                "is_name": text == draft.name,
            }
            for term_id, draft in zip(ids, fresh, strict=True)
            for text in (draft.name, *draft.aliases)
        ],
    )
    bump_revision(session, workspace_id, ids)
    return len(fresh)


def _card(term: GlossaryTerm | Row[Any], aliases: tuple[str, ...]) -> TermCard:
    return TermCard(
        id=term.id,
        name=term.name,
        aliases=tuple(aliases),
        definition=term.definition,
        marketing_view=term.marketing_view,
        it_view=term.it_view,
        example=term.example,
        origin=term.origin,
        related=tuple(term.related or ()),
        author_ref=term.author_ref,
        updated_by=term.updated_by,
        created_at=term.created_at,
        updated_at=term.updated_at,
        view_count=term.view_count,
    )
