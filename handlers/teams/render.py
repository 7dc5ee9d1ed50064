"""Neutral replies rendered as Teams Adaptive Cards, with every span kept literal.

All text goes into RichTextBlock TextRuns. Teams reads Markdown only in TextBlock and
FactSet, never in a TextRun, and cards here carry no mention entities, so nothing a
person typed can turn into formatting, a link or an @mention: `**x**`, `[a](b)` and
`<at>Bob</at>` are shown exactly as typed. Buttons are Action.Execute; their data names
the router action, its value and the channel the card belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

from bot.replies import (
    Block,
    Button,
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
from handlers.teams.size import fit_card

CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Verbs of our own (router actions use their action id as the verb).
FORM_VERB = "bridgebot.form"
CANCEL_VERB = "bridgebot.cancel"
# Inputs are merged into the action's data; the prefix keeps them apart from our keys.
INPUT_PREFIX = "in_"
LINK_SCHEMES = {"http", "https", "mailto"}
TITLE_LIMIT = 80
SUMMARY_LIMIT = 300
UNKNOWN_PERSON = "a teammate"
UNKNOWN_CHANNEL = "a channel"
# A form lists this many channels; past that it searches them as the person types (Teams
# shows at most 15 choices of a search).
CHANNEL_CHOICES = 15
CHANNEL_DATASET = "bridgebot.channels"


@dataclass(frozen=True)
class FileLink:
    """An attachment stored for download: images are shown, other files get a button."""

    filename: str
    title: str
    url: str
    is_image: bool


@dataclass(frozen=True)
class CardContext:
    """What a card needs beyond the reply.

    `origin` is the channel_ref the card belongs to ("" for a person): every button
    carries it back, so a click on a card sent by DM still acts for that channel.
    """

    origin: str = ""
    names: Mapping[str, str] = field(default_factory=dict)
    files: tuple[FileLink, ...] = ()


# -- text -----------------------------------------------------------------------------


def span_label(span: Span, names: Mapping[str, str]) -> str:
    """What a span shows: mentions become names, never markup."""
    if span.kind is SpanKind.USER:
        return f"@{names[span.text]}" if span.text in names else UNKNOWN_PERSON
    if span.kind is SpanKind.CHANNEL:
        return f"#{names[span.text]}" if span.text in names else UNKNOWN_CHANNEL
    return span.text


def _safe_url(url: str | None) -> str | None:
    if not url:
        return None
    try:
        scheme = urlparse(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in LINK_SCHEMES else None


def _run(span: Span, label: str, style: Mapping[str, Any]) -> dict[str, Any]:
    run: dict[str, Any] = {"type": "TextRun", "text": label, **style}
    match span.kind:
        case SpanKind.BOLD:
            run["weight"] = "Bolder"
        case SpanKind.ITALIC:
            run["italic"] = True
        case SpanKind.CODE:
            run["fontType"] = "Monospace"
        case SpanKind.USER | SpanKind.CHANNEL:
            run["weight"] = "Bolder"
        case SpanKind.LINK:
            url = _safe_url(span.url)
            if url is not None:
                run["selectAction"] = {"type": "Action.OpenUrl", "url": url}
                run["underline"] = True
                run["color"] = "Accent"
            else:
                run["text"] = f"{label} ({span.url})" if span.url else label
    return run


def text_lines(value: Text, names: Mapping[str, str], **style: Any) -> list[list[dict[str, Any]]]:
    """The text as lines of TextRuns (one RichTextBlock per line keeps line breaks)."""
    lines: list[list[dict[str, Any]]] = [[]]
    for span in value:
        label = span_label(span, names)
        for index, part in enumerate(label.split("\n")):
            if index:
                lines.append([])
            if part:
                lines[-1].append(_run(span, part, style))
    return lines


def rich_text(value: Text, names: Mapping[str, str], **style: Any) -> list[dict[str, Any]]:
    """RichTextBlocks for the text; blank lines keep their space."""
    blocks = []
    for index, runs in enumerate(text_lines(value, names, **style)):
        block: dict[str, Any] = {
            "type": "RichTextBlock",
            "inlines": runs or [{"type": "TextRun", "text": " ", **style}],
        }
        if index:
            block["spacing"] = "None"
        blocks.append(block)
    return blocks


def plain(value: Text, names: Mapping[str, str]) -> str:
    """The text as a plain string (notifications, toasts); never parsed as markup."""
    return "".join(span_label(span, names) for span in value)


def _literal(value: str, **style: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": value, **style}]}


# -- blocks -----------------------------------------------------------------------------


STYLES = {ButtonStyle.PRIMARY: "positive", ButtonStyle.DANGER: "destructive"}


def button_data(button: Button, origin: str) -> dict[str, Any]:
    return {"bb": "action", "v": button.value[:2000], "c": origin}


def render_action(button: Button, origin: str) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "Action.Execute",
        "title": button.label[:TITLE_LIMIT],
        "verb": button.action_id,
        "data": button_data(button, origin),
    }
    if button.style in STYLES:
        action["style"] = STYLES[button.style]
    return action


def render_block(block: Block, ctx: CardContext) -> list[dict[str, Any]]:
    names = ctx.names
    if isinstance(block, Heading):
        return [_literal(block.text, size="Large", weight="Bolder")]
    if isinstance(block, Paragraph):
        return rich_text(block.text, names)
    if isinstance(block, Note):
        return rich_text(block.text, names, size="Small", isSubtle=True)
    if isinstance(block, Fields):
        columns = []
        for label, value in block.items[:10]:
            items = [_literal(label, weight="Bolder"), *rich_text(value, names)]
            columns.append({"type": "Column", "width": "stretch", "items": items})
        # Two side by side, as Slack shows fields.
        return [
            {"type": "ColumnSet", "columns": columns[start : start + 2]}
            for start in range(0, len(columns), 2)
        ]
    if isinstance(block, Divider):
        return []
    if isinstance(block, Buttons):
        actions = [render_action(button, ctx.origin) for button in block.buttons[:20]]
        return [{"type": "ActionSet", "actions": actions}]
    raise TypeError(f"cannot render {block!r}")


def _files(files: Sequence[FileLink]) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = []
    downloads = []
    for link in files:
        if link.is_image:
            elements.append({"type": "Image", "url": link.url, "altText": link.title})
            elements.append(_literal(link.title, size="Small", isSubtle=True))
        else:
            downloads.append(
                {
                    "type": "Action.OpenUrl",
                    "title": f"Download {link.filename}"[:TITLE_LIMIT],
                    "url": link.url,
                }
            )
    if downloads:
        elements.append({"type": "ActionSet", "actions": downloads})
    return elements


def card(body: list[dict[str, Any]], fallback: str) -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": body or [_literal(" ")],
        "fallbackText": fallback[:SUMMARY_LIMIT] or "bridgebot",
        "msteams": {"width": "full"},
    }


def render_card(reply: Reply, ctx: CardContext) -> dict[str, Any]:
    """The reply's blocks and files as one Adaptive Card."""
    body: list[dict[str, Any]] = []
    separate = False
    for block in reply.blocks:
        if isinstance(block, Divider):
            separate = True
            continue
        elements = render_block(block, ctx)
        if separate and elements:
            elements[0]["separator"] = True
            separate = False
        body.extend(elements)
    body.extend(_files(ctx.files))
    if reply.is_error:
        body = [{"type": "Container", "style": "attention", "items": body}]
    return card(body, summary(reply, ctx.names))


