"""An in-memory index of one workspace's glossary: exact, alias, fuzzy, search and explain.

Built from a snapshot of the terms and kept per workspace by GlossaryIndexCache, which
rebuilds it when the workspace's glossary revision changes (also when another instance
made the change), so lookups never scan the database.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import GlossaryKey, GlossaryTerm, Workspace

# A fuzzy match this good (0-100) opens the card directly; weaker ones are suggestions.
CONFIDENT_SCORE = 86
SUGGESTION_SCORE = 60
# Acronyms this short match case-sensitively in Explain ("SQL" yes, "sql" in prose no).
ACRONYM_MAX_LENGTH = 5
SEARCH_LIMIT = 10

_WORD = re.compile(r"[^\W_]+")


def compact_key(value: str) -> str:
    """The form names and aliases are compared in: case-folded letters and digits only.

    "Pen test", "pen-test" and "PENTEST" are one key, so near-duplicates cannot be added.
    """
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def words(value: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", value))


def is_acronym(value: str) -> bool:
    letters = "".join(ch for ch in value if ch.isalnum())
    return (
        0 < len(letters) <= ACRONYM_MAX_LENGTH
        and any(ch.isupper() for ch in letters)
        and not any(ch.islower() for ch in letters)
    )


@dataclass(frozen=True)
class IndexedTerm:
    """What the index keeps of a term: enough to rank, explain and suggest."""

    id: int
    name: str
    aliases: tuple[str, ...]
    definition: str
    body: str  # views and example, for search


@dataclass(frozen=True)
class Match:
    term: IndexedTerm
    score: float
    matched: str  # the name or alias that matched


@dataclass(frozen=True)
class LookupResult:
    """An exact or confident match, or else close suggestions."""

    term: IndexedTerm | None
    suggestions: tuple[IndexedTerm, ...]
    fuzzy: bool = False


@dataclass(frozen=True)
class ExplainHit:
    term: IndexedTerm
    found_as: str


@dataclass
class _Phrase:
    tokens: tuple[str, ...]
    term_id: int
    text: str


class GlossaryIndex:
    """Immutable after construction; safe to share between threads."""

    def __init__(self, terms: Iterable[IndexedTerm]) -> None:
        self.terms: dict[int, IndexedTerm] = {term.id: term for term in terms}
        self._by_key: dict[str, tuple[int, str]] = {}
        self._inverted: dict[str, dict[int, float]] = defaultdict(dict)
        self._name_tokens: dict[str, set[int]] = defaultdict(set)
        # Explain: phrases by first token, longest first, in two case regimes.
        self._folded_phrases: dict[str, list[_Phrase]] = defaultdict(list)
        self._exact_phrases: dict[str, list[_Phrase]] = defaultdict(list)
        for term in self.terms.values():
            self._add(term)
        self._keys = list(self._by_key)
        for table in (self._folded_phrases, self._exact_phrases):
            for phrases in table.values():
                phrases.sort(key=lambda p: len(p.tokens), reverse=True)

    def __len__(self) -> int:
        return len(self.terms)

    def _add(self, term: IndexedTerm) -> None:
        for text in (term.name, *term.aliases):
            key = compact_key(text)
            if key:
                self._by_key[key] = (term.id, text)
            tokens = words(text)
            if not tokens:
                continue
            if is_acronym(text):
                self._exact_phrases[tokens[0]].append(_Phrase(tuple(tokens), term.id, text))
            else:
                folded = tuple(t.casefold() for t in tokens)
                self._folded_phrases[folded[0]].append(_Phrase(folded, term.id, text))
            for token in tokens:
                self._weight(token, term.id, 10.0)
                self._name_tokens[token.casefold()].add(term.id)
        for token in words(term.definition):
            self._weight(token, term.id, 3.0)
        for token in words(term.body):
            self._weight(token, term.id, 1.0)

    def _weight(self, token: str, term_id: int, weight: float) -> None:
        postings = self._inverted[token.casefold()]
        postings[term_id] = max(postings.get(term_id, 0.0), weight)

    # -- lookups ---------------------------------------------------------------

    def find_exact(self, query: str) -> IndexedTerm | None:
        """By name or alias, ignoring case, spaces and punctuation."""
        found = self._by_key.get(compact_key(query))
        return self.terms[found[0]] if found else None

    def close_matches(self, query: str, limit: int = 3, cutoff: float = SUGGESTION_SCORE) -> list[Match]:
        """Names and aliases that look like `query`, best first, one per term."""
        key = compact_key(query)
        if not key:
            return []
        candidates = process.extract(
            key, self._keys, scorer=fuzz.ratio, limit=limit * 4, score_cutoff=cutoff
        )
        seen: set[int] = set()
        matches: list[Match] = []
        for matched_key, score, _ in candidates:
            term_id, text = self._by_key[matched_key]
            if term_id in seen:
                continue
            seen.add(term_id)
            matches.append(Match(self.terms[term_id], float(score), text))
            if len(matches) == limit:
                break
        return matches

    def lookup(self, query: str) -> LookupResult:
        """Exact or alias match; else a confident fuzzy match; else up to 3 suggestions."""
        exact = self.find_exact(query)
        if exact is not None:
            return LookupResult(exact, ())
        matches = self.close_matches(query)
        if matches and matches[0].score >= CONFIDENT_SCORE:
            runner_up = matches[1].score if len(matches) > 1 else 0.0
            if matches[0].score - runner_up >= 3:
                return LookupResult(matches[0].term, (), fuzzy=True)
        return LookupResult(None, tuple(m.term for m in matches))

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[IndexedTerm]:
        """Terms whose name, aliases or text match the words, best first."""
        tokens = [t.casefold() for t in words(query)]
        if not tokens:
            return []
        scores: dict[int, float] = defaultdict(float)
        for token in tokens:
            for term_id, weight in self._inverted.get(token, {}).items():
                scores[term_id] += weight
            if len(token) >= 3:
                # Word starts in names: "attrib" finds "attribution".
                for name_token, ids in self._prefix_candidates(token):
                    if name_token != token:
                        for term_id in ids:
                            scores[term_id] += 4.0
        for match in self.close_matches(query, limit=limit, cutoff=75):
            scores[match.term.id] += match.score / 10
        exact = self.find_exact(query)
        if exact is not None:
            scores[exact.id] += 100.0
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self.terms[item[0]].name.casefold()))
        return [self.terms[term_id] for term_id, _ in ranked[:limit]]

    def _prefix_candidates(self, prefix: str) -> Iterable[tuple[str, set[int]]]:
        return ((token, ids) for token, ids in self._name_tokens.items() if token.startswith(prefix))

    def explain(self, message: str) -> list[ExplainHit]:
        """Every term whose name or alias appears in `message`, in order of appearance.

        Matching is on whole words; short acronyms must match their case exactly.
        """
        raw = words(message)
        folded = [token.casefold() for token in raw]
        hits: dict[int, ExplainHit] = {}
        position = 0
        while position < len(raw):
            phrase = self._phrase_at(raw, folded, position)
            if phrase is None:
                position += 1
                continue
            if phrase.term_id not in hits:
                hits[phrase.term_id] = ExplainHit(self.terms[phrase.term_id], phrase.text)
            position += len(phrase.tokens)
        return list(hits.values())

    def _phrase_at(self, raw: list[str], folded: list[str], position: int) -> _Phrase | None:
        best: _Phrase | None = None
        for table, tokens in ((self._exact_phrases, raw), (self._folded_phrases, folded)):
            for phrase in table.get(tokens[position], ()):
                size = len(phrase.tokens)
                if best is not None and size <= len(best.tokens):
                    break
                if tuple(tokens[position : position + size]) == phrase.tokens:
                    best = phrase
                    break
        return best


@dataclass
class GlossaryIndexCache:
    """One index per workspace, rebuilt when the workspace's glossary revision moves on."""

    _entries: dict[str, tuple[int, GlossaryIndex]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _building: dict[str, threading.Lock] = field(default_factory=dict)

    def get(self, session: Session, workspace_id: str) -> GlossaryIndex:
        revision = session.execute(
            select(Workspace.glossary_revision).where(Workspace.id == workspace_id)
        ).scalar_one_or_none() or 0
        cached = self._entries.get(workspace_id)
        if cached and cached[0] == revision:
            return cached[1]
        with self._lock:
            building = self._building.setdefault(workspace_id, threading.Lock())
        # One thread builds; the others wait for it instead of building the same index.
        with building:
            cached = self._entries.get(workspace_id)
            if cached and cached[0] >= revision:
                return cached[1]
            index = build_index(session, workspace_id)
            self._entries[workspace_id] = (revision, index)
        return index


def build_index(session: Session, workspace_id: str) -> GlossaryIndex:
    """Load a workspace's terms and aliases into a new index."""
    aliases: dict[int, list[str]] = defaultdict(list)
    for term_id, text in session.execute(
        select(GlossaryKey.term_id, GlossaryKey.text).where(
            GlossaryKey.workspace_id == workspace_id, GlossaryKey.is_name.is_(False)
        )
    ):
        aliases[term_id].append(text)
    rows = session.execute(
        select(
            GlossaryTerm.id,
            GlossaryTerm.name,
            GlossaryTerm.definition,
            GlossaryTerm.marketing_view,
            GlossaryTerm.it_view,
            GlossaryTerm.example,
        ).where(GlossaryTerm.workspace_id == workspace_id)
    )
    return GlossaryIndex(
        IndexedTerm(
            id=row.id,
            name=row.name,
            aliases=tuple(aliases.get(row.id, ())),
            definition=row.definition,
            body=f"{row.marketing_view}\n{row.it_view}\n{row.example}",
        )
        for row in rows
    )
