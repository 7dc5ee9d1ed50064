"""The console adapter: the same commands in a terminal, scheduled messages printed as they fire."""

from __future__ import annotations

import asyncio
import getpass
import logging
import re
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.commands.home import HOME_CONVERSATION, build_home
from bot.deps import Deps
from bot.models import Person
from bot.replies import (
    Block,
    Button,
    Buttons,
    Divider,
    Fields,
    Form,
    Heading,
    Note,
    Outgoing,
    Paragraph,
    Reply,
    SpanKind,
    Text,
    Visibility,
)
from bot.router import (
    Caller,
    RequestScope,
    parse_line,
    run_action,
    run_command,
    run_field_check,
    run_form,
    run_in_context,
    run_refresh,
)
from bot.services import workspaces
from handlers.console_clock import ConsoleClock
from handlers.console_files import save_file
from handlers.console_forms import FormFiller
from handlers.console_lock import SchedulerLock
from handlers.console_people import ConsolePerson, Delivered, Roster
from schedules import Scheduler, create_scheduler
from schedules.jobs import run_tick

logger = logging.getLogger(__name__)

CONSOLE_WORKSPACE = "console"
PROMPT = "bridgebot> "
BANNER = (
    "bridgebot console: type commands as you would in Slack (/bridge help, /bridge side it).\n"
    "Type a button's number to click it, and `home` for your home view.\n"
    "Be someone else with `:as NAME`, move time on with `:advance 1d`; `:help` lists these.\n"
    "Scheduled messages appear here as they fire. Ctrl-D, Ctrl-C or 'quit' to leave."
)
HELP_WORDS = {"help", "/help", "?"}
SECOND_CONSOLE = (
    "! Another console is running on this database and delivers its scheduled messages "
    "(stand-ups, digests, pulses, posts); they appear there, not here. Close it to see them here."
)


def render_text(value: Text) -> str:
    parts = []
    for span in value:
        if span.kind is SpanKind.USER:
            parts.append(f"@{span.text}")
        elif span.kind is SpanKind.CHANNEL:
            parts.append(f"#{span.text}")
        elif span.kind is SpanKind.LINK:
            parts.append(span.text if span.text == span.url else f"{span.text} ({span.url})")
        else:
            parts.append(span.text)
    return "".join(parts)


def render_block(block: Block, numbering: list[Button]) -> str:
    if isinstance(block, Heading):
        return f"== {block.text} =="
    if isinstance(block, Paragraph):
        return render_text(block.text)
    if isinstance(block, Fields):
        return "\n".join(f"{label}: {render_text(value)}" for label, value in block.items)
    if isinstance(block, Note):
        return f"  ({render_text(block.text)})"
    if isinstance(block, Divider):
        return "-" * 40
    if isinstance(block, Buttons):
        # Buttons are numbered across the whole reply; typing the number clicks one.
        labels = []
        for button in block.buttons:
            numbering.append(button)
            labels.append(f"[{len(numbering)}] {button.label}")
        return "  ".join(labels)
    raise TypeError(f"cannot render {block!r}")


def render_reply(reply: Reply, numbering: list[Button] | None = None) -> str:
    """The reply as plain text; its buttons are appended to `numbering` in order."""
    buttons = numbering if numbering is not None else []
    body = "\n".join(render_block(block, buttons) for block in reply.blocks)
    return f"! {body}" if reply.is_error else body


def resolve_channel(value: str) -> str | None:
    name = value.strip().lstrip("#")
    return name if name and " " not in name else None


def show_delivered(
    output: TextIO, label: str, reply: Reply, files_dir: Path, numbering: list[Button]
) -> None:
    """Print a message that reached someone, saving its files; its buttons join `numbering`."""
    output.write(f"\n[{label}]\n{render_reply(reply, numbering)}\n")
    for attachment in reply.attachments:
        path = save_file(files_dir, attachment.filename, attachment.content)
        output.write(f"  (file saved: {path})\n")
    output.flush()


