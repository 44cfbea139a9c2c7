"""The one direction of imports (docs/design.md): data flows from scenario to console, and nothing downstream
is imported upstream. Every ``import`` in every module is read (including those inside functions), so a lazy
import cannot hide a wrong-way dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: folder -> its dotted package under triwarn.*
ROOMS: dict[str, str] = {
    "core": "triwarn.core",
    "sensors": "triwarn.sensors",
    "scenarios": "triwarn.scenarios",
    "services": "triwarn.services",
    "analysis": "triwarn.analysis",
    "benches": "triwarn.benches",
    "triwarn/cli": "triwarn.cli",
}

#: what every room of the core above trajectory builds on
CORE_BASE = ("triwarn.core.jit", "triwarn.core.tracks", "triwarn.core.trajectory")

#: package -> the triwarn packages it may import (its own included); anything else under triwarn.* is wrong-way
ALLOWED: dict[str, tuple[str, ...]] = {
    "triwarn.core": ("triwarn.core.jit", "triwarn.core.tracks"),
    "triwarn.core.jit": ("triwarn.core.jit",),
    "triwarn.core.tracks": ("triwarn.core.tracks",),
    "triwarn.core.trajectory": ("triwarn.core.jit", "triwarn.core.tracks", "triwarn.core.trajectory"),
    # the three rooms above trajectory build on it and on the base, never on one another
    "triwarn.core.tracking": (*CORE_BASE, "triwarn.core.tracking"),
    "triwarn.core.fusion": (*CORE_BASE, "triwarn.core.fusion"),
    "triwarn.core.assessment": (*CORE_BASE, "triwarn.core.assessment"),
    "triwarn.sensors": ("triwarn.core", "triwarn.sensors"),
    "triwarn.scenarios": ("triwarn.core", "triwarn.scenarios"),
    "triwarn.services": (
        "triwarn.core",
        "triwarn.sensors",
        "triwarn.scenarios",
        "triwarn.services",
        "triwarn.v1",
    ),
    "triwarn.analysis": (
        "triwarn.core",
        "triwarn.sensors",
        "triwarn.scenarios",
        "triwarn.services",
        "triwarn.v1",
        "triwarn.analysis",
    ),
    "triwarn.benches": (
        "triwarn.core",
        "triwarn.sensors",
        "triwarn.scenarios",
        "triwarn.services",
        "triwarn.v1",
        "triwarn.analysis",
        "triwarn.benches",
    ),
    "triwarn.cli": ("triwarn",),
}

#: third-party or standard modules the core never touches (STYLE.md: no I/O, no protobuf, no datetime, no
#: logging); reading its own bundled data tables (missiles.toml, the .npz grids) through importlib is allowed
CORE_FORBIDDEN = ("google.protobuf", "grpc", "datetime", "logging", "aiomqtt", "asyncio", "sqlite3", "socket")


def _modules() -> list[tuple[str, Path]]:
    out = []
    for folder, package in ROOMS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out.append((".".join([package, *parts]), path))
    return out


def _imports(path: Path, module: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.append(target)
            names += [f"{target}.{a.name}" for a in node.names]
    return names


def _rule(module: str) -> tuple[str, tuple[str, ...]]:
    best = max((p for p in ALLOWED if module == p or module.startswith(p + ".")), key=len)
    return best, ALLOWED[best]


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


MODULES = _modules()


def test_every_module_belongs_to_a_room() -> None:
    assert len(MODULES) > 50
    for module, _ in MODULES:
        _rule(module)  # raises ValueError if no rule covers it


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_run_one_way(module: str, path: Path) -> None:
    room, allowed = _rule(module)
    wrong = sorted(
        {
            n
            for n in _imports(path, module)
            if n.startswith("triwarn.") and not _within(n, allowed) and not _is_name_of_allowed(n, allowed)
        }
    )
    assert not wrong, f"{module} (room {room}) imports {wrong}: that is against the direction of docs/design.md"
    if module.startswith("triwarn.core"):
        bad = sorted({n for n in _imports(path, module) if _within(n, CORE_FORBIDDEN)})
        assert not bad, f"{module} is core and imports {bad} (core does no I/O, protobuf, datetime or logging)"


def _is_name_of_allowed(name: str, allowed: tuple[str, ...]) -> bool:
    """``from triwarn.core import jit`` records ``triwarn.core`` and ``triwarn.core.jit``: the package itself
    is allowed when one of its allowed sub-packages is what was imported."""
    return any(p.startswith(name + ".") for p in allowed)


def test_no_module_waits_with_asyncio_wait_for() -> None:
    """Python 3.11's ``asyncio.wait_for`` swallows a cancellation that arrives in the same loop tick as its
    awaitable's result (CPython gh-86296, fixed in 3.12); a loop around it then runs on after it was cancelled
    and its process never ends (``triwarn cot --duration 5`` hung so under load). ``asyncio.timeout`` does not."""
    found = []
    for module, path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "wait_for"
                and getattr(node.value, "id", "") == "asyncio"
            ):
                found.append(f"{module}:{node.lineno}")
    assert not found, f"asyncio.wait_for in {found}: use `async with asyncio.timeout(...)`"
