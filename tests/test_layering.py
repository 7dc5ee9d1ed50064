"""The domain (bot/) knows no chat platform or web framework; only the composition root does."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
# The command line picks and starts an adapter, so it may name them.
COMPOSITION_ROOT = {BOT / "cli.py", BOT / "__main__.py"}
FORBIDDEN = (
    "slack_bolt",
    "slack_sdk",
    "fastapi",
    "starlette",
    "aiohttp",
    "botbuilder",  # Microsoft Bot Framework (Teams)
    "botframework",
    "microsoft",
    "msteams",
    "teams",
    "handlers",  # adapters depend on the domain, never the other way round
)


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
    top = module.split(".")[0].lower()
    return top in FORBIDDEN


def test_the_scan_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "import slack_sdk.web\n"
        "from fastapi import FastAPI\n"
        "def late():\n"
        "    from aiohttp import ClientSession\n"
        "    import importlib; importlib.import_module('botbuilder.core')\n"
    )
    assert [m for _, m in imported_modules(sample) if is_forbidden(m)] == [
        "slack_sdk.web",
        "fastapi.FastAPI",
        "aiohttp.ClientSession",
        "botbuilder.core",
    ]


def test_domain_modules_import_no_platform_or_web_framework() -> None:
    sources = sorted(BOT.rglob("*.py"))
    assert BOT / "router.py" in sources
    offences = [
        f"{path.relative_to(BOT.parent)}:{line}: {module}"
        for path in sources
        if path not in COMPOSITION_ROOT
        for line, module in imported_modules(path)
        if is_forbidden(module)
    ]
    assert offences == []
