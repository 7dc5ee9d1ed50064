"""The command router: turns "bridge side it" into a domain call and a neutral Reply.

Every adapter (Slack, Teams, console) parses its own transport, builds a RequestScope
(who asks, where, when) and calls `run_command`, which owns the unit of work: a command
that fails with a domain error rolls back completely, so nothing is ever half-saved.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NoReturn, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot import replies
from bot.errors import DomainError, Invalid, NotAllowed, usage_line
from bot.errors import NotFound as NotFound
from bot.replies import PostedMessage, QueuedPost, Reply
from bot.services import command_inbox, dedupe, posting_limits, workspaces
from bot.services.posting_limits import PostingLimits
from bot.services.privacy import PrivacyRegistry
from bot.textinput import CONTROL_MESSAGE, clean_field, has_control_characters, strip_invisible

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Slack caps slash command text near 4,000 characters; anything longer is not a command.
MAX_COMMAND_LENGTH = 4000


# The router's older names for the one vocabulary of bot.errors (adapters catch
# FormInvalid: an Invalid with field errors, which run_form lets through).
BridgebotError = DomainError
UsageError = Invalid
PermissionDenied = NotAllowed
FormInvalid = Invalid


class AdminCheckFailed(DomainError):
    """The platform did not say whether the caller is an admin: not a refusal, a failure."""

    def __init__(self, platform_name: str) -> None:
        super().__init__(
            f"bridgebot could not check whether you are a workspace admin "
            f"({platform_name} did not answer); please try again."
        )


class RepeatedRequest(Exception):
    """The platform sent a request that was already handled (see run_in_context's once_key)."""


class AdminCheckNeeded(Exception):
    """The request needs to know whether the caller is an admin, and nobody asked yet.

    Raised inside the transaction, which rolls back: the adapter asks the platform with
    no transaction open and runs the request again with the answer (see Caller.is_admin).
    """


class NeedsDatabase(Exception):
    """A request run from memory only (RequestScope.memory_only) reached for the
    database: it rolled back, having changed nothing; run it again in a worker thread."""


class _MemoryOnlySession(Session):
    """A session that has no database: whatever would take a connection (a query, a
    flush, session.connection()) asks get_bind first, and is refused before it waits
    for a connection from the pool."""

    def get_bind(self, *_args: object, **_kwargs: object) -> NoReturn:
        raise NeedsDatabase


def _memory_only_session(factory: sessionmaker[Session]) -> Session:
    """A session like the factory's (the same caches and counts in its info), but
    without a database (see RequestScope.memory_only)."""
    settings = {**factory.kw, "bind": None, "info": dict(factory.kw.get("info") or {})}
    return _MemoryOnlySession(**settings)


# How an adapter names its platform when it could not get an answer from it.
PLATFORM_NAMES = {"slack": "Slack", "teams": "Teams"}


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the adapter established it."""

    workspace_id: str
    user_ref: str
    platform: str
    # None: not known yet. Adapters whose admin check is a call to the platform leave it
    # unknown, and ask only when a request needs it (most clicks never do).
    is_admin: bool | None = False
    display_name: str | None = None
    # The platform was asked whether the caller is an admin and did not answer.
    admin_check_failed: bool = False

    def has_admin_rights(self) -> bool:
        if self.admin_check_failed:
            raise AdminCheckFailed(PLATFORM_NAMES.get(self.platform, self.platform))
        if self.is_admin is None:
            raise AdminCheckNeeded(self.user_ref)
        return self.is_admin

    def with_admin_answer(self, is_admin: bool | None) -> Caller:
        """This caller with the platform's answer; None when the platform did not answer."""
        return replace(self, is_admin=is_admin, admin_check_failed=is_admin is None)


ChannelResolver = Callable[[str], str | None]
# A person as typed or picked ("@ann", a picker's id) to their user ref, or None: no such person.
UserResolver = Callable[[str], str | None]


def no_channel_mentions(_: str) -> str | None:
    return None


def people_as_picked(value: str) -> str | None:
    """Where people are only ever picked from the platform's own list, each is real."""
    return value.strip() or None


@dataclass
class CommandContext:
    """Everything a command handler may use; the session belongs to run_command."""

    session: Session
    caller: Caller
    now: datetime
    default_timezone: str
    channel_ref: str | None = None
    resolve_channel: ChannelResolver = no_channel_mentions
    resolve_user: UserResolver = people_as_picked
    posting_limits: PostingLimits = field(default_factory=PostingLimits)
    # The command's own text is read by others (a Teams channel or group chat), so
    # anything anonymous must not be typed there.
    typed_where_others_see: bool = False

    @property
    def workspace_id(self) -> str:
        return self.caller.workspace_id

    def require_admin(self, action: str) -> None:
        if not self.caller.has_admin_rights():
            raise NotAllowed(f"Only workspace admins can {action}.")

    def require_posting_allowance(self) -> None:
        """Refuse a post to a shared channel over the caller's or the workspace's limit
        (PostingLimitReached, a NotAllowed saying when posting works again)."""
        posting_limits.check(
            session=self.session,
            workspace_id=self.workspace_id,
            author_ref=self.caller.user_ref,
            now=self.now,
            limits=self.posting_limits,
        )


CommandHandler = Callable[[CommandContext, str], Reply]
ActionHandler = Callable[[CommandContext, str], Reply]
FormHandler = Callable[[CommandContext, dict[str, str], str], Reply]
# Checks one field before the rest of its form is asked (a term's name): an error or None.
FieldCheck = Callable[[CommandContext, str, str], str | None]
NewWorkspaceHook = Callable[[CommandContext], object]
# Outbox plumbing: record where a message went; re-render an item for an update;
# render a queued item for its first post (None: nothing to post, or posted already).
Recorder = Callable[[CommandContext, str, PostedMessage], None]
Refresher = Callable[[CommandContext, str], "tuple[PostedMessage, Reply] | None"]
Renderer = Callable[[CommandContext, str], QueuedPost | None]


@dataclass(frozen=True)
class TeamsMenuEntry:
    """One line of the Teams compose-box menu: what picking it types, and what it does."""

    title: str  # Teams allows 32 characters
    description: str  # and 128 here


class OnlyOn(str):
    """A help line that holds on some platforms only: `OnlyOn("/bridge sync: ...", "slack")`.

    It is still a plain string wherever help lines are read as such; `Command.help_for`
    leaves it out of the other platforms' help.
    """

    platforms: frozenset[str]

    def __new__(cls, line: str, *platforms: str) -> OnlyOn:
        made = super().__new__(cls, line)
        made.platforms = frozenset(platforms)
        return made


@dataclass(frozen=True)
class MessageAction:
    """An entry in every message's own menu (Slack: a message shortcut; Teams: a message
    extension action, "More actions"): it runs the router action `action_id` with the
    message's text, and its answer is shown to the person who chose it alone."""

    action_id: str  # Teams takes 64 characters as the command id
    title: str  # Teams allows 32 characters
    description: str  # and 128 here


@dataclass(frozen=True)
class Command:
    """A top-level command such as `bridge`, declared once: its parser, its help and what
    each platform lists for it. Slack's listeners, both app manifests and every help text
    are derived from the registered commands, so nothing else names them.
    """

    name: str
    summary: str  # the command's heading in help
    usage: str  # shown under an error about how the command was typed
    help_lines: tuple[str, ...]
    handler: CommandHandler
    description: str = ""  # the one line the platforms' command lists show (default: summary)
    usage_hint: str = ""  # Slack shows it after the command name as it is typed
    # Slack then sends "#channel" and "@person" as ids ("<#C1|name>"), which can be stored.
    slack_escape: bool = False
    # The Teams compose-box lines; None lists the command by its name and description.
    teams_menu: tuple[TeamsMenuEntry, ...] | None = None
    # True for the arguments of an invocation that only reads and answers the caller (a
    # lookup): an adapter may then answer it within the request itself, with no record
    # kept to run it again after a crash (Slack: in the acknowledgement). None: never.
    answered_at_once: Callable[[str], bool] | None = None

    def listed_description(self) -> str:
        return self.description or self.summary

    def teams_entries(self) -> tuple[TeamsMenuEntry, ...]:
        if self.teams_menu is not None:
            return self.teams_menu
        return (TeamsMenuEntry(self.name, self.listed_description()),)

    def help_for(self, platform: str) -> tuple[str, ...]:
        """The help lines that hold on `platform` (an OnlyOn line of another is left out)."""
        return tuple(
            line
            for line in self.help_lines
            if not isinstance(line, OnlyOn) or platform in line.platforms
        )


class CommandRouter:
    """Maps command names to handlers; features register themselves explicitly."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._actions: dict[str, ActionHandler] = {}
        self._forms: dict[str, FormHandler] = {}
        self._field_checks: dict[tuple[str, str], FieldCheck] = {}
        self._message_actions: dict[str, MessageAction] = {}
        self._recorders: dict[str, Recorder] = {}
        self._refreshers: dict[str, Refresher] = {}
        self._renderers: dict[str, Renderer] = {}
        self.new_workspace_hooks: list[NewWorkspaceHook] = []
        # Work that makes first requests fast (building in-memory indexes), run in a
        # background thread when a server starts; each gets a session factory.
        self.warm_ups: list[Callable[[Callable[[], Session]], None]] = []
        self.posting_limits = PostingLimits()
        # Workspaces known to exist, so most commands skip the check (they are never removed).
        self.known_workspaces: set[str] = set()
        # What each feature (and an adapter's own store) exports and forgets of a person.
        self.privacy = PrivacyRegistry()
        self.privacy.register(command_inbox.HOOKS)  # the commands run_in_context records

    def start_warm_ups(self, session_factory: Callable[[], Session]) -> threading.Thread:
        """Run every warm-up, one after another, in a background thread (returned)."""

        def run() -> None:
            for warm_up in self.warm_ups:
                try:
                    warm_up(session_factory)
                except Exception:
                    logger.exception("a warm-up failed; its work is done on first use")

        thread = threading.Thread(target=run, name="warm-ups", daemon=True)
        thread.start()
        return thread

    def register_outbox(
        self,
        prefix: str,
        *,
        recorder: Recorder,
        refresher: Refresher,
        renderer: Renderer | None = None,
    ) -> None:
        """Keys "prefix:..." are rendered for their queued post, recorded once posted, and
        refreshed in place by these functions."""
        self._recorders[prefix] = recorder
        self._refreshers[prefix] = refresher
        if renderer is not None:
            self._renderers[prefix] = renderer

    def render(self, ctx: CommandContext, key: str) -> QueuedPost | None:
        return self._renderers[key.split(":", 1)[0]](ctx, key)

    def record(self, ctx: CommandContext, key: str, posted: PostedMessage) -> None:
        self._recorders[key.split(":", 1)[0]](ctx, key, posted)

    def refresh(self, ctx: CommandContext, key: str) -> tuple[PostedMessage, Reply] | None:
        return self._refreshers[key.split(":", 1)[0]](ctx, key)

    def register(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"command {command.name!r} registered twice")
        self._commands[command.name] = command

    def register_message_action(self, action: MessageAction) -> None:
        """Offer a registered action in every message's menu (see MessageAction)."""
        self._message_actions[action.action_id] = action

    def message_actions(self) -> list[MessageAction]:
        return list(self._message_actions.values())

    def register_action(self, action_id: str, handler: ActionHandler) -> None:
        """A button: `action_id` is the button's id; the handler gets its value."""
        self._actions[action_id] = handler

    def register_form(self, callback_id: str, handler: FormHandler) -> None:
        """A form's submission: the handler gets the field values and the form's metadata."""
        self._forms[callback_id] = handler

    def register_field_check(self, callback_id: str, field_name: str, check: FieldCheck) -> None:
        """Check a form's field as soon as it is typed, where the adapter asks field by
        field (the console); the check gets the value and the form's metadata."""
        self._field_checks[(callback_id, field_name)] = check

    def has_field_check(self, callback_id: str, field_name: str) -> bool:
        return (callback_id, field_name) in self._field_checks

    def check_field(
        self, ctx: CommandContext, callback_id: str, field_name: str, value: str, metadata: str
    ) -> str | None:
        check = self._field_checks.get((callback_id, field_name))
        return None if check is None else check(ctx, clean_field(value), metadata)

    def action_ids(self) -> list[str]:
        return list(self._actions)

    def form_ids(self) -> list[str]:
        return list(self._forms)

    def dispatch_action(self, ctx: CommandContext, action_id: str, value: str) -> Reply:
        handler = self._actions.get(action_id)
        if handler is None:
            raise Invalid("That button no longer does anything; try the command again.")
        return handler(ctx, value)

    def dispatch_form(
        self, ctx: CommandContext, callback_id: str, values: dict[str, str], metadata: str
    ) -> Reply:
        handler = self._forms.get(callback_id)
        if handler is None:
            raise Invalid("That form has expired; open it again.")
        cleaned = {name: clean_field(value) for name, value in values.items()}
        refused = {
            name: CONTROL_MESSAGE
            for name, value in cleaned.items()
            if has_control_characters(value)
        }
        if refused:
            raise Invalid(field_errors=refused)
        return handler(ctx, cleaned, metadata)

    def commands(self) -> list[Command]:
        return list(self._commands.values())

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def answered_at_once(self, name: str, args: str) -> bool:
        """Whether `/name args` only reads and answers its caller (see Command)."""
        command = self._commands.get(name)
        return bool(command and command.answered_at_once and command.answered_at_once(args))

    def dispatch(self, ctx: CommandContext, name: str, args: str) -> Reply:
        command = self._commands.get(name.lower())
        if command is None:
            known = ", ".join(f"/{c}" for c in sorted(self._commands))
            raise Invalid(f"There is no /{name} command here. Try one of: {known}.")
        # A command typed wrong is told its usage line, however deep the refusal came from.
        with usage_line(command.usage):
            return command.handler(ctx, clean_arguments(args, command.usage))


def _first_word(value: str) -> tuple[str, str]:
    """Split at the first whitespace of any kind: Teams may send "jargon⏎CAC" or an em space."""
    first, *rest = re.split(r"\s", value, maxsplit=1)
    return first, rest[0].strip() if rest else ""


def parse_line(line: str) -> tuple[str, str]:
    """Split "/jargon CAC" or "jargon CAC" into ("jargon", "CAC")."""
    name, args = _first_word(strip_invisible(line).strip().lstrip("/"))
    return name.lower(), args


def split_first(args: str) -> tuple[str, str]:
    """The first word (lower-cased) and the rest, for sub-commands."""
    first, rest = _first_word(args.strip())
    return first.lower(), rest


def clean_arguments(args: str, usage: str) -> str:
    """Refuse text no person types (control characters, huge pastes) with a clear message;
    drop invisible direction and zero-width characters (see bot.textinput)."""
    args = strip_invisible(args)
    if len(args) > MAX_COMMAND_LENGTH:
        raise Invalid(
            f"That is {len(args):,} characters; commands take at most {MAX_COMMAND_LENGTH:,}.",
            usage,
        )
    if has_control_characters(args):
        raise Invalid(CONTROL_MESSAGE, usage)
    return unicodedata.normalize("NFC", args.strip())


def prepare_workspace(ctx: CommandContext, router: CommandRouter) -> None:
    """Create the caller's workspace on its first visit and let features seed it."""
    if ctx.workspace_id in router.known_workspaces:
        return
    created = workspaces.ensure_workspace(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        platform=ctx.caller.platform,
        timezone=ctx.default_timezone,
    )
    if created:
        for hook in router.new_workspace_hooks:
            hook(ctx)


@dataclass(frozen=True)
class RequestScope:
    """One request as its adapter established it: what every unit of work runs with.

    Built once per request; the adapter passes it to run_command, run_action, run_form,
    run_in_context and run_refresh, and replaces its caller once the platform says
    whether they are an admin (see AdminCheckNeeded).
    """

    session_factory: sessionmaker[Session]
    router: CommandRouter
    caller: Caller
    now: datetime
    default_timezone: str
    channel_ref: str | None = None
    resolve_channel: ChannelResolver = no_channel_mentions
    resolve_user: UserResolver = people_as_picked
    typed_where_others_see: bool = False  # see CommandContext
    # Run on the event loop from what is in memory, or raise NeedsDatabase (a warm
    # lookup needs no database: see handlers.slack.lookups_in_ack).
    memory_only: bool = False

    @property
    def workspace_id(self) -> str:
        return self.caller.workspace_id

    def with_admin_answer(self, is_admin: bool | None) -> RequestScope:
        """This scope with the platform's answer (None: it did not answer)."""
        return replace(self, caller=self.caller.with_admin_answer(is_admin))


def run_in_context(
    scope: RequestScope,
    work: Callable[[CommandContext], T],
    *,
    label: str,
    once_key: str | None = None,
    inbox_id: int | None = None,
) -> T | Reply:
    """Run `work` in its own transaction and return the reply to show.

    With `once_key` (a platform's id for the request), a request already handled by any
    instance raises RepeatedRequest; the key is stored in the same transaction, so it
    counts as handled exactly when its work is committed. With `inbox_id` (a command
    stored before its acknowledgement, see bot.services.command_inbox) the same holds
    for its inbox row, marked done before the work so the work may delete it (forget-me).

    A DomainError (bot.errors) rolls the transaction back and becomes an error reply,
    mapped here and nowhere else (an Invalid with field errors propagates, for the
    adapter to show each next to its field); AdminCheckNeeded rolls it back and
    propagates, for the adapter to ask the platform and run the request again; any other
    exception propagates to the adapter's single error path.
    """
    router = scope.router
    try:
        with _session(scope) as session, session.begin():
            ctx = CommandContext(
                session=session,
                caller=scope.caller,
                now=scope.now,
                default_timezone=scope.default_timezone,
                channel_ref=scope.channel_ref,
                resolve_channel=scope.resolve_channel,
                resolve_user=scope.resolve_user,
                posting_limits=router.posting_limits,
                typed_where_others_see=scope.typed_where_others_see,
            )
            if once_key is not None and not dedupe.first_time(
                session=session, key=once_key, now=scope.now
            ):
                raise RepeatedRequest(label)
            if inbox_id is not None and not command_inbox.finish(
                session=session, command_id=inbox_id, now=scope.now
            ):
                raise RepeatedRequest(label)
            prepare_workspace(ctx, router)
            result = work(ctx)
        # Committed: the workspace surely exists now, so later commands skip the check.
        router.known_workspaces.add(scope.workspace_id)
        return result
    except DomainError as exc:
        if isinstance(exc, Invalid) and exc.field_errors:
            raise
        logger.info("refused: %s (%s)", label, type(exc).__name__)
        return refusal(exc)


def _session(scope: RequestScope) -> Session:
    if scope.memory_only:
        return _memory_only_session(scope.session_factory)
    return scope.session_factory()


def refusal(error: DomainError) -> Reply:
    """The reply to every refusal: its message, and under it the usage line if it has one."""
    return replies.error(error.text, error.usage)


def run_command(
    scope: RequestScope,
    name: str,
    args: str,
    *,
    once_key: str | None = None,
    inbox_id: int | None = None,
) -> Reply:
    """Run `/name args`; see run_in_context for `once_key` and `inbox_id`."""
    return run_in_context(
        scope,
        lambda ctx: scope.router.dispatch(ctx, name, args),
        label=f"/{name}",
        once_key=once_key,
        inbox_id=inbox_id,
    )


def run_action(
    scope: RequestScope, action_id: str, value: str, *, once_key: str | None = None
) -> Reply:
    """Run the handler of a clicked button."""
    return run_in_context(
        scope,
        lambda ctx: scope.router.dispatch_action(ctx, action_id, value),
        label=f"button {action_id}",
        once_key=once_key,
    )


def run_form(
    scope: RequestScope,
    callback_id: str,
    values: dict[str, str],
    metadata: str,
    *,
    once_key: str | None = None,
) -> Reply:
    """Run a form's submission; raises FormInvalid when fields need correcting."""
    return run_in_context(
        scope,
        lambda ctx: scope.router.dispatch_form(ctx, callback_id, values, metadata),
        label=f"form {callback_id}",
        once_key=once_key,
    )


def run_field_check(
    scope: RequestScope, callback_id: str, field_name: str, value: str, metadata: str
) -> str | None:
    """The problem with one field's value, checked before the rest of the form; None if fine."""
    result = run_in_context(
        scope,
        lambda ctx: scope.router.check_field(ctx, callback_id, field_name, value, metadata),
        label=f"check {callback_id}.{field_name}",
    )
    return plain_text_of(result) if isinstance(result, Reply) else result


def plain_text_of(reply: Reply) -> str:
    """A refusal's message as one line (its first block)."""
    return reply.fallback.splitlines()[0] if reply.fallback else ""


def delivery_context(
    *, session: Session, workspace_id: str, now: datetime, default_timezone: str
) -> CommandContext:
    """The context for outbox hooks run by a delivery: no person is asking."""
    return CommandContext(
        session=session,
        caller=Caller(workspace_id=workspace_id, user_ref="", platform=""),
        now=now,
        default_timezone=default_timezone,
    )


def run_refresh(scope: RequestScope, key: str) -> tuple[PostedMessage, Reply] | None:
    """The current rendering of an outbox item and where its message is, or None."""
    result = run_in_context(
        scope, lambda ctx: scope.router.refresh(ctx, key), label=f"refresh {key}"
    )
    return None if isinstance(result, Reply) else result
