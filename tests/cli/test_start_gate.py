"""The demo's start gate: children announce readiness, then all take the same clock start."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from triwarn.cli.commands._common import open_start_gate, wait_at_start_gate


def test_children_wait_for_the_common_start_and_all_get_it(tmp_path: Path) -> None:
    got: dict[str, int] = {}

    def child(name: str) -> None:
        got[name] = wait_at_start_gate(str(tmp_path), name, timeout_s=30)

    threads = [threading.Thread(target=child, args=(n,)) for n in ("fusion", "node-us")]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while not all((tmp_path / f"ready-{n}").exists() for n in ("fusion", "node-us")):
        assert time.monotonic() < deadline, "a child never announced it was ready"
        time.sleep(0.01)
    assert not got, "a child went on before the gate opened"
    before = time.time_ns()
    t0 = open_start_gate(str(tmp_path), lead_s=2.0)
    for t in threads:
        t.join(10)
    assert got == {"fusion": t0, "node-us": t0}
    assert t0 - before >= 2e9


def test_a_gate_that_never_opens_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no start time appeared"):
        wait_at_start_gate(str(tmp_path), "node-jp", timeout_s=0.2)
