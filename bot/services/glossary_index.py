"""An in-memory index of one workspace's glossary: exact, alias, fuzzy, search and explain.

Built from a snapshot of the terms and kept per workspace by GlossaryIndexCache, which
brings it up to the workspace's glossary revision term by term when that moves on (also
when another process or instance made the change), so lookups never scan the database.
"""

from __future__ import annotations

import copy
import heapq
import logging
import math
import re
import threading
import time
import unicodedata
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, cast

from rapidfuzz import fuzz, process
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session

from bot.models import GlossaryChange, GlossaryKey, GlossaryTerm, Workspace
from bot.services import change_feed

logger = logging.getLogger(__name__)

# A fuzzy match this good (0-100) opens the card directly; weaker ones are suggestions.
CONFIDENT_SCORE = 86
SUGGESTION_SCORE = 60
# Acronyms this short match case-sensitively in Explain ("SQL" yes, "sql" in prose no).
ACRONYM_MAX_LENGTH = 5
SEARCH_LIMIT = 10
# Search weights of a word in a term's name or alias, definition, and views or example;
# a word counts once per term, at its highest weight. Small whole numbers: they are
# stored one byte each.
NAME_WEIGHT = 10
DEFINITION_WEIGHT = 3
BODY_WEIGHT = 1

_WORD = re.compile(r"[^\W_]+")
# What _WORD finds in ASCII text (letters and digits), found faster.
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


def compact_key(value: str) -> str:
    """The form names and aliases are compared in: case-folded letters and digits only.

    "Pen test", "pen-test" and "PENTEST" are one key, so near-duplicates cannot be added.
    """
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def words(value: str) -> list[str]:
    if value.isascii():
        return _ASCII_WORD.findall(value)  # ASCII is its own NFKC form
    return _WORD.findall(unicodedata.normalize("NFKC", value))


def folded_words(value: str) -> list[str]:
    """`words(value)`, each case-folded."""
    if value.isascii():
        # The same list, faster: casefold() is lower() in ASCII, and lowering the text
        # changes no character's class, so the words split where they did.
        return _ASCII_WORD.findall(value.lower())
    return [token.casefold() for token in words(value)]


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


@dataclass(slots=True)
class _Phrase:
    tokens: tuple[str, ...]
    term_id: int
    text: str


@dataclass(slots=True)
class _Starting:
    """Explain: the phrases that start with one token. Of phrases with the same tokens,
    the first added counts."""

    single: _Phrase | None  # the phrase of this token alone
    # Longer phrases as (length, {tokens: phrase}), longest first, and their second tokens.
    longer: list[tuple[int, dict[tuple[str, ...], _Phrase]]]
    seconds: frozenset[str]


_Starts = dict[str, _Starting]


def _mutable_ids(ids: Sequence[int]) -> array[int] | list[int]:
    """A copy of compacted ids that can be changed (then compacted again)."""
    return array(ids.typecode, ids) if isinstance(ids, array) else list(ids)


def _appended(ids: Sequence[int], value: int) -> Sequence[int]:
    """Compacted `ids` with `value` at the end (in a wider array if it needs one)."""
    grown = _mutable_ids(ids)
    try:
        grown.append(value)
    except OverflowError:
        return _compact_ids([*ids, value])
    return grown


def _starting(first: str, phrases: Iterable[_Phrase]) -> _Starting:
    """Explain's entry for the phrases that start with `first`; the first of equal ones counts."""
    by_size: dict[int, dict[tuple[str, ...], _Phrase]] = defaultdict(dict)
    for phrase in phrases:
        by_size[len(phrase.tokens)].setdefault(phrase.tokens, phrase)
    single = by_size.pop(1, {}).get((first,))
    return _Starting(
        single=single,
        longer=sorted(by_size.items(), key=lambda item: item[0], reverse=True),
        seconds=frozenset(tokens[1] for size in by_size.values() for tokens in size),
    )


def _phrases_of(starting: _Starting | None) -> list[_Phrase]:
    if starting is None:
        return []
    found = [starting.single] if starting.single is not None else []
    return found + [phrase for _, phrases in starting.longer for phrase in phrases.values()]


