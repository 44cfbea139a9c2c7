"""The suite can run on every core (``pytest -n auto --dist loadgroup``, pytest-xdist; README). ``triwarn demo``
takes the documented gRPC port 50051 when it is free, and consoles find the latest demo: two demos started by
tests on two workers would take each other's port and endpoints. Every test module that starts the demo is in
the ``xdist_group("demo")``, so those tests run one after another on one worker."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent

#: a ``triwarn demo`` command line in a test: ``[..., "triwarn.cli.main", "demo", ...]``, ``[*CLI, "demo"]``,
#: ``[_triwarn(), "demo"]`` or a README command ``"triwarn demo ..."``
STARTS_DEMO = re.compile(r'(main"|\*CLI|_triwarn\(\)),\s*"demo"|"triwarn demo\b')


def test_every_module_that_starts_the_demo_is_in_the_demo_group() -> None:
    starters = [p for p in sorted(TESTS.rglob("test_*.py")) if STARTS_DEMO.search(p.read_text(encoding="utf-8"))]
    assert len(starters) >= 4, f"the pattern no longer finds the demo's tests: {starters}"
    ungrouped = [str(p.relative_to(TESTS)) for p in starters if 'xdist_group("demo")' not in p.read_text("utf-8")]
    assert not ungrouped, f'add pytestmark = pytest.mark.xdist_group("demo") to {ungrouped}: they start the demo'
