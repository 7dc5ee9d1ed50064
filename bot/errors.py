"""The one vocabulary of refusals: services raise these, the router turns them into replies.

Four kinds, so the router maps each once and nobody translates between vocabularies:
NotFound (gone, or never in this workspace), NotAllowed (not for this person, or not
now), Invalid (what was typed or clicked makes no sense; a form's problems are named per
field) and Conflict (the state of things forbids it: already open, already closed).
A service keeps its own subclass only where a caller must tell it apart (a scheduled
job skipping a deleted stand-up, a form showing a refusal next to a field). The message
is what the person reads, so it is written for them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from bot.replies import Text, plain_text


class DomainError(Exception):
    """A refusal the person is told about in plain words; nothing was saved.

    `usage` is the usage line shown under the message (see `usage_line`).
    """

    def __init__(self, message: str | Text, usage: str | None = None) -> None:
        super().__init__(message if isinstance(message, str) else plain_text(message))
        self.text = message
        self.usage = usage


class NotFound(DomainError):
    """The thing named does not exist in this workspace (any more)."""


class NotAllowed(DomainError):
    """Not for this caller (not an admin, not the author), or not now (a limit)."""


class Conflict(DomainError):
    """The current state forbids it: a poll already closed, a pulse already open."""


class Invalid(DomainError):
    """What was typed or clicked is wrong.

    With `field_errors` (field name: message), a form shows each message next to its
    field; anywhere else the messages are the reply.
    """

    def __init__(
        self,
        message: str | Text | None = None,
        usage: str | None = None,
        *,
        field_errors: Mapping[str, str] | None = None,
    ) -> None:
        self.field_errors = dict(field_errors or {})
        super().__init__(
            " ".join(self.field_errors.values()) if message is None else message, usage
        )


@contextmanager
def usage_line(usage: str) -> Iterator[None]:
    """Show `usage` under any Invalid raised inside that carries no usage line of its own.

    The router wraps every command in its own usage; a command module wraps a sub-command
    whose usage line is more precise (`/pulse ask ...`).
    """
    try:
        yield
    except Invalid as exc:
        if exc.usage is None:
            exc.usage = usage
        raise