def _compact_ids(ids: Iterable[int]) -> Sequence[int]:
    """The ids in the same order, 4 or 8 bytes each where they fit."""
    ids = list(ids)
    for typecode in ("i", "q"):
        try:
            return array(typecode, ids)
        except OverflowError:
            continue
    return tuple(ids)  # beyond 64 bits: not from a database, but still valid


# A key's place among keys of the same length: its term's id, then its place in the
# term (name first, then aliases), so ties between fuzzy matches do not depend on the
# order the database returned the terms in, nor on which terms were changed since.
_RANK_SHIFT = 6  # a term has a name and at most 10 aliases


def _key_entries(term: IndexedTerm) -> dict[str, tuple[int, str]]:
    """Key -> (rank, text) for the term's name and aliases; a key written twice keeps
    its first place and its last text."""
    entries: dict[str, tuple[int, str]] = {}
    for position, text in enumerate((term.name, *term.aliases)):
        key = compact_key(text)
        if key:
            rank = entries[key][0] if key in entries else (term.id << _RANK_SHIFT) + position
            entries[key] = (rank, text)
    return entries


def _term_weights(term: IndexedTerm) -> dict[str, int]:
    """Search weight by case-folded word: once per term, name over definition over body."""
    weights = dict.fromkeys(folded_words(term.body), BODY_WEIGHT)
    weights.update(dict.fromkeys(folded_words(term.definition), DEFINITION_WEIGHT))
    weights.update(dict.fromkeys(_term_name_tokens(term), NAME_WEIGHT))
    return weights


def _term_name_tokens(term: IndexedTerm) -> list[str]:
    return [token.casefold() for text in (term.name, *term.aliases) for token in words(text)]


def _term_phrases(term: IndexedTerm) -> list[tuple[bool, _Phrase]]:
    """Explain's phrases of a term, each with whether it keeps its case (an acronym)."""
    phrases: list[tuple[bool, _Phrase]] = []
    for text in (term.name, *term.aliases):
        tokens = words(text)
        if not tokens:
            continue
        if is_acronym(text):
            phrases.append((True, _Phrase(tuple(tokens), term.id, text)))
            continue
        folded = tuple(t.casefold() for t in tokens)
        phrases.append((False, _Phrase(folded, term.id, text)))
        if len(folded) > 1:
            # Written closed up ("pentest" for "Pen test"): such an alias is not stored
            # (its key is the name's), so Explain must know the form.
            joined = "".join(folded)
            phrases.append((False, _Phrase((joined,), term.id, text)))
    return phrases


@dataclass
class _Build:
    """What the index collects term by term, before it is compacted."""

    by_key: dict[str, tuple[int, str]] = field(default_factory=dict)
    key_rank: dict[str, int] = field(default_factory=dict)
    # Search postings by case-folded word: term ids and, at the same positions, weights.
    posting_ids: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    posting_weights: dict[str, bytearray] = field(default_factory=lambda: defaultdict(bytearray))
    name_tokens: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    # Explain: phrases by first token in two case regimes (acronyms keep their case).
    exact_phrases: dict[str, list[_Phrase]] = field(default_factory=lambda: defaultdict(list))
    folded_phrases: dict[str, list[_Phrase]] = field(default_factory=lambda: defaultdict(list))

    def add(self, term: IndexedTerm) -> None:
        for key, (rank, text) in _key_entries(term).items():
            self.by_key[key] = (term.id, text)
            self.key_rank[key] = rank
        for exact, phrase in _term_phrases(term):
            table = self.exact_phrases if exact else self.folded_phrases
            table[phrase.tokens[0]].append(phrase)
        for token in _term_name_tokens(term):
            self.name_tokens[token].add(term.id)
        for token, weight in _term_weights(term).items():
            self.posting_ids[token].append(term.id)
            self.posting_weights[token].append(weight)