def summary(reply: Reply, names: Mapping[str, str]) -> str:
    """One plain line for notifications and screen readers."""
    parts = []
    for block in reply.blocks:
        if isinstance(block, Heading):
            parts.append(block.text)
        elif isinstance(block, Paragraph | Note):
            parts.append(plain(block.text, names))
        elif isinstance(block, Fields):
            parts.extend(f"{label}: {plain(value, names)}" for label, value in block.items)
    line = " · ".join(part.replace("\n", " ").strip() for part in parts if part.strip())
    return line[: SUMMARY_LIMIT - 1] + "…" if len(line) > SUMMARY_LIMIT else line


def span_refs(reply: Reply) -> set[str]:
    """Every user_ref and channel_ref a reply mentions (to look their names up)."""
    found: set[str] = set()
    for block in reply.blocks:
        texts: Iterable[Text] = ()
        if isinstance(block, Paragraph | Note):
            texts = (block.text,)
        elif isinstance(block, Fields):
            texts = tuple(value for _, value in block.items)
        for value in texts:
            found.update(
                span.text for span in value if span.kind in {SpanKind.USER, SpanKind.CHANNEL}
            )
    return found


def is_short(reply: Reply, names: Mapping[str, str]) -> bool:
    """A one-paragraph answer with no buttons: shown as a brief message on the card."""
    return (
        len(reply.blocks) == 1
        and isinstance(reply.blocks[0], Paragraph)
        and len(plain(reply.blocks[0].text, names)) <= 240
    )


