"""The direction of dependence: mailbridge imports hub, never hub.web; hub never imports mailbridge;
hub.services never reach for the request or the web layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute names, as written)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", files("hub"), ids=lambda p: str(p.relative_to(ROOT)))
def test_hub_never_imports_mailbridge(path: Path) -> None:
    assert not {m for m in imported_modules(path) if m.split(".")[0] == "mailbridge"}


@pytest.mark.parametrize("path", files("mailbridge"), ids=lambda p: str(p.relative_to(ROOT)))
def test_mailbridge_never_imports_the_web_layer(path: Path) -> None:
    assert not {m for m in imported_modules(path) if m.startswith("hub.web")}


@pytest.mark.parametrize("path", files("hub/services"), ids=lambda p: str(p.relative_to(ROOT)))
def test_services_do_not_touch_the_request(path: Path) -> None:
    forbidden = {"flask.request", "flask.g", "flask.session", "flask.url_for"}
    bad = {m for m in imported_modules(path) if m in forbidden or m.startswith("hub.web")}
    assert not bad