class GlossaryIndex:
    """Immutable after construction; safe to share between threads.

    `updated` makes a new index with some terms changed, added or removed, sharing what
    did not change, in milliseconds rather than the whole build's time.
    """

    def __init__(self, terms: Iterable[IndexedTerm]) -> None:
        self.terms: dict[int, IndexedTerm] = {term.id: term for term in terms}
        # Cards read while this index was current, for lookups (bot.services.glossary.
        # view_card): any edit moves the revision on, and with it to a new index.
        self.cards: dict[int, Any] = {}
        build = _Build()
        for term in self.terms.values():
            build.add(term)
        self._by_key = build.by_key
        # By case-folded word: term ids and, at the same positions, weights (one byte each).
        self._postings: dict[str, tuple[Sequence[int], bytes]] = {
            token: (_compact_ids(ids), bytes(build.posting_weights[token]))
            for token, ids in build.posting_ids.items()
        }
        # Fuzzy matching: the keys by length (then rank), so that only those whose length
        # allows the cutoff are scored. They are fresh copies, allocated one after the
        # other: read two to three times faster than keys scattered over the heap.
        keys = list(self._by_key)
        targets = list(self._by_key.values())
        ranks = [build.key_rank[key] for key in keys]
        order = sorted(
            range(len(keys)), key=lambda position: (len(keys[position]), ranks[position])
        )
        self._keys: list[str] = "\n".join(keys[i] for i in order).split("\n") if keys else []
        self._key_targets: list[tuple[int, str]] = [targets[i] for i in order]
        # Ascending within each length, for bisect; fuzzy ties go to the lower rank.
        self._key_rank: Sequence[int] = _compact_ids(ranks[i] for i in order)
        self._key_lengths = array("i", map(len, self._keys))  # ascending, for bisect
        # The sets' iteration order is kept (search adds to scores in that order).
        self._name_tokens: dict[str, Sequence[int]] = {
            token: _compact_ids(ids) for token, ids in build.name_tokens.items()
        }
        self._name_token_list = sorted(self._name_tokens)
        self._name_token_rank = {token: rank for rank, token in enumerate(self._name_tokens)}
        self._next_name_token_rank = len(self._name_token_rank)
        self._exact_starts = self._starts(build.exact_phrases)
        self._folded_starts = self._starts(build.folded_phrases)
        # Every word of a name or alias (with how many phrases have it), so explain can
        # read "API keys" and "CTRs".
        self._phrase_words: dict[str, int] = defaultdict(int)
        for table in (build.exact_phrases, build.folded_phrases):
            for phrases in table.values():
                for phrase in phrases:
                    for token in phrase.tokens:
                        self._phrase_words[token] += 1
        self._phrase_words = dict(self._phrase_words)

    def __len__(self) -> int:
        return len(self.terms)

    @staticmethod
    def _starts(table: dict[str, list[_Phrase]]) -> _Starts:
        return {first: _starting(first, phrases) for first, phrases in table.items()}

    # -- incremental changes -----------------------------------------------------

    def updated(self, changed: Iterable[IndexedTerm], removed: Iterable[int] = ()) -> GlossaryIndex:
        """A new index with `changed` terms added or replaced (by id) and `removed` ids gone.

        Answers exactly as `GlossaryIndex` built from the resulting terms would; this
        index is left as it was (lookups under way keep using it). Costs about what the
        changed terms cost to index, plus copying the top-level tables.
        """
        changed = list(changed)
        gone = {term.id for term in changed}.union(removed)
        new = copy.copy(self)
        new.terms = dict(self.terms)
        new.cards = {}
        new._by_key = dict(self._by_key)
        new._postings = dict(self._postings)
        new._keys = list(self._keys)
        new._key_targets = list(self._key_targets)
        new._key_rank = list(self._key_rank)  # ranks may outgrow the compact array's type
        new._key_lengths = array("i", self._key_lengths)
        new._name_tokens = dict(self._name_tokens)
        new._name_token_list = list(self._name_token_list)
        new._name_token_rank = dict(self._name_token_rank)
        new._exact_starts = dict(self._exact_starts)
        new._folded_starts = dict(self._folded_starts)
        new._phrase_words = dict(self._phrase_words)
        affected: set[tuple[bool, str]] = set()  # (acronym table?, first word)
        for term_id in gone:
            old = self.terms.get(term_id)
            if old is not None:
                new._remove(old, affected)
        added: dict[tuple[bool, str], list[_Phrase]] = defaultdict(list)
        for term in changed:
            new._add(term, affected, added)
        for exact, first in affected:
            starts = new._exact_starts if exact else new._folded_starts
            kept = [
                phrase for phrase in _phrases_of(starts.get(first)) if phrase.term_id not in gone
            ]
            phrases = kept + added.get((exact, first), [])
            if phrases:
                starts[first] = _starting(first, phrases)
            else:
                starts.pop(first, None)
        new._key_rank = _compact_ids(new._key_rank)
        return new

    def _remove(self, term: IndexedTerm, affected: set[tuple[bool, str]]) -> None:
        del self.terms[term.id]
        for key, (rank, _) in _key_entries(term).items():
            if self._by_key.get(key, (None, ""))[0] == term.id:
                del self._by_key[key]
                self._drop_key(key, rank)
        for token in _term_weights(term):
            ids, weights = self._postings[token]
            at = list(ids).index(term.id) if not isinstance(ids, array) else ids.index(term.id)
            if len(ids) == 1:
                del self._postings[token]
            else:
                rest = _mutable_ids(ids)
                del rest[at]
                kept = rest if isinstance(rest, array) else _compact_ids(rest)
                self._postings[token] = (kept, weights[:at] + weights[at + 1 :])
        for token in set(_term_name_tokens(term)):
            remaining = [i for i in self._name_tokens[token] if i != term.id]
            if remaining:
                self._name_tokens[token] = _compact_ids(remaining)
            else:
                del self._name_tokens[token]
                del self._name_token_rank[token]
                del self._name_token_list[bisect_left(self._name_token_list, token)]
        for exact, phrase in _term_phrases(term):
            affected.add((exact, phrase.tokens[0]))
            for token in phrase.tokens:
                count = self._phrase_words[token] - 1
                if count:
                    self._phrase_words[token] = count
                else:
                    del self._phrase_words[token]

    def _add(
        self,
        term: IndexedTerm,
        affected: set[tuple[bool, str]],
        added: dict[tuple[bool, str], list[_Phrase]],
    ) -> None:
        self.terms[term.id] = term
        for key, (rank, text) in _key_entries(term).items():
            if key in self._by_key:  # another term's key until now: this one has it
                self._drop_key(key, self._key_rank[self._key_position(key)])
            self._by_key[key] = (term.id, text)
            lengths = self._key_lengths
            low, high = bisect_left(lengths, len(key)), bisect_right(lengths, len(key))
            at = bisect_left(self._key_rank, rank, low, high)
            self._keys.insert(at, key)
            self._key_targets.insert(at, (term.id, text))
            cast(list[int], self._key_rank).insert(at, rank)
            lengths.insert(at, len(key))
        for token, weight in _term_weights(term).items():
            ids, weights = self._postings.get(token, ((), b""))
            self._postings[token] = (_appended(ids, term.id), weights + bytes((weight,)))
        for token in dict.fromkeys(_term_name_tokens(term)):
            having = self._name_tokens.get(token)
            if having is None:
                self._name_token_rank[token] = self._next_name_token_rank
                self._next_name_token_rank += 1
                insort(self._name_token_list, token)
                self._name_tokens[token] = _compact_ids([term.id])
            elif term.id not in having:
                self._name_tokens[token] = _appended(having, term.id)
        for exact, phrase in _term_phrases(term):
            affected.add((exact, phrase.tokens[0]))
            added[(exact, phrase.tokens[0])].append(phrase)
            for token in phrase.tokens:
                self._phrase_words[token] = self._phrase_words.get(token, 0) + 1

    def _key_position(self, key: str) -> int:
        low = bisect_left(self._key_lengths, len(key))
        return self._keys.index(key, low, bisect_right(self._key_lengths, len(key)))

    def _drop_key(self, key: str, rank: int) -> None:
        lengths = self._key_lengths
        low, high = bisect_left(lengths, len(key)), bisect_right(lengths, len(key))
        at = bisect_left(self._key_rank, rank, low, high)
        if at >= high or self._keys[at] != key:
            at = self._key_position(key)
        del self._keys[at]
        del self._key_targets[at]
        del cast(list[int], self._key_rank)[at]
        del lengths[at]

    # -- lookups ---------------------------------------------------------------

    def find_exact(self, query: str) -> IndexedTerm | None:
        """By name or alias, ignoring case, spaces and punctuation."""
        found = self._by_key.get(compact_key(query))
        return self.terms[found[0]] if found else None

    def close_matches(
        self, query: str, limit: int = 3, cutoff: float = SUGGESTION_SCORE
    ) -> list[Match]:
        """Names and aliases that look like `query`, best first, one per term."""
        key = compact_key(query)
        if not key:
            return []
        seen: set[int] = set()
        matches: list[Match] = []
        for position, score in self._similar_keys(key, limit * 4, cutoff):
            term_id, text = self._key_targets[position]
            if term_id in seen:
                continue
            seen.add(term_id)
            matches.append(Match(self.terms[term_id], float(score), text))
            if len(matches) == limit:
                break
        return matches

    def _similar_keys(self, key: str, limit: int, cutoff: float) -> list[tuple[int, float]]:
        """Up to `limit` keys with a fuzz.ratio of at least `cutoff` to `key`, as positions
        in _keys and scores: best first, ties in key order, as process.extract over the
        keys in key order would give them.

        fuzz.ratio is 200 * common / (len(a) + len(b)), so only keys whose length is close
        enough to the query's can reach the cutoff; the others are not scored at all.
        """
        if limit < 1:
            # Nothing for 0, and rapidfuzz's own error for a negative limit, as before.
            process.extract(key, self._keys, scorer=fuzz.ratio, limit=limit, score_cutoff=cutoff)
            return []
        start, end = 0, len(self._keys)
        if 0 < cutoff < 100:
            size = len(key)
            # With a little slack: a borderline key is left for rapidfuzz to score.
            shortest = math.ceil(size * cutoff / (200 - cutoff) - 1e-6)
            longest = math.floor(size * (200 - cutoff) / cutoff + 1e-6)
            start = bisect_left(self._key_lengths, shortest)
            end = bisect_right(self._key_lengths, longest)
        choices = self._keys if (start, end) == (0, len(self._keys)) else self._keys[start:end]
        found = process.extract(key, choices, scorer=fuzz.ratio, limit=None, score_cutoff=cutoff)
        rank = self._key_rank
        scored = [(start + offset, score) for _, score, offset in found]
        scored.sort(key=lambda item: (-item[1], rank[item[0]]))
        return scored[:limit]

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
            ids, weights = self._postings.get(token, ((), b""))
            for term_id, weight in zip(ids, weights, strict=True):
                scores[term_id] += weight
            if len(token) >= 3:
                # Word starts in names: "attrib" finds "attribution".
                for name_token, ids_with_token in self._prefix_candidates(token):
                    if name_token != token:
                        for term_id in ids_with_token:
                            scores[term_id] += 4.0
        for match in self.close_matches(query, limit=limit, cutoff=75):
            scores[match.term.id] += match.score / 10
        exact = self.find_exact(query)
        if exact is not None:
            scores[exact.id] += 100.0
        contenders = list(scores.items())
        if 0 < limit < len(contenders):
            # Only terms scoring at least the limit-th best score can make the cut; sorting
            # just those (stably, in the same order) gives the same first `limit` as all.
            floor = heapq.nlargest(limit, scores.values())[-1]
            contenders = [item for item in contenders if item[1] >= floor]
        ranked = sorted(
            contenders, key=lambda item: (-item[1], self.terms[item[0]].name.casefold())
        )
        return [self.terms[term_id] for term_id, _ in ranked[:limit]]

    def _prefix_candidates(self, prefix: str) -> list[tuple[str, Sequence[int]]]:
        """Name tokens starting with `prefix`, in the order they were indexed."""
        tokens = self._name_token_list
        found: list[str] = []
        for position in range(bisect_left(tokens, prefix), len(tokens)):
            if not tokens[position].startswith(prefix):
                break
            found.append(tokens[position])
        found.sort(key=self._name_token_rank.__getitem__)
        return [(token, self._name_tokens[token]) for token in found]

    def explain(self, message: str) -> list[ExplainHit]:
        """Every term whose name or alias appears in `message`, in order of appearance.

        Matching is on whole words; short acronyms must match their case exactly. A
        plural is read as its singular where only the singular is in a name ("CTRs").
        """
        raw = [self._as_named(token) for token in words(message)]
        folded = list(map(str.casefold, raw))
        exact_starts = self._exact_starts
        folded_starts = self._folded_starts
        # Only where a phrase starts with the word can one match; scanning left to right,
        # a matched phrase covers its words (no overlapping matches).
        first_words = {
            token
            for token in set(raw)
            if token in exact_starts or token.casefold() in folded_starts
        }
        starts = [position for position, token in enumerate(raw) if token in first_words]
        # A one-word name written as two ("road map" for "Roadmap"); its alias is not
        # stored either, for its key is the name's.
        split = {
            position
            for position in range(len(folded) - 1)
            if (starting := folded_starts.get(folded[position] + folded[position + 1])) is not None
            and starting.single is not None
        }
        if split:
            starts = sorted(split.union(starts))
        hits: dict[int, ExplainHit] = {}
        covered = 0
        for position in starts:
            if position < covered:
                continue
            phrase = self._phrase_at(raw, folded, position)
            size = len(phrase.tokens) if phrase is not None else 0
            if size < 2 and position in split:
                phrase = folded_starts[folded[position] + folded[position + 1]].single
                size = 2
            if phrase is None:
                continue
            if phrase.term_id not in hits:
                hits[phrase.term_id] = ExplainHit(self.terms[phrase.term_id], phrase.text)
            covered = position + size
        return list(hits.values())

    def _as_named(self, token: str) -> str:
        """`token`, or its singular when only that is a word of some name or alias."""
        known = self._phrase_words
        if len(token) < 4 or token[-1] not in "sS" or token[-2] in "sS'":
            return token
        if token in known or token.casefold() in known:
            return token
        singular = token[:-1]
        return singular if singular in known or singular.casefold() in known else token

    def _phrase_at(self, raw: list[str], folded: list[str], position: int) -> _Phrase | None:
        """The longest phrase at `position`; an acronym wins a tie with a folded phrase."""
        best: _Phrase | None = None
        for table, tokens in ((self._exact_starts, raw), (self._folded_starts, folded)):
            starting = table.get(tokens[position])
            if starting is None:
                continue
            found: _Phrase | None = None
            after = position + 1
            if after < len(tokens) and tokens[after] in starting.seconds:
                for size, phrases in starting.longer:
                    if best is not None and size <= len(best.tokens):
                        break
                    if position + size <= len(tokens):
                        found = phrases.get(tuple(tokens[position : position + size]))
                        if found is not None:
                            break
            if found is None and best is None:
                found = starting.single
            if found is not None:
                best = found
        return best


