"""One demo at a time across pytest-xdist workers (``pytest -n``; the README's test command runs two).

``triwarn demo`` takes the documented gRPC port 50051 when it is free, and consoles find the latest demo: two
demos started by tests on two workers would take each other's port and endpoints. ``--dist loadgroup`` with
``xdist_group("demo")`` would keep them on one worker, but with pytest 9 and xdist 3.8 it does not group (xdist
renames a test's node id in a way pytest 9 no longer reads). So every module marked ``xdist_group("demo")``
runs holding a lock file that all workers of the run share (tests/test_suite_groups.py checks the marks and
the lock).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="module", autouse=True)
def one_demo_at_a_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """Module-scoped and autouse, so taken before the module's own module fixtures (a demo started once for a
    module) and held until they are torn down; nothing without xdist (``PYTEST_XDIST_TESTRUNUID`` unset)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    grouped = any(m.args[:1] == ("demo",) for m in request.node.iter_markers("xdist_group"))
    if run is None or not grouped:
        yield
        return
    with (Path(tempfile.gettempdir()) / f"triwarn-pytest-demo-{run}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