# -- forms ------------------------------------------------------------------------------


def form_spec(form: Form) -> dict[str, Any]:
    """The form without its initial values: carried in the submit button's data, so a
    submission with errors can be shown again with what the person typed."""
    fields = []
    for item in form.fields:
        spec = asdict(item)
        spec.pop("initial")
        spec["kind"] = item.kind.value
        spec["options"] = [list(option) for option in item.options]
        fields.append(spec)
    return {
        "f": form.callback_id,
        "t": form.title,
        "s": form.submit_label,
        "m": form.metadata,
        "fields": fields,
    }


def form_from_spec(spec: Mapping[str, Any], values: Mapping[str, str]) -> Form:
    """The form again, filled in with `values`."""
    fields = []
    for raw in spec.get("fields") or []:
        options = tuple((str(value), str(label)) for value, label in raw.get("options") or [])
        fields.append(
            FormField(
                name=str(raw["name"]),
                label=str(raw.get("label", "")),
                initial=values.get(str(raw["name"]), ""),
                multiline=bool(raw.get("multiline")),
                max_length=int(raw.get("max_length") or 300),
                optional=bool(raw.get("optional")),
                placeholder=str(raw.get("placeholder") or ""),
                hint=str(raw.get("hint") or ""),
                options=options,
                kind=FieldKind(raw.get("kind", FieldKind.TEXT.value)),
            )
        )
    return Form(
        callback_id=str(spec.get("f", "")),
        title=str(spec.get("t", "")),
        submit_label=str(spec.get("s", "Submit")),
        fields=tuple(fields),
        metadata=str(spec.get("m", "")),
    )


def submitted_values(spec: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, str]:
    """Field values by name from a submitted form card (lists come comma-separated)."""
    values = {}
    for raw in spec.get("fields") or []:
        value = data.get(f"{INPUT_PREFIX}{raw['name']}", "")
        values[str(raw["name"])] = (
            ",".join(map(str, value)) if isinstance(value, list) else str(value or "")
        )
    return values


