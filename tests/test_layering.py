"""The domain (bot/) and the scheduled jobs (schedules/) know no chat platform, web
framework or adapter; handlers/ (with the `bridgebot` command in handlers/cli.py) does."""

from __future__ import annotations

import ast
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
DOMAIN_ROOTS = (PROJECT / "bot", PROJECT / "schedules")

# Distributions of a chat platform's SDK, by name prefix; their import names are read
# from what they install, since they can differ (microsoft-teams-apps is microsoft_teams).
CHAT_SDK_DISTRIBUTIONS = ("slack", "microsoft-teams", "botbuilder", "botframework")
FORBIDDEN_MODULES = frozenset(
    {
        "slack",  # slack_sdk's legacy name
        "slack_bolt",
        "slack_sdk",
        "microsoft_teams",  # the Teams SDK (microsoft-teams-apps, -api, -cards, -common)
        "botbuilder",  # the older Bot Framework SDK
        "botframework",
        "msal",  # Microsoft sign-in, which the Teams SDK uses
        "aiohttp",  # slack_sdk's async transport
        "fastapi",
        "starlette",
        "uvicorn",
        "handlers",  # adapters depend on the domain, never the other way round
    }
)


@cache
def forbidden_modules() -> frozenset[str]:
    installed = {
        module
        for module, distributions in packages_distributions().items()
        if any(
            d.lower().replace("_", "-").startswith(CHAT_SDK_DISTRIBUTIONS) for d in distributions
        )
    }
    return FORBIDDEN_MODULES | installed


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (inside functions too)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.append((node.lineno, argument.value))
    return found


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in {"import_module", "__import__"} and bool(node.args)


def is_forbidden(module: str) -> bool:
    return module.split(".")[0] in forbidden_modules()


def offences(roots: tuple[Path, ...]) -> list[str]:
    """`file:line: module` for each forbidden import in any module under `roots`."""
    return [
        f"{path.relative_to(root.parent)}:{line}: {module}"
        for root in roots
        for path in sorted(root.rglob("*.py"))
        for line, module in imported_modules(path)
        if is_forbidden(module)
    ]


def test_the_chat_sdks_this_project_installs_are_forbidden_by_their_import_names() -> None:
    assert {"slack_bolt", "slack_sdk", "microsoft_teams"} <= forbidden_modules()


@pytest.mark.parametrize(
    "statement",
    [
        "import slack_sdk.web",
        "from slack_bolt.async_app import AsyncApp",
        "from slack.web import WebClient",
        "from microsoft_teams.apps import App",
        "import microsoft_teams.api as teams",
        "from botbuilder.core import TurnContext",
        "from aiohttp import ClientSession",
        "from fastapi import FastAPI",
        "import uvicorn",
        "from handlers.slack.app import create_slack_app",
        "import importlib; importlib.import_module('handlers.teams.store')",
        "__import__('microsoft_teams.apps')",
    ],
)
def test_the_scan_finds_an_import_planted_anywhere_in_bot_or_schedules(
    tmp_path: Path, statement: str
) -> None:
    roots = (tmp_path / "bot", tmp_path / "schedules")
    (roots[0] / "services").mkdir(parents=True)
    (roots[1]).mkdir()
    (roots[0] / "services" / "clean.py").write_text("import os\nfrom bot.models import Base\n")
    (roots[0] / "services" / "planted.py").write_text(f"import os\n{statement}\n")
    (roots[1] / "planted.py").write_text(f"def late() -> None:\n    {statement}\n")
    found = offences(roots)
    assert [entry.split(":")[0:2] for entry in found] == [
        ["bot/services/planted.py", "2"],
        ["schedules/planted.py", "2"],
    ]


def test_domain_and_schedules_import_no_platform_web_framework_or_adapter() -> None:
    scanned = {path for root in DOMAIN_ROOTS for path in root.rglob("*.py")}
    assert {PROJECT / "bot" / "router.py", PROJECT / "schedules" / "scheduler.py"} <= scanned
    assert offences(DOMAIN_ROOTS) == []