class ConsoleNotifier:
    """Prints channel posts for whoever is at the keyboard; a direct message only for its
    recipient: someone else's waits in their inbox until the console acts as them."""

    def __init__(
        self,
        output: TextIO,
        roster: Roster | None = None,
        files_dir: Path = Path("bridgebot-files"),
        clock: ConsoleClock | None = None,
    ) -> None:
        self._output = output
        self._roster = roster
        self._files_dir = files_dir
        self._clock = clock
        # While :advance runs, each message says when it fired.
        self.stamp_zone: ZoneInfo | None = None
        self._posted = 0

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        self._posted += 1
        recipient = self._roster.get(conversation_ref) if self._roster is not None else None
        if recipient is not None and self._roster is not None:
            if recipient is self._roster.current:
                self._show(recipient, "direct message to you", reply)
            else:
                recipient.inbox.append(Delivered(self._stamped("direct message"), reply))
                self._output.write(
                    f"\n[a message for @{recipient.user_ref}: "
                    f"`:as {recipient.user_ref}` to read it]\n"
                )
                self._output.flush()
        else:
            current = self._roster.current if self._roster is not None else None
            self._show(current, f"posted to {conversation_ref}", reply)
        # A reference of its own, so the message can be updated later (a Celebrate click).
        return f"console-{self._posted}"

    async def update(
        self, workspace_id: str, conversation_ref: str, message_ref: str, reply: Reply
    ) -> None:
        """A terminal cannot change what it printed: the message is shown again, updated,
        to whoever could see it (a direct message's recipient: in their inbox)."""
        recipient = self._roster.get(conversation_ref) if self._roster is not None else None
        if recipient is not None and self._roster is not None:
            if recipient is self._roster.current:
                self._show(recipient, "updated: direct message to you", reply)
            else:
                recipient.inbox.append(Delivered(self._stamped("updated: direct message"), reply))
            return
        current = self._roster.current if self._roster is not None else None
        self._show(current, f"updated: posted to {conversation_ref}", reply)

    def _show(self, person: ConsolePerson | None, label: str, reply: Reply) -> None:
        numbering: list[Button] = []
        show_delivered(self._output, self._stamped(label), reply, self._files_dir, numbering)
        if person is not None and numbering:
            person.buttons[:] = numbering

    def _stamped(self, label: str) -> str:
        if self.stamp_zone is None or self._clock is None:
            return label
        return f"{self._clock().astimezone(self.stamp_zone):%a %d %b %H:%M} · {label}"


def _settle(future: asyncio.Future[str], line: str) -> None:
    if not future.done():  # not cancelled by Ctrl-C meanwhile
        future.set_result(line)


