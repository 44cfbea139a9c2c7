"""One demo at a time: the test files that start ``triwarn demo`` run one after another, across the workers of
``pytest -n`` (the README's test command runs two) and across pytest runs on one machine.

``triwarn demo`` takes the documented gRPC port 50051 when it is free, and consoles find the latest demo: two
demos started by tests at once would take each other's port and endpoints. ``--dist loadgroup`` with
``xdist_group("demo")`` would keep them on one worker, but with pytest 9 and xdist 3.8 it does not group (xdist
renames a test's node id in a way pytest 9 no longer reads). So a test file whose module is marked
``xdist_group("demo")`` runs holding an exclusive lock on one file (``TRIWARN_DEMO_LOCK``, default
``triwarn-pytest-demo.lock`` in the temporary directory), taken before its first test and released after its
last one's teardown (and so after its module fixtures). The lock is taken outside pytest-timeout's clock: a
file waiting for another worker's file (the README commands' file holds it for minutes) does not time out.
tests/test_suite_groups.py checks the marks and the lock.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import IO

import pytest


class _Held:
    """The lock this worker holds (its open file) and the test file it holds it for."""

    file: IO[str] | None = None
    module: str | None = None


def lock_path() -> Path:
    return Path(os.environ.get("TRIWARN_DEMO_LOCK") or Path(tempfile.gettempdir()) / "triwarn-pytest-demo.lock")


def _starts_demo(item: pytest.Item) -> bool:
    module = item.getparent(pytest.Module)
    return module is not None and any(m.args[:1] == ("demo",) for m in module.iter_markers("xdist_group"))


def _module(item: pytest.Item | None) -> str | None:
    return None if item is None else item.nodeid.split("::")[0]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """Outermost (tryfirst), so the wait comes before pytest-timeout starts timing the test."""
    if _Held.file is None and _starts_demo(item):
        lock = lock_path().open("w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        _Held.file, _Held.module = lock, _module(item)
    yield
    if _Held.file is not None and _module(nextitem) != _Held.module:
        fcntl.flock(_Held.file, fcntl.LOCK_UN)
        _Held.file.close()
        _Held.file = _Held.module = None
