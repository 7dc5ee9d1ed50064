"""Neutral replies rendered as Slack Block Kit, with every piece of text escaped."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from bot.replies import (
    Block,
    Buttons,
    ButtonStyle,
    Divider,
    FieldKind,
    Fields,
    Form,
    FormField,
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
ACTION_SUFFIX = ":"
FALLBACK_LIMIT = 3000
_LINK_BREAKERS = re.compile(r"[|\s\x00-\x1f\x7f-\x9f]")


def escape(value: str) -> str:
    """Slack's three control characters; after this no typed text can mention or link."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_target(url: str) -> str:
    """The URL as Slack's <url|label> takes it: a | or a space in it would end the address
    and start a label of the writer's choosing, so they are percent-encoded."""
    return escape(_LINK_BREAKERS.sub(lambda m: quote(m.group(), safe=""), url))


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
            return f"<{link_target(span.url or '')}|{body}>"
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
        return {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": render_text(block.text)}],
        }
    if isinstance(block, Divider):
        return {"type": "divider"}
    if isinstance(block, Buttons):
        elements = []
        for position, button in enumerate(block.buttons[:25]):
            element: dict[str, Any] = {
                "type": "button",
                "text": _plain(button.label, BUTTON_LIMIT),
                # Slack wants action ids unique within a block; the suffix is stripped on click.
                "action_id": f"{button.action_id}{ACTION_SUFFIX}{position}",
                "value": button.value[:2000],
            }
            if button.style is not ButtonStyle.DEFAULT:
                element["style"] = button.style.value
            elements.append(element)
        return {"type": "actions", "elements": elements}
    raise TypeError(f"cannot render {block!r}")


def action_name(action_id: str) -> str:
    """The neutral action id of a clicked Slack button (without the position suffix)."""
    return action_id.split(ACTION_SUFFIX, 1)[0]


def render_blocks(reply: Reply) -> list[dict[str, Any]]:
    return [render_block(block) for block in reply.blocks]


def render_fallback(reply: Reply) -> str:
    """The notification text: Slack parses it as mrkdwn too, so it is escaped as well."""
    return _truncate(escape(reply.fallback), FALLBACK_LIMIT) or " "


def render_message(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage / respond()."""
    return {"text": render_fallback(reply), "blocks": render_blocks(reply)}


MODAL_TITLE_LIMIT = 24
INPUT_LIMIT = 3000


def render_modal(form: Form, private_metadata: str) -> dict[str, Any]:
    """A form as a Slack modal; each field's block_id is its name."""
    return {
        "type": "modal",
        "callback_id": form.callback_id,
        "title": _plain(form.title, MODAL_TITLE_LIMIT),
        "submit": _plain(form.submit_label, MODAL_TITLE_LIMIT),
        "close": _plain("Cancel", MODAL_TITLE_LIMIT),
        "private_metadata": private_metadata,
        "blocks": [_input_block(field) for field in form.fields],
    }


def _input_element(field: FormField) -> dict[str, Any]:
    initial = [part for part in field.initial.split(",") if part] if field.initial else []
    match field.kind:
        case FieldKind.SELECT | FieldKind.MULTI_SELECT:
            options = [
                {"text": _plain(label, BUTTON_LIMIT), "value": value}
                for value, label in field.options
            ]
            multi = field.kind is FieldKind.MULTI_SELECT
            element: dict[str, Any] = {
                "type": "multi_static_select" if multi else "static_select",
                "options": options,
            }
            chosen = [option for option in options if option["value"] in initial]
            if chosen:
                if multi:
                    element["initial_options"] = chosen
                else:
                    element["initial_option"] = chosen[0]
            return element
        case FieldKind.CHANNEL:
            element = {"type": "conversations_select", "filter": {"include": ["public", "private"]}}
            if initial:
                element["initial_conversation"] = initial[0]
            return element
        case FieldKind.USERS:
            element = {"type": "multi_users_select"}
            if initial:
                element["initial_users"] = initial
            return element
        case FieldKind.TIME:
            element = {"type": "timepicker"}
            if field.initial:
                element["initial_time"] = field.initial
            return element
    element = {
        "type": "plain_text_input",
        "multiline": field.multiline,
        "max_length": min(field.max_length, INPUT_LIMIT),
    }
    if field.initial:
        element["initial_value"] = field.initial[:INPUT_LIMIT]
    if field.placeholder:
        element["placeholder"] = _plain(field.placeholder, 150)
    return element


def _input_block(field: FormField) -> dict[str, Any]:
    element = _input_element(field) | {"action_id": "value"}
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.name,
        "optional": field.optional,
        "label": _plain(field.label, 2000),
        "element": element,
    }
    if field.hint:
        block["hint"] = _plain(field.hint, 2000)
    return block


def form_values(view_state: dict[str, Any]) -> dict[str, str]:
    """Field values from a submitted modal's state, by field name (lists comma-joined)."""
    values: dict[str, str] = {}
    for block_id, actions in view_state.get("values", {}).items():
        element = actions.get("value", {})
        kind = element.get("type")
        if kind == "static_select":
            values[block_id] = (element.get("selected_option") or {}).get("value", "")
        elif kind == "multi_static_select":
            values[block_id] = ",".join(o["value"] for o in element.get("selected_options") or [])
        elif kind == "conversations_select":
            values[block_id] = element.get("selected_conversation") or ""
        elif kind == "multi_users_select":
            values[block_id] = ",".join(element.get("selected_users") or [])
        elif kind == "timepicker":
            values[block_id] = element.get("selected_time") or ""
        else:
            values[block_id] = element.get("value") or ""
    return values