def read_line_in_background(stream: TextIO) -> asyncio.Future[str]:
    """The next line of `stream`, read by a daemon thread: Ctrl-C or the end of the
    console never waits for a line nobody will type (an executor thread would)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def read() -> None:
        try:
            line = stream.readline()
        except (OSError, ValueError):  # the stream was closed meanwhile: input ended
            line = ""
        if not loop.is_closed():
            loop.call_soon_threadsafe(_settle, future, line)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return future


class ConsoleSession:
    """The people at the terminal: runs commands as whoever is at the keyboard, clicks
    their numbered buttons, fills forms; the console's own `:` commands move between
    people and through time (handlers.console_meta)."""

    def __init__(
        self,
        deps: Deps,
        scheduler: Scheduler,
        input_stream: TextIO,
        output: TextIO,
        roster: Roster,
        clock: ConsoleClock,
        notifier: ConsoleNotifier,
        *,
        owns_scheduler: bool = True,
    ) -> None:
        self.deps = deps
        self.scheduler = scheduler
        self.input = input_stream
        self.output = output
        self.roster = roster
        self.clock = clock
        self.notifier = notifier
        # False when another console on this database delivers the scheduled messages.
        self.owns_scheduler = owns_scheduler
        self.interactive = input_stream.isatty()

    @property
    def caller(self) -> Caller:
        person = self.roster.current
        return Caller(
            workspace_id=CONSOLE_WORKSPACE,
            user_ref=person.user_ref,
            platform="console",
            is_admin=person.is_admin,
        )

    @property
    def buttons(self) -> list[Button]:
        """The buttons of the last message the person at the keyboard saw."""
        return self.roster.current.buttons

    @property
    def files_dir(self) -> Path:
        return self.deps.settings.bridgebot_files_dir

    def zone(self) -> ZoneInfo:
        """The console workspace's time zone (the default one before its first command)."""
        with self.deps.session_factory() as session:
            try:
                name = workspaces.get_workspace(
                    session=session, workspace_id=CONSOLE_WORKSPACE
                ).timezone
            except LookupError:  # no workspace yet: the default zone
                name = self.deps.settings.bridgebot_timezone
        return ZoneInfo(name)

    def now_text(self, moment: datetime | None = None) -> str:
        zone = self.zone()
        moment = (moment or self.clock()).astimezone(zone)
        return f"{moment:%A %d %B %Y, %H:%M} ({zone.key})"

    def scope(self) -> RequestScope:
        return RequestScope(
            session_factory=self.deps.session_factory,
            router=self.deps.router,
            caller=self.caller,
            now=self.clock(),
            default_timezone=self.deps.settings.bridgebot_timezone,
            channel_ref=CONSOLE_WORKSPACE,
            resolve_channel=resolve_channel,
            resolve_user=self.resolve_person,
        )

    def resolve_person(self, value: str) -> str | None:
        """Someone typed in a form ("@ann" or "ann"): a person this console knows."""
        person = self.roster.get(value.strip().removeprefix("@"))
        return person.user_ref if person is not None else None

    async def read_line(self, prompt: str) -> str | None:
        if self.interactive:
            self.output.write(prompt)
            self.output.flush()
        line = await read_line_in_background(self.input)
        return line.rstrip("\n") if line else None

    async def read_answer(self, prompt: str, *, multiline: bool) -> str | None:
        """One line; for a multi-line field, more while a line ends with a backslash."""
        lines: list[str] = []
        while (line := await self.read_line(prompt if not lines else "... ")) is not None:
            line = line.strip()
            if not (multiline and line.endswith("\\")):
                return "\n".join([*lines, line]).strip()
            lines.append(line.removesuffix("\\").rstrip())
        return None

    def write(self, value: str) -> None:
        self.output.write(value + "\n")
        self.output.flush()

    async def handle_line(self, line: str) -> None:
        if re.fullmatch(r"-?[0-9]+", line):  # "-1" is a mistyped button, not a command
            await self.click(int(line))
            return
        if line.startswith(":"):
            from handlers.console_meta import run_meta  # it builds on this module

            await run_meta(self, line)
            return
        if line.lower() in HELP_WORDS:
            line = "/bridge help"
        if line.lstrip("/") == "home":
            reply = await asyncio.to_thread(run_in_context, self.scope(), build_home, label="home")
            await self.show(reply)
            return
        name, args = parse_line(line)
        reply = await asyncio.to_thread(run_command, self.scope(), name, args)
        await self.show(reply)

    async def click(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self.write("! There is no button with that number on the last reply.")
            return
        button = self.buttons[number - 1]
        reply = await asyncio.to_thread(run_action, self.scope(), button.action_id, button.value)
        await self.show(reply)

    async def show(self, reply: Reply) -> None:
        if reply.form is not None:
            await self.fill(reply.form)
            return
        self.buttons.clear()
        prefix = "[posted to the channel]\n" if reply.visibility is Visibility.CHANNEL else ""
        self.write(prefix + render_reply(reply, self.buttons))
        for attachment in reply.attachments:
            path = save_file(self.files_dir, attachment.filename, attachment.content)
            self.write(f"  (file saved: {path})")
        for outgoing in reply.outbox:
            await self.show_update(outgoing)
        if reply.wake_scheduler:
            await self.deliver_due()

    async def deliver_due(self) -> None:
        """Deliver what the command queued before the next line is read, so a post
        appears under its command and its buttons can be typed at once."""
        if not self.owns_scheduler:
            return  # the console that owns the scheduler delivers it
        await run_tick(self.scheduler)
        # A scheduled tick may have claimed the work first: let it finish printing.
        while self.scheduler.jobs_in_progress > 0:
            await asyncio.sleep(0.01)

    async def show_update(self, outgoing: Outgoing) -> None:
        """Print an item's message as updated; its buttons become clickable."""
        fresh = await asyncio.to_thread(run_refresh, self.scope(), outgoing.refresh_key)
        if fresh is not None:
            where, message = fresh
            self.buttons.clear()
            place = (
                "home" if where.conversation_ref == HOME_CONVERSATION else where.conversation_ref
            )
            self.write(f"[updated: {place}]\n" + render_reply(message, self.buttons))

    async def fill(self, form: Form) -> None:
        """Ask for each field in turn (see handlers/console_forms.py), then show the reply."""

        async def submit(values: dict[str, str]) -> Reply:
            return await asyncio.to_thread(
                run_form, self.scope(), form.callback_id, values, form.metadata
            )

        async def check(name: str, value: str) -> str | None:
            if not self.deps.router.has_field_check(form.callback_id, name):
                return None
            return await asyncio.to_thread(
                run_field_check, self.scope(), form.callback_id, name, value, form.metadata
            )

        async def ask(prompt: str, multiline: bool) -> str | None:
            return await self.read_answer(prompt, multiline=multiline)

        filler = FormFiller(
            form,
            ask=ask,
            write=self.write,
            submit=submit,
            check=check,
            resolve_channel=resolve_channel,
        )
        reply = await filler.run()
        if reply is not None:
            await self.show(reply)


async def run_console(
    deps: Deps, *, input_stream: TextIO, output: TextIO, user_ref: str | None = None
) -> None:
    """Read commands until end of input, printing each reply.

    The person the console starts as (`user_ref`, else the login name) is an admin;
    everyone already in the console workspace can be acted as with `:as`.
    """
    clock = ConsoleClock(deps.clock)
    deps = replace(deps, clock=clock)  # commands, the scheduler and `:advance` share it
    roster = Roster(user_ref or getpass.getuser(), frozenset(deps.settings.bridgebot_admins))
    for known in await asyncio.to_thread(people_of_console, deps):
        roster.add(known)
    notifier = ConsoleNotifier(output, roster, deps.settings.bridgebot_files_dir, clock)
    scheduler = create_scheduler(deps, notifier)
    lock = await asyncio.to_thread(SchedulerLock, deps.engine)
    console = ConsoleSession(
        deps, scheduler, input_stream, output, roster, clock, notifier, owns_scheduler=lock.held
    )
    if lock.held:
        scheduler.start()
    if console.interactive:
        output.write(BANNER + "\n")
    if not lock.held:
        console.write(SECOND_CONSOLE)
    try:
        while True:
            line = await console.read_line(PROMPT)
            if line is None:
                break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line in {"quit", "exit"}:
                break
            await console.handle_line(line)
    finally:
        await scheduler.stop()
        lock.release()


def people_of_console(deps: Deps) -> list[str]:
    """Everyone bridgebot knows in the console workspace."""
    with deps.session_factory() as session:
        return list(
            session.execute(
                select(Person.user_ref).where(Person.workspace_id == CONSOLE_WORKSPACE)
            ).scalars()
        )
