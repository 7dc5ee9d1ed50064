"""Platform-neutral replies: what to say, never how a platform formats it.

Text is a tuple of spans. A span's text is always literal (renderers escape it), so
user-typed text can never become markup, a mention or a broadcast. Mentions and links
exist only as explicit span kinds that the domain builds from ids it knows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class SpanKind(StrEnum):
    PLAIN = "plain"
    BOLD = "bold"
    ITALIC = "italic"
    CODE = "code"
    USER = "user"  # text is a person's user_ref
    CHANNEL = "channel"  # text is a channel_ref
    LINK = "link"  # text is the label, url the target


@dataclass(frozen=True)
class Span:
    text: str
    kind: SpanKind = SpanKind.PLAIN
    url: str | None = None


Text = tuple[Span, ...]


def text(*parts: str | Span) -> Text:
    """Build Text from literal strings and spans."""
    return tuple(Span(part) if isinstance(part, str) else part for part in parts)


def bold(value: str) -> Span:
    return Span(value, SpanKind.BOLD)


def italic(value: str) -> Span:
    return Span(value, SpanKind.ITALIC)


def code(value: str) -> Span:
    return Span(value, SpanKind.CODE)


def user(user_ref: str) -> Span:
    return Span(user_ref, SpanKind.USER)


def channel(channel_ref: str) -> Span:
    return Span(channel_ref, SpanKind.CHANNEL)


def link(label: str, url: str) -> Span:
    return Span(label, SpanKind.LINK, url)


def counted(number: int, thing: str, things: str | None = None) -> str:
    """ "1 vote", "2 votes", "1 person" / "3 people"."""
    return f"{number} {thing if number == 1 else things or thing + 's'}"


def plain_text(value: Text) -> str:
    """The text with all formatting dropped (fallbacks, logs of our own strings, tests)."""
    return "".join(_plain_span(span) for span in value)


def _plain_span(span: Span) -> str:
    if span.kind is SpanKind.USER:
        return f"@{span.text}"
    if span.kind is SpanKind.CHANNEL:
        return f"#{span.text}"
    return span.text


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    style: ButtonStyle = ButtonStyle.DEFAULT


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: Text


@dataclass(frozen=True)
class Fields:
    """Label/value pairs shown side by side where the platform can."""

    items: tuple[tuple[str, Text], ...]


@dataclass(frozen=True)
class Note:
    """Small print: authorship, timestamps, hints."""

    text: Text


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Buttons:
    buttons: tuple[Button, ...]


Block = Heading | Paragraph | Fields | Note | Divider | Buttons


class Visibility(StrEnum):
    PRIVATE = "private"  # only the person who asked (Slack: ephemeral)
    CHANNEL = "channel"  # everyone in the conversation


class FieldKind(StrEnum):
    TEXT = "text"
    SELECT = "select"  # one of `options`
    MULTI_SELECT = "multi_select"  # several of `options`, comma-separated
    CHANNEL = "channel"  # a conversation_ref
    USERS = "users"  # user_refs, comma-separated
    TIME = "time"  # HH:MM


@dataclass(frozen=True)
class FormField:
    """One input of a form. Values always come back as strings (lists comma-separated)."""

    name: str
    label: str
    initial: str = ""
    multiline: bool = False
    max_length: int = 300
    optional: bool = False
    placeholder: str = ""
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    kind: FieldKind = FieldKind.TEXT

    @property
    def is_choice(self) -> bool:
        return self.kind in {FieldKind.SELECT, FieldKind.MULTI_SELECT}


@dataclass(frozen=True)
class Form:
    """A form to fill in (a Slack modal, an Adaptive Card, console prompts).

    `metadata` comes back untouched with the submission (e.g. which term is edited).
    """

    callback_id: str
    title: str
    submit_label: str
    fields: tuple[FormField, ...]
    metadata: str = ""


@dataclass(frozen=True)
class Reply:
    """What a command answers. Private unless the command says otherwise.

    A reply with a `form` asks the adapter to open it instead of posting blocks.
    `replace_original` asks that the message a button was clicked on be updated.
    """

    blocks: tuple[Block, ...] = ()
    visibility: Visibility = Visibility.PRIVATE
    is_error: bool = False
    attachments: tuple[Attachment, ...] = field(default=())
    form: Form | None = None
    replace_original: bool = False
    outbox: tuple[Outgoing, ...] = ()
    # Something is now due (a pulse or stand-up run now): run the scheduler at once.
    wake_scheduler: bool = False

    @property
    def fallback(self) -> str:
        """One plain-text line set for notifications and screen readers."""
        return "\n".join(line for block in self.blocks if (line := block_plain_text(block)))


@dataclass(frozen=True)
class Outgoing:
    """A message elsewhere to refresh in place after the reply.

    `refresh_key` asks the adapter to re-render that item now and update its message,
    which keeps concurrent clicks from showing stale counts. New messages are never
    sent this way: a command queues them in the delivery table (bot/services/outbox.py)
    in its own transaction, so none is lost to a crash or a rate limit.
    """

    refresh_key: str


@dataclass(frozen=True)
class QueuedPost:
    """A queued message as it is to be posted now, rendered when its delivery comes."""

    conversation_ref: str
    reply: Reply
    # Told by direct message if the platform refuses the post for good (None: nobody).
    author_ref: str | None = None
    what: str = "message"  # "win", "poll": names it in that message


@dataclass(frozen=True)
class PostedMessage:
    """Where a recorded message is, as the platform named it."""

    conversation_ref: str
    message_ref: str
    permalink: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file to deliver with the reply (an .ics, a chart, a CSV)."""

    filename: str
    content: bytes
    title: str


def block_plain_text(block: Block) -> str:
    if isinstance(block, Heading):
        return block.text
    if isinstance(block, Paragraph | Note):
        return plain_text(block.text)
    if isinstance(block, Fields):
        return "\n".join(f"{label}: {plain_text(value)}" for label, value in block.items)
    return ""


def message(*paragraphs: Text | str, visibility: Visibility = Visibility.PRIVATE) -> Reply:
    """A reply made of plain paragraphs."""
    return Reply(
        blocks=tuple(Paragraph(text(p) if isinstance(p, str) else p) for p in paragraphs),
        visibility=visibility,
    )


def error(problem: Text | str, usage: str | None = None) -> Reply:
    """A short private error, with the usage line when the caller typed it wrong."""
    blocks: list[Block] = [Paragraph(text(problem) if isinstance(problem, str) else problem)]
    if usage:
        blocks.append(Note(text("Usage: ", code(usage))))
    return Reply(blocks=tuple(blocks), is_error=True)


def cancelled() -> Reply:
    """The answer to a Cancel button: the question is replaced, nothing changed."""
    return Reply(blocks=(Paragraph(text("Cancelled; nothing changed.")),), replace_original=True)


def join_lines(lines: Iterable[Text]) -> Text:
    """Several Text lines as one Text separated by newlines."""
    out: list[Span] = []
    for index, line in enumerate(lines):
        if index:
            out.append(Span("\n"))
        out.extend(line)
    return tuple(out)
