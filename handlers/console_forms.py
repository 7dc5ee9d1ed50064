"""Forms in the console: asked field by field, and on a refusal only the bad fields again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.replies import FieldKind, Form, FormField, Reply
from bot.router import FormInvalid

CLEAR = "-"  # answered to an optional field: empty it (Enter keeps its value)
CANCEL = "cancel"  # answered to any field: leave the form, nothing saved

# Reads one answer (None: the input ended); `multiline` lets lines end in a backslash.
AskAnswer = Callable[[str, bool], Awaitable[str | None]]
# The problem with one field's value, checked before the rest is asked; None if fine.
CheckField = Callable[[str, str], Awaitable[str | None]]
Submit = Callable[[dict[str, str]], Awaitable[Reply]]


@dataclass(frozen=True)
class Refused:
    """A field's answer that cannot stand: said at once, and the field is asked again."""

    message: str


def choices_text(field: FormField) -> str:
    """ "marketing = Marketing, it = IT": what to type, and what it means."""
    return ", ".join(
        value if value == label else f"{value} = {label}" for value, label in field.options
    )


def label_of(field: FormField, value: str) -> str:
    return dict(field.options).get(value, value)


def prompt_for(field: FormField, current: str) -> str:
    if field.is_choice:
        several = " (comma-separated)" if field.kind is FieldKind.MULTI_SELECT else ""
        shown = ", ".join(label_of(field, part) for part in current.split(",") if part)
        return f"{field.label}{several} ({choices_text(field)}) [{shown}]: "
    more = " (end a line with \\ to add another)" if field.multiline else ""
    initial = current.replace("\n", " / ")
    return f"{field.label}{more}{f' [{initial}]' if initial else ''}: "


def _choice(field: FormField, answer: str) -> str:
    """A choice typed by its value or its label (any case); unknown text is kept, for the
    form's own check to refuse with its message."""
    by_word = {value.lower(): value for value, _ in field.options}
    by_word |= {label.lower(): value for value, label in field.options}
    return by_word.get(answer.strip().lower(), answer.strip())


def interpret(field: FormField, answer: str, current: str) -> str | Refused:
    """The field's value from what was typed: Enter keeps `current`, "-" empties an
    optional field (never a required one), a choice may be typed by its label."""
    if answer == CLEAR:
        if field.optional:
            return ""
        return Refused(f"{field.label} is required; type a value (Enter keeps the one shown).")
    if not answer:
        return current
    if field.is_choice:
        if field.kind is FieldKind.MULTI_SELECT:
            return ",".join(_choice(field, part) for part in answer.split(",") if part.strip())
        return _choice(field, answer)
    return answer


class FormFiller:
    """Fills one form: asks each field, checks what can be checked early, submits, and on
    a refusal asks only the refused fields again, keeping every other value typed."""

    def __init__(
        self,
        form: Form,
        *,
        ask: AskAnswer,
        write: Callable[[str], None],
        submit: Submit,
        check: CheckField | None = None,
        resolve_channel: Callable[[str], str | None] = lambda value: value,
    ) -> None:
        self.form = form
        self.ask = ask
        self.write = write
        self.submit = submit
        self.check = check
        self.resolve_channel = resolve_channel
        self.values = {field.name: field.initial for field in form.fields}

    async def run(self) -> Reply | None:
        """The reply to the saved form; None when it was cancelled or the input ended."""
        self.write(
            f"== {self.form.title} == (press Enter to keep the value in brackets, "
            f"{CLEAR!r} to empty an optional field, {CANCEL!r} to leave the form)"
        )
        pending = list(self.form.fields)
        while True:
            for field in pending:
                if not await self.ask_field(field):
                    return None
            try:
                return await self.submit(dict(self.values))
            except FormInvalid as exc:
                pending = self.refused_fields(exc.field_errors)
                if not pending:
                    return None

    def refused_fields(self, errors: dict[str, str]) -> list[FormField]:
        """Say what was refused, by each field's label; the fields to ask again."""
        labels = {field.name: field.label for field in self.form.fields}
        self.write("! Nothing was saved yet. Please correct:")
        for name, message in errors.items():
            self.write(f"  {labels.get(name, name)}: {message}")
        again = [field for field in self.form.fields if field.name in errors]
        if not again:  # nothing here to correct: the form cannot be saved as it stands
            self.write("! Nothing was saved.")
        return again

    async def ask_field(self, field: FormField) -> bool:
        """Ask until the field's answer stands; False when cancelled or the input ended."""
        while True:
            answer = await self.ask(prompt_for(field, self.values[field.name]), field.multiline)
            if answer is None:
                self.write("! Input ended before the form was complete; nothing was saved.")
                return False
            if answer.strip().lower() == CANCEL:
                self.write("Cancelled; nothing was saved.")
                return False
            if field.kind is FieldKind.CHANNEL and answer not in {"", CLEAR}:
                answer = self.resolve_channel(answer) or answer
            value = interpret(field, answer, self.values[field.name])
            if isinstance(value, Refused):
                self.write(f"! {value.message}")
                continue
            problem = await self.check(field.name, value) if self.check else None
            if problem is not None:
                self.write(f"! {field.label}: {problem}")
                continue
            self.values[field.name] = value
            return True
