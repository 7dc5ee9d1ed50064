"""The console adapter: the same commands in a terminal, scheduled messages printed as they fire."""

from __future__ import annotations

import asyncio
import getpass
import logging
import re
from pathlib import Path
from typing import TextIO

from bot.commands.home import HOME_CONVERSATION, build_home
from bot.deps import Deps
from bot.replies import (
    Block,
    Button,
    Buttons,
    Divider,
    FieldKind,
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
    FormInvalid,
    RequestScope,
    parse_line,
    run_action,
    run_command,
    run_form,
    run_in_context,
    run_refresh,
)
from schedules import Scheduler, create_scheduler
from schedules.jobs import run_tick

logger = logging.getLogger(__name__)

CONSOLE_WORKSPACE = "console"
PROMPT = "bridgebot> "
CLEAR = "-"  # answered to an optional form field: empty it (Enter keeps its value)
BANNER = (
    "bridgebot console: type commands as you would in Slack (/bridge help, /bridge side it).\n"
    "Type a button's number to click it, and `home` for your home view.\n"
    "Scheduled messages appear here as they fire. Ctrl-D or 'quit' to leave."
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


class ConsoleNotifier:
    """Prints posted messages where the console user sees them; their buttons work."""

    def __init__(self, output: TextIO, buttons: list[Button] | None = None) -> None:
        self._output = output
        # The console session's clickable buttons: a posted message's replace them.
        self._buttons = buttons
        self._posted = 0

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        numbering: list[Button] = []
        self._posted += 1
        self._output.write(f"\n[posted to {conversation_ref}]\n{render_reply(reply, numbering)}\n")
        if self._buttons is not None and numbering:
            self._buttons[:] = numbering
        for attachment in reply.attachments:
            path = Path(attachment.filename).resolve()
            path.write_bytes(attachment.content)
            self._output.write(f"  (file saved: {path})\n")
        self._output.flush()
        # A reference of its own, so the message can be updated later (a Celebrate click).
        return f"console-{self._posted}"


class ConsoleSession:
    """One person at the terminal: runs commands, clicks numbered buttons, fills forms."""

    def __init__(
        self,
        deps: Deps,
        scheduler: Scheduler,
        input_stream: TextIO,
        output: TextIO,
        caller: Caller,
        buttons: list[Button],
    ) -> None:
        self.deps = deps
        self.scheduler = scheduler
        self.input = input_stream
        self.output = output
        self.caller = caller
        self.interactive = input_stream.isatty()
        # The last reply's clickable buttons, shared with the notifier (a post replaces them).
        self.buttons = buttons

    def _scope(self) -> RequestScope:
        return RequestScope(
            session_factory=self.deps.session_factory,
            router=self.deps.router,
            caller=self.caller,
            now=self.deps.clock(),
            default_timezone=self.deps.settings.bridgebot_timezone,
            channel_ref=CONSOLE_WORKSPACE,
            resolve_channel=resolve_channel,
        )

    async def read_line(self, prompt: str) -> str | None:
        if self.interactive:
            self.output.write(prompt)
            self.output.flush()
        line = await asyncio.to_thread(self.input.readline)
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
        if line.lstrip("/") == "home":
            reply = await asyncio.to_thread(run_in_context, self._scope(), build_home, label="home")
            await self.show(reply)
            return
        name, args = parse_line(line)
        reply = await asyncio.to_thread(run_command, self._scope(), name, args)
        await self.show(reply)

    async def click(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self.write("! There is no button with that number on the last reply.")
            return
        button = self.buttons[number - 1]
        reply = await asyncio.to_thread(run_action, self._scope(), button.action_id, button.value)
        await self.show(reply)

    async def show(self, reply: Reply) -> None:
        if reply.form is not None:
            await self.fill(reply.form)
            return
        self.buttons.clear()
        prefix = "[posted to the channel]\n" if reply.visibility is Visibility.CHANNEL else ""
        self.write(prefix + render_reply(reply, self.buttons))
        for attachment in reply.attachments:
            path = Path(attachment.filename).resolve()
            path.write_bytes(attachment.content)
            self.write(f"  (file saved: {path})")
        for outgoing in reply.outbox:
            await self.show_update(outgoing)
        if reply.wake_scheduler:
            await self.deliver_due()

    async def deliver_due(self) -> None:
        """Deliver what the command queued before the next line is read, so a post
        appears under its command and its buttons can be typed at once."""
        await run_tick(self.scheduler)
        # A scheduled tick may have claimed the work first: let it finish printing.
        while self.scheduler.jobs_in_progress > 0:
            await asyncio.sleep(0.01)

    async def show_update(self, outgoing: Outgoing) -> None:
        """Print an item's message as updated; its buttons become clickable."""
        fresh = await asyncio.to_thread(run_refresh, self._scope(), outgoing.refresh_key)
        if fresh is not None:
            where, message = fresh
            self.buttons.clear()
            place = (
                "home" if where.conversation_ref == HOME_CONVERSATION else where.conversation_ref
            )
            self.write(f"[updated: {place}]\n" + render_reply(message, self.buttons))

    async def fill(self, form: Form) -> None:
        """Ask for each field in turn; an empty answer keeps the value shown in brackets,
        a lone "-" empties an optional field."""
        self.write(
            f"== {form.title} == (press Enter to keep the value in brackets, "
            f"{CLEAR!r} to empty an optional field)"
        )
        values: dict[str, str] = {}
        for field in form.fields:
            if field.is_choice:
                choices = ", ".join(value for value, _ in field.options)
                several = " (comma-separated)" if field.kind is FieldKind.MULTI_SELECT else ""
                prompt = f"{field.label}{several} ({choices}) [{field.initial}]: "
            else:
                more = " (end a line with \\ to add another)" if field.multiline else ""
                initial = field.initial.replace("\n", " / ")
                prompt = f"{field.label}{more}{f' [{initial}]' if initial else ''}: "
            answer = await self.read_answer(prompt, multiline=field.multiline)
            if answer is None:
                self.write("! Input ended before the form was complete; nothing was saved.")
                return
            if field.kind is FieldKind.CHANNEL and answer:
                answer = resolve_channel(answer) or answer
            cleared = answer == CLEAR and field.optional
            values[field.name] = "" if cleared else answer or field.initial
        try:
            reply = await asyncio.to_thread(
                run_form, self._scope(), form.callback_id, values, form.metadata
            )
        except FormInvalid as exc:
            problems = "\n".join(
                f"  {name}: {message}" for name, message in exc.field_errors.items()
            )
            self.write(f"! Nothing was saved:\n{problems}")
            return
        await self.show(reply)


async def run_console(
    deps: Deps, *, input_stream: TextIO, output: TextIO, user_ref: str | None = None
) -> None:
    """Read commands until end of input, printing each reply."""
    caller = Caller(
        workspace_id=CONSOLE_WORKSPACE,
        user_ref=user_ref or getpass.getuser(),
        platform="console",
        is_admin=True,  # the person at the terminal runs this bridgebot
    )
    buttons: list[Button] = []
    scheduler = create_scheduler(deps, ConsoleNotifier(output, buttons))
    console = ConsoleSession(deps, scheduler, input_stream, output, caller, buttons)
    scheduler.start()
    if console.interactive:
        output.write(BANNER + "\n")
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