# Built once: a lookup that cannot trust its cached index starts with it.
_REVISION = select(Workspace.glossary_revision).where(Workspace.id == bindparam("workspace"))
# At most this many changed terms are applied to an index in place; past that (a big
# import) a whole rebuild costs less, and the lookup that finds them makes one.
INCREMENTAL_LIMIT = 1000
# At start-up the indexes of this many workspaces, the largest glossaries first, are built
# before anyone asks, if they have at least WARM_MIN_TERMS terms; the others (the starter
# glossary builds in tens of milliseconds) on first use, so that building hundreds of
# small indexes does not compete with the first requests for the CPU.
WARM_WORKSPACES = 100
WARM_MIN_TERMS = 1000


@dataclass(frozen=True)
class _Entry:
    revision: int
    index: GlossaryIndex
    # What the cache held before: restored if the transaction that read this rolls back.
    previous: _Entry | None = None
    # When the revision was read (change_feed): trusted without a query while no change
    # to the workspace's glossary has been heard since; None: read it each time.
    stamp: change_feed.Stamp | None = None


@dataclass
class GlossaryIndexCache:
    """One index per workspace, kept at the workspace's glossary revision.

    A lookup uses the cached index without a query while the change feed (bot.services.
    change_feed) has heard no change to the workspace's glossary since its revision was
    read; otherwise (on SQLite, while the feed is not listening, after a change) it reads
    the revision (one indexed row). When that has moved on, also when another process or
    instance made the change, the cache reads which terms the missed revisions changed
    (glossary_changes) and applies just those to a copy of the index: milliseconds, where
    a rebuild of 10,000 terms takes most of a second. Only when that cannot be done (the
    whole glossary was replaced, more than INCREMENTAL_LIMIT terms changed, or the
    changes were pruned) does the lookup rebuild the index whole: an index that no
    longer matches the glossary would show deleted terms and miss new ones. `warm`
    builds the largest glossaries' indexes at start-up, so no first lookup pays for them.
    """

    _entries: dict[str, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _building: dict[str, threading.Lock] = field(default_factory=dict)

    def get(self, session: Session, workspace_id: str) -> GlossaryIndex:
        feed = change_feed.feed_of(session)
        cached = self._entries.get(workspace_id)
        # A transaction that changed the glossary itself reads its own revision.
        mine = change_feed.announcing(session, change_feed.GLOSSARY, workspace_id)
        if (
            cached is not None
            and feed is not None
            and not mine
            and feed.unchanged_since(cached.stamp, change_feed.GLOSSARY, workspace_id)
        ):
            return cached.index
        stamp = None if feed is None or mine else feed.stamp(change_feed.GLOSSARY, workspace_id)
        revision = session.execute(_REVISION, {"workspace": workspace_id}).scalar() or 0
        if cached is not None and cached.revision >= revision:
            if cached.previous is None and cached.revision > revision:
                # Committed, yet ahead of the database: the workspace was deleted and
                # has begun again (its revisions too). Nothing of the old index holds.
                self._forget(workspace_id, cached, session)
            else:
                if stamp is not None and cached.revision == revision:
                    # Read again and found current: trusted until the next change is heard.
                    self._entries[workspace_id] = replace(cached, stamp=stamp)
                return cached.index
        # One thread catches up; the others wait for it instead of doing the same work.
        with self._building_lock(workspace_id):
            cached = self._entries.get(workspace_id)
            if cached is not None and cached.revision >= revision:
                return cached.index
            index = self._catch_up(session, workspace_id, cached, revision)
            entry = _Entry(revision, index, cached, stamp)
            self._entries[workspace_id] = entry
        # An index read in a transaction that then rolls back may hold terms that never
        # existed: a first command seeds the starter glossary, is rolled back (to ask the
        # platform whether its caller is an admin, say) and seeds it again with new ids.
        event.listen(
            session, "after_rollback", partial(self._forget, workspace_id, entry), once=True
        )
        event.listen(session, "after_commit", partial(self._settle, workspace_id, entry), once=True)
        return index

    def _building_lock(self, workspace_id: str) -> threading.Lock:
        with self._lock:
            return self._building.setdefault(workspace_id, threading.Lock())

    def _catch_up(
        self, session: Session, workspace_id: str, cached: _Entry | None, revision: int
    ) -> GlossaryIndex:
        """The index at `revision`: updated term by term when it can be, else built."""
        if cached is None:
            return build_index(session, workspace_id)
        changed = changed_terms(session, workspace_id, since=cached.revision, upto=revision)
        if changed is None:
            return build_index(session, workspace_id)
        began = time.perf_counter()
        terms = indexed_terms(session, workspace_id, changed)
        present = {term.id for term in terms}
        index = cached.index.updated(terms, [i for i in changed if i not in present])
        logger.info(
            "glossary index of %s brought to revision %d: %d changed term(s) in %.1f ms",
            workspace_id,
            revision,
            len(changed),
            (time.perf_counter() - began) * 1000,
        )
        return index

    def _settle(self, workspace_id: str, entry: _Entry, _session: Session) -> None:
        """Committed: the index before it is not needed any more (and is let go)."""
        with self._lock:
            if self._entries.get(workspace_id) is entry:
                self._entries[workspace_id] = replace(entry, previous=None)

    def _forget(self, workspace_id: str, entry: _Entry, _session: Session) -> None:
        with self._lock:
            if self._entries.get(workspace_id) is entry:
                if entry.previous is not None:
                    self._entries[workspace_id] = entry.previous
                else:
                    del self._entries[workspace_id]

    def warm(self, session_factory: Callable[[], Session]) -> None:
        """Build the indexes of the WARM_WORKSPACES largest glossaries of WARM_MIN_TERMS
        terms or more (run at start-up in a background thread; a lookup arriving
        meanwhile waits for its workspace's build rather than making its own)."""
        with session_factory() as session:
            largest = session.scalars(
                select(GlossaryTerm.workspace_id)
                .group_by(GlossaryTerm.workspace_id)
                .having(func.count() >= WARM_MIN_TERMS)
                .order_by(func.count().desc(), GlossaryTerm.workspace_id)
                .limit(WARM_WORKSPACES)
            ).all()
        for workspace_id in largest:
            with self._building_lock(workspace_id):
                if workspace_id in self._entries:
                    continue
                with session_factory() as session:
                    revision = session.scalar(
                        select(Workspace.glossary_revision).where(Workspace.id == workspace_id)
                    )
                    index = build_index(session, workspace_id)
                if revision is not None:
                    self._entries[workspace_id] = _Entry(revision, index)


def changed_terms(
    session: Session, workspace_id: str, *, since: int, upto: int
) -> list[int] | None:
    """The ids of the terms that revisions `since` (excluded) to `upto` changed, or None
    when an index must be rebuilt whole: the whole glossary changed, more than
    INCREMENTAL_LIMIT terms did, or some revision's changes were pruned."""
    rows = session.execute(
        select(GlossaryChange.revision, GlossaryChange.term_id)
        .where(
            GlossaryChange.workspace_id == workspace_id,
            GlossaryChange.revision > since,
            GlossaryChange.revision <= upto,
        )
        .limit(INCREMENTAL_LIMIT + 1)
    ).all()
    revisions = {revision for revision, _ in rows}
    ids = [term_id for _, term_id in rows]
    if len(rows) > INCREMENTAL_LIMIT or len(revisions) != upto - since or None in ids:
        return None
    return list(dict.fromkeys(cast(list[int], ids)))


def indexed_terms(
    session: Session, workspace_id: str, term_ids: Sequence[int] | None = None
) -> list[IndexedTerm]:
    """A workspace's terms (or those of `term_ids` that exist) as the index keeps them."""
    aliases_query = select(GlossaryKey.term_id, GlossaryKey.text).where(
        GlossaryKey.workspace_id == workspace_id, GlossaryKey.is_name.is_(False)
    )
    terms_query = select(
        GlossaryTerm.id,
        GlossaryTerm.name,
        GlossaryTerm.definition,
        GlossaryTerm.marketing_view,
        GlossaryTerm.it_view,
        GlossaryTerm.example,
    ).where(GlossaryTerm.workspace_id == workspace_id)
    if term_ids is not None:
        if not term_ids:
            return []
        aliases_query = aliases_query.where(GlossaryKey.term_id.in_(term_ids))
        terms_query = terms_query.where(GlossaryTerm.id.in_(term_ids))
    aliases: dict[int, list[str]] = defaultdict(list)
    # In the order the card shows them.
    for term_id, text in session.execute(aliases_query.order_by(GlossaryKey.id)):
        aliases[term_id].append(text)
    return [
        IndexedTerm(
            id=row.id,
            name=row.name,
            aliases=tuple(aliases.get(row.id, ())),
            definition=row.definition,
            body=f"{row.marketing_view}\n{row.it_view}\n{row.example}",
        )
        for row in session.execute(terms_query)
    ]


def build_index(session: Session, workspace_id: str) -> GlossaryIndex:
    """Load a workspace's terms and aliases into a new index."""
    began = time.perf_counter()
    index = GlossaryIndex(indexed_terms(session, workspace_id))
    logger.info(
        "glossary index of %s built whole: %d terms in %.0f ms",
        workspace_id,
        len(index),
        (time.perf_counter() - began) * 1000,
    )
    return index
