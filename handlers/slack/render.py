"""Neutral replies rendered as Slack Block Kit, with every piece of text escaped."""

from __future__ import annotations

from typing import Any

from bot.replies import (
    Block,
    Buttons,
    ButtonStyle,
    Divider,
    Fields,
    Heading,
    Note,
    Paragraph,
    Reply,
    Span,
    SpanKind,
    Text,
)

# Block Kit limits (characters).
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
FIELD_LIMIT = 2000
BUTTON_LIMIT = 75
FALLBACK_LIMIT = 3000


def escape(value: str) -> str:
    """Slack's three control characters; after this no typed text can mention or link."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def render_span(span: Span) -> str:
    body = escape(span.text)
    match span.kind:
        case SpanKind.BOLD:
            return f"*{body}*" if body.strip() else body
        case SpanKind.ITALIC:
            return f"_{body}_" if body.strip() else body
        case SpanKind.CODE:
            return f"`{body}`" if body.strip() else body
        case SpanKind.USER:
            return f"<@{body}>"
        case SpanKind.CHANNEL:
            return f"<#{body}>"
        case SpanKind.LINK:
            return f"<{escape(span.url or '')}|{body}>"
    return body


def render_text(value: Text, limit: int = SECTION_LIMIT) -> str:
    return _truncate("".join(render_span(span) for span in value), limit)


def _plain(value: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _truncate(value, limit), "emoji": True}


def render_block(block: Block) -> dict[str, Any]:
    if isinstance(block, Heading):
        return {"type": "header", "text": _plain(block.text, HEADER_LIMIT)}
    if isinstance(block, Paragraph):
        return {"type": "section", "text": {"type": "mrkdwn", "text": render_text(block.text)}}
    if isinstance(block, Fields):
        return {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": _truncate(f"*{escape(label)}*\n{render_text(value)}", FIELD_LIMIT),
                }
                for label, value in block.items[:10]
            ],
        }
    if isinstance(block, Note):
        return {"type": "context", "elements": [{"type": "mrkdwn", "text": render_text(block.text)}]}
    if isinstance(block, Divider):
        return {"type": "divider"}
    if isinstance(block, Buttons):
        elements = []
        for button in block.buttons[:25]:
            element: dict[str, Any] = {
                "type": "button",
                "text": _plain(button.label, BUTTON_LIMIT),
                "action_id": button.action_id,
                "value": button.value,
            }
            if button.style is not ButtonStyle.DEFAULT:
                element["style"] = button.style.value
            elements.append(element)
        return {"type": "actions", "elements": elements}
    raise TypeError(f"cannot render {block!r}")


def render_blocks(reply: Reply) -> list[dict[str, Any]]:
    return [render_block(block) for block in reply.blocks]


def render_fallback(reply: Reply) -> str:
    """The notification text: Slack parses it as mrkdwn too, so it is escaped as well."""
    return _truncate(escape(reply.fallback), FALLBACK_LIMIT) or " "


def render_message(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage / respond()."""
    return {"text": render_fallback(reply), "blocks": render_blocks(reply)}
