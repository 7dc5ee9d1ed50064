"""The console adapter: the same commands in a terminal, scheduled messages printed as they fire."""

from __future__ import annotations

import asyncio
import getpass
import logging
from typing import TextIO

from bot.deps import Deps
from bot.replies import (
    Block,
    Buttons,
    Divider,
    Fields,
    Heading,
    Note,
    Paragraph,
    Reply,
    SpanKind,
    Text,
)
from bot.router import Caller, parse_line, run_command
from schedules import create_scheduler

logger = logging.getLogger(__name__)

CONSOLE_WORKSPACE = "console"
PROMPT = "bridgebot> "
BANNER = (
    "bridgebot console: type commands as you would in Slack (/bridge help, /bridge side it).\n"
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
            parts.append(f"{span.text} ({span.url})")
        else:
            parts.append(span.text)
    return "".join(parts)


def render_block(block: Block) -> str:
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
        return "  ".join(f"[{n}] {b.label}" for n, b in enumerate(block.buttons, start=1))
    raise TypeError(f"cannot render {block!r}")


def render_reply(reply: Reply) -> str:
    body = "\n".join(render_block(block) for block in reply.blocks)
    return f"! {body}" if reply.is_error else body


def resolve_channel(value: str) -> str | None:
    name = value.strip().lstrip("#")
    return name if name and " " not in name else None


class ConsoleNotifier:
    """Prints scheduled messages where the console user sees them."""

    def __init__(self, output: TextIO) -> None:
        self._output = output

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        self._output.write(f"\n[scheduled → {conversation_ref}]\n{render_reply(reply)}\n")
        self._output.flush()
        return None


async def run_console(
    deps: Deps, *, input_stream: TextIO, output: TextIO, user_ref: str | None = None
) -> None:
    """Read commands until end of input, printing each reply."""
    deps.notifier = ConsoleNotifier(output)
    interactive = input_stream.isatty()
    caller = Caller(
        workspace_id=CONSOLE_WORKSPACE,
        user_ref=user_ref or getpass.getuser(),
        platform="console",
        is_admin=True,  # the person at the terminal runs this bridgebot
    )
    scheduler = create_scheduler(deps)
    scheduler.start()
    if interactive:
        output.write(BANNER + "\n")
    try:
        while True:
            if interactive:
                output.write(PROMPT)
                output.flush()
            line = await asyncio.to_thread(input_stream.readline)
            if not line:
                break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line in {"quit", "exit"}:
                break
            name, args = parse_line(line)
            reply = await asyncio.to_thread(
                run_command,
                session_factory=deps.session_factory,
                router=deps.router,
                caller=caller,
                name=name,
                args=args,
                now=deps.clock(),
                default_timezone=deps.settings.bridgebot_timezone,
                channel_ref=CONSOLE_WORKSPACE,
                resolve_channel=resolve_channel,
            )
            output.write(render_reply(reply) + "\n")
            output.flush()
    finally:
        scheduler.shutdown(wait=False)
