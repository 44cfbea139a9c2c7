"""The suite runs on two workers (the README's ``pytest -n 2 --dist loadfile``, pytest-xdist). ``triwarn demo``
takes the documented gRPC port 50051 when it is free, and consoles find the latest demo: two demos started by
tests on two workers would take each other's port and endpoints. Every test module that starts the demo is
marked ``xdist_group("demo")``, and such files run one at a time across workers and runs (tests/demo_lock.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
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


_MODULE = """import time
from pathlib import Path

import pytest
{mark}

def test_{name}() -> None:
    start = time.time()
    time.sleep(1.5)
    Path("{log}").joinpath("{name}").write_text(f"{{start}} {{time.time()}}")
"""


def _intervals(tmp: Path, marked: bool) -> list[tuple[float, float]]:
    """Run two modules (marked ``xdist_group("demo")`` or not) on two workers; their tests' (start, end)."""
    suite, log = tmp / ("marked" if marked else "unmarked"), tmp / ("log-m" if marked else "log-u")
    suite.mkdir()
    log.mkdir()
    (suite / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nfrom demo_lock import pytest_runtest_protocol  # noqa: F401\n"
    )
    mark = 'pytestmark = pytest.mark.xdist_group("demo")' if marked else ""
    for name in ("first", "second"):
        (suite / f"test_{name}.py").write_text(_MODULE.format(mark=mark, name=name, log=log))
    # --timeout 2.5: the file that waits for the other's lock (1.5 s) and then runs (1.5 s) would time out
    # if the wait counted (it is outside pytest-timeout's clock)
    cmd = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "--timeout", "2.5"]
    cmd += ["-p", "no:cacheprovider", "-q", "."]
    # a lock of its own: the suite's demo files may hold the shared one for minutes meanwhile
    env = {**os.environ, "TRIWARN_DEMO_LOCK": str(tmp / "demo.lock")}
    done = subprocess.run(cmd, cwd=suite, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return sorted(tuple(map(float, (log / n).read_text().split())) for n in ("first", "second"))  # type: ignore[misc]


def test_demo_modules_run_one_at_a_time_on_two_workers(tmp_path: Path) -> None:
    (a0, a1), (b0, b1) = _intervals(tmp_path, marked=True)
    assert b0 >= a1, f"two demo modules ran at once: {a0:.1f}-{a1:.1f} and {b0:.1f}-{b1:.1f}"
    # the control: unmarked, the same two modules do run at once (so the lock is what kept them apart)
    (_, c1), (d0, _) = _intervals(tmp_path, marked=False)
    assert d0 < c1, "the two workers did not run in parallel: this test cannot see the lock"
