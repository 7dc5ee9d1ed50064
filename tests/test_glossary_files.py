"""`bridgebot glossary import|export`: CSV and YAML files in and out, bad rows reported."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.deps import Deps
from bot.services import glossary, workspaces
from bot.settings import get_settings
from handlers.cli import cli

HOME, ELSEWHERE = "T0FILES", "T0OTHER"

GLOSSARY_YAML = """\
terms:
  - name: Opex
    aliases: [Operating expenses, Overheads]
    definition: Money spent to keep the business running.
    marketing_view: Agency fees and ad tools land here.
    it_view: Cloud bills land here, unlike servers bought outright.
    example: "Moving to the cloud turned capex into opex."
    origin: general
    related: [Capex]
  - name: Capex
    definition: "Money spent on things that last, such as servers: \\"capital\\" spending."
    origin: general
    related: [Opex]
"""

Run = Callable[..., Result]


@pytest.fixture
def run(database_url: str, deps: Deps, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """`bridgebot glossary ...` against the test database, with two empty workspaces."""
    with deps.session_factory.begin() as session:
        for workspace_id in (HOME, ELSEWHERE):
            workspaces.ensure_workspace(
                session=session, workspace_id=workspace_id, platform="slack", timezone="UTC"
            )
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["glossary", *args])

    yield invoke
    get_settings.cache_clear()


def cards(deps: Deps, workspace_id: str) -> list[tuple[object, ...]]:
    with deps.session_factory() as session:
        return [
            (c.name, c.aliases, c.definition, c.marketing_view, c.it_view, c.example, c.related)
            for c in glossary.all_cards(session=session, workspace_id=workspace_id)
        ]


@pytest.mark.parametrize("exported_as", ["csv", "yaml"])
def test_an_exported_glossary_imports_back_as_it_was(
    run: Run, deps: Deps, tmp_path: Path, exported_as: str
) -> None:
    source = tmp_path / "glossary.yaml"
    source.write_text(GLOSSARY_YAML, encoding="utf-8")
    imported = run("import", str(source), "--workspace", HOME)
    assert imported.exit_code == 0, imported.output
    assert "2 added, 0 updated, 0 unchanged, 0 rejected" in imported.output

    exported = tmp_path / f"export.{exported_as}"
    written = run("export", str(exported), "--workspace", HOME)
    assert written.exit_code == 0, written.output
    assert f"wrote 2 terms of workspace {HOME}" in written.output

    again = run("import", str(exported), "--workspace", HOME)
    assert "0 added, 0 updated, 2 unchanged, 0 rejected" in again.output
    copied = run("import", str(exported), "--workspace", ELSEWHERE)
    assert "2 added" in copied.output
    assert cards(deps, ELSEWHERE) == cards(deps, HOME)
    opex = next(card for card in cards(deps, HOME) if card[0] == "Opex")
    assert opex[1] == ("Operating expenses", "Overheads") and opex[-1] == ("Capex",)


def test_bad_rows_are_rejected_with_their_line_and_the_good_ones_stored(
    run: Run, deps: Deps, tmp_path: Path
) -> None:
    source = tmp_path / "terms.csv"
    source.write_text(
        "name,definition\n"
        "Widget,A small thing, usually cheap\n"  # an unquoted comma: one cell too many
        '"Sales, general and admin",Running costs\n'
        "Bell,Rings\x07\n"
        'Churn,"Customers who leave, per month"\n',
        encoding="utf-8",
    )

    result = run("import", str(source), "--workspace", HOME)

    assert result.exit_code == 1
    assert "1 added, 0 updated, 0 unchanged, 3 rejected" in result.output
    assert "line 2 (Widget): more cells than columns" in result.output
    assert "line 3 (Sales, general and admin): name: Names cannot hold a comma" in result.output
    assert "line 4 (Bell): definition: That text contains control characters" in result.output
    assert [card[:3] for card in cards(deps, HOME)] == [
        ("Churn", (), "Customers who leave, per month")
    ]


def test_a_dry_run_reports_and_stores_nothing(run: Run, deps: Deps, tmp_path: Path) -> None:
    source = tmp_path / "glossary.yml"
    source.write_text(GLOSSARY_YAML, encoding="utf-8")

    result = run("import", str(source), "--workspace", HOME, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "2 added, 0 updated, 0 unchanged, 0 rejected (dry run: nothing stored)" in result.output
    assert cards(deps, HOME) == []
