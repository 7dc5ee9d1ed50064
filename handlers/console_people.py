"""The people at one console: who is typing, who is an admin, what waits in each inbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.replies import Button, Reply

# A console name is its user id: what @mentions, stand-up forms and digests show.
NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,39}")


@dataclass(frozen=True)
class Delivered:
    """A message that reached one person while someone else was at the keyboard."""

    where: str  # how it is labelled: "direct message"
    reply: Reply


@dataclass
class ConsolePerson:
    user_ref: str
    is_admin: bool = False
    inbox: list[Delivered] = field(default_factory=list)
    # The buttons of the last message this person saw: typing a number clicks one, as them.
    buttons: list[Button] = field(default_factory=list)


class Roster:
    """Everyone the console has acted as, and who is at the keyboard now.

    Admin rights belong to the console, as a chat platform's do to it: the person the
    console starts as is an admin, so are BRIDGEBOT_ADMINS, others only when made one.
    """

    def __init__(self, first: str, admins: frozenset[str] = frozenset()) -> None:
        self._admins = admins
        self._people: dict[str, ConsolePerson] = {}
        self.current = self.add(first)
        self.current.is_admin = True

    def add(self, user_ref: str) -> ConsolePerson:
        """The person, created (an admin only if listed in the settings) when new."""
        person = self._people.get(user_ref)
        if person is None:
            person = ConsolePerson(user_ref, is_admin=user_ref in self._admins)
            self._people[user_ref] = person
        return person

    def get(self, user_ref: str) -> ConsolePerson | None:
        return self._people.get(user_ref)

    def switch_to(self, user_ref: str) -> ConsolePerson:
        self.current = self.add(user_ref)
        return self.current

    def __iter__(self) -> Iterator[ConsolePerson]:
        return iter(sorted(self._people.values(), key=lambda p: p.user_ref.lower()))
