"""Glossary import and export as CSV or YAML (chosen by the file's extension)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from bot.errors import Invalid
from bot.services import glossary
from bot.services.glossary import InvalidTerm, TermCard, TermDraft
from bot.textinput import strip_invisible

COLUMNS = (
    "name",
    "aliases",
    "origin",
    "definition",
    "marketing_view",
    "it_view",
    "example",
    "related",
)
REQUIRED_COLUMNS = {"name", "definition"}
# Fields holding one text; aliases and related may also be lists.
TEXT_COLUMNS = ("name", "definition", "marketing_view", "it_view", "example", "origin")
LIST_SEPARATOR = "; "


class GlossaryFileError(Invalid):
    """The file as a whole cannot be read (wrong format, missing columns); nothing was imported."""


@dataclass(frozen=True)
class SourceRow:
    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Rejection:
    line: int
    name: str
    reason: str


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected"
        )


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".yaml", ".yml"}:
        return "yaml"
    raise GlossaryFileError(f"{path.name}: use a .csv, .yaml or .yml file")


def read_rows(path: Path) -> list[SourceRow]:
    """The rows of a glossary file with the line each starts on.

    Raises:
        GlossaryFileError: unreadable file, wrong structure or missing columns.
    """
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GlossaryFileError(f"cannot read {path}: {exc}") from None
    return parse_csv(content) if file_format(path) == "csv" else parse_yaml(content)


EXTRA_CELLS = "_extra_cells"


def parse_csv(content: str) -> list[SourceRow]:
    reader = csv.DictReader(io.StringIO(content, newline=""))
    columns = set(reader.fieldnames or ())
    missing = REQUIRED_COLUMNS - columns
    if missing:
        raise GlossaryFileError(f"missing column(s): {', '.join(sorted(missing))}")
    unknown = columns - set(COLUMNS)
    if unknown:
        raise GlossaryFileError(
            f"unknown column(s): {', '.join(sorted(unknown))}; expected {', '.join(COLUMNS)}"
        )
    rows: list[SourceRow] = []
    start = reader.line_num + 1
    for record in reader:
        data = {k: v for k, v in record.items() if k is not None}
        if None in record:  # DictReader keeps cells beyond the header under None
            data[EXTRA_CELLS] = record[None]
        rows.append(SourceRow(start, data))
        start = reader.line_num + 1
    return rows


def parse_yaml(content: str) -> list[SourceRow]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        document = yaml.load(content, Loader=loader)
        node = yaml.compose(content, Loader=loader)
    except yaml.YAMLError as exc:
        raise GlossaryFileError(f"not valid YAML: {exc}") from None
    terms, items_node = document, node
    if isinstance(document, dict):
        terms = document.get("terms")
        items_node = (
            next((value for key, value in node.value if key.value == "terms"), None)
            if node is not None
            else None
        )
    if not isinstance(terms, list) or items_node is None:
        raise GlossaryFileError("expected a list of terms (or a mapping with a 'terms' list)")
    rows = []
    for item, item_node in zip(terms, items_node.value, strict=True):
        line = item_node.start_mark.line + 1
        rows.append(SourceRow(line, item if isinstance(item, dict) else {"_invalid": item}))
    return rows


def import_rows(
    *,
    session: Session,
    workspace_id: str,
    rows: Iterable[SourceRow],
    editor_ref: str | None,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Add or update each row; a bad row is rejected whole and the others still count.

    Each row runs in its own savepoint, so a row that fails half-way leaves nothing.
    The caller's transaction decides the rest: commit to import, roll back for a dry run.
    """
    report = ImportReport()
    for row in rows:
        outcome = _import_one(session, workspace_id, row, editor_ref, now)
        if isinstance(outcome, Rejection):
            report.rejected.append(outcome)
        elif outcome == "added":
            report.added += 1
        elif outcome == "updated":
            report.updated += 1
        else:
            report.unchanged += 1
        if progress:
            progress(1)
    return report


def _import_one(
    session: Session, workspace_id: str, row: SourceRow, editor_ref: str | None, now: datetime
) -> str | Rejection:
    if "_invalid" in row.data:
        return Rejection(row.line, "", "each term must be a mapping of fields")
    if EXTRA_CELLS in row.data:
        return Rejection(
            row.line,
            str(row.data.get("name") or ""),
            "more cells than columns: put a value that holds a comma in double quotes",
        )
    not_text = sorted(
        column
        for column in TEXT_COLUMNS
        if isinstance(row.data.get(column), dict | list | tuple | set)
    )
    if not_text:
        return Rejection(
            row.line,
            str(row.data.get("name") or "") if "name" not in not_text else "",
            f"{', '.join(not_text)}: write text, not a list or a mapping",
        )
    unknown = set(row.data) - set(COLUMNS)
    # As in forms, invisible direction and zero-width characters are dropped, not refused.
    draft = _merged_draft(
        session, workspace_id, {key: _without_invisible(value) for key, value in row.data.items()}
    )
    if unknown:
        return Rejection(row.line, draft.name, f"unknown field(s): {', '.join(sorted(unknown))}")
    savepoint = session.begin_nested()
    try:
        outcome = glossary.upsert_term(
            session=session, workspace_id=workspace_id, draft=draft, editor_ref=editor_ref, now=now
        )
    except InvalidTerm as exc:
        savepoint.rollback()
        reasons = "; ".join(f"{name}: {message}" for name, message in exc.field_errors.items())
        return Rejection(row.line, draft.name, reasons)
    savepoint.commit()
    return outcome


def _without_invisible(value: Any) -> Any:
    if isinstance(value, str):
        return strip_invisible(value)
    if isinstance(value, list):
        return [_without_invisible(item) for item in value]
    return value


def _merged_draft(session: Session, workspace_id: str, data: dict[str, Any]) -> TermDraft:
    """The row as a draft; for an existing term, fields the file does not have are kept."""
    draft = TermDraft.from_mapping(data)
    existing = glossary.find_id_by_name(session=session, workspace_id=workspace_id, name=draft.name)
    if existing is None or set(COLUMNS) <= set(data):
        return draft
    current = _record(
        glossary.get_card(session=session, workspace_id=workspace_id, term_id=existing)
    )
    return TermDraft.from_mapping({**current, **data})


def export_cards(cards: Iterable[TermCard], path: Path) -> int:
    """Write the terms to `path` (CSV or YAML by extension); returns how many."""
    records = [_record(card) for card in cards]
    if file_format(path) == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        for record in records:
            writer.writerow(
                {
                    **record,
                    "aliases": LIST_SEPARATOR.join(record["aliases"]),
                    "related": LIST_SEPARATOR.join(record["related"]),
                }
            )
        path.write_text(buffer.getvalue(), encoding="utf-8")
    else:
        path.write_text(
            yaml.safe_dump(
                {"version": 1, "terms": records}, sort_keys=False, allow_unicode=True, width=100
            ),
            encoding="utf-8",
        )
    return len(records)


def _record(card: TermCard) -> dict[str, Any]:
    return {
        "name": card.name,
        "aliases": list(card.aliases),
        "origin": card.origin,
        "definition": card.definition,
        "marketing_view": card.marketing_view,
        "it_view": card.it_view,
        "example": card.example,
        "related": list(card.related),
    }