def _input(item: FormField, channels: Sequence[tuple[str, str]]) -> dict[str, Any]:
    base: dict[str, Any] = {"id": f"{INPUT_PREFIX}{item.name}", "label": item.label}
    if not item.optional:
        base["isRequired"] = True
        base["errorMessage"] = "Required"
    match item.kind:
        case FieldKind.SELECT | FieldKind.MULTI_SELECT:
            element = base | {
                "type": "Input.ChoiceSet",
                "style": "compact",
                "choices": [{"title": label, "value": value} for value, label in item.options],
                "value": item.initial,
            }
            if item.kind is FieldKind.MULTI_SELECT:
                element["isMultiSelect"] = True
            return element
        case FieldKind.CHANNEL:
            choices = [{"title": f"#{label}", "value": ref} for ref, label in channels]
            if item.initial and item.initial not in {ref for ref, _ in channels}:
                choices.insert(0, {"title": "This conversation", "value": item.initial})
            if len(choices) <= CHANNEL_CHOICES:
                return base | {
                    "type": "Input.ChoiceSet",
                    "style": "compact",
                    "choices": choices,
                    "value": item.initial,
                }
            # A tenant's every channel would make the card too big (300 are 36 KB): the
            # first few are listed, and typing searches them all (actions.handle_card_search).
            listed = [choice for choice in choices if choice["value"] == item.initial]
            listed += [choice for choice in choices if choice not in listed]
            return base | {
                "type": "Input.ChoiceSet",
                "style": "filtered",
                "choices": listed[:CHANNEL_CHOICES],
                "choices.data": {"type": "Data.Query", "dataset": CHANNEL_DATASET},
                "placeholder": "Type to search the channels",
                "value": item.initial,
            }
        case FieldKind.USERS:
            # The Teams people picker: values are Entra object ids, bridgebot's user refs.
            return base | {
                "type": "Input.ChoiceSet",
                "isMultiSelect": True,
                "choices": [],
                "choices.data": {"type": "Data.Query", "dataset": "graph.microsoft.com/users"},
                "value": item.initial,
            }
        case FieldKind.TIME:
            return base | {"type": "Input.Time", "value": item.initial}
    element = base | {
        "type": "Input.Text",
        "isMultiline": item.multiline,
        "maxLength": item.max_length,
        "value": item.initial,
    }
    if item.placeholder:
        element["placeholder"] = item.placeholder
    return element


def render_form(
    form: Form,
    *,
    origin: str,
    channels: Sequence[tuple[str, str]] = (),
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A form as a card; `errors` are shown under their fields (stray ones on top)."""
    errors = errors or {}
    names = {item.name for item in form.fields}
    body: list[dict[str, Any]] = [_literal(form.title, size="Large", weight="Bolder")]
    stray = [message for name, message in errors.items() if name not in names]
    if stray:
        body.append(_literal(" ".join(stray), color="Attention"))
    for item in form.fields:
        body.append(_input(item, channels))
        if item.kind is FieldKind.CHANNEL and not channels and not item.initial:
            body.append(
                _literal(
                    "bridgebot knows no channel yet: add it to a team, then try again.",
                    size="Small",
                    color="Attention",
                )
            )
        if item.hint:
            body.append(_literal(item.hint, size="Small", isSubtle=True))
        if item.name in errors:
            body.append(_literal(errors[item.name], size="Small", color="Attention"))
    body.append(
        {
            "type": "ActionSet",
            "actions": [
                {
                    "type": "Action.Execute",
                    "title": form.submit_label[:TITLE_LIMIT],
                    "verb": FORM_VERB,
                    "style": "positive",
                    "associatedInputs": "auto",
                    "data": {"bb": "form", "c": origin, "spec": form_spec(form)},
                },
                {
                    "type": "Action.Execute",
                    "title": "Cancel",
                    "verb": CANCEL_VERB,
                    "associatedInputs": "none",
                    "data": {"bb": "cancel", "c": origin},
                },
            ],
        }
    )
    return card(body, form.title)


# -- invoke responses -------------------------------------------------------------------


def card_response(content: dict[str, Any]) -> dict[str, Any]:
    """Answer a card action by replacing the card (for the person who clicked); a card
    over Teams' size budget is shortened, with a note saying so."""
    (fitted,) = fit_card(content, split=False)
    return {"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": fitted}


def message_response(message: str) -> dict[str, Any]:
    """Answer a card action with a brief message shown to the person who clicked."""
    return {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": message,
    }
