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


def test_the_fusion_service_is_ready_at_the_gate_only_with_its_assessment_process_warm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`triwarn fusion --start-gate` announces itself ready only after its assessment process has warmed its
    kernels, and the service then runs with that process (not a second, cold one): at 25x a cold assessment
    process cost a short demo all of its assessments."""
    from triwarn.cli.commands import fusion as fusion_cmd
    from triwarn.cli.main import build_parser
    from triwarn.services import fusion

    order: list[str] = []

    class Assessor:
        def __init__(self, settings: object, n_groups: int) -> None:
            order.append("assessor started")
            self.n_groups = n_groups

        def wait_ready(self, timeout_s: float | None = None) -> None:
            order.append("assessor warm")

    async def run(settings: object, assessor: object = None) -> int:
        order.append("service runs")
        assert isinstance(assessor, Assessor) and assessor.n_groups >= 1
        return 0

    def gate(folder: str, name: str, timeout_s: float = 900.0) -> int:
        order.append(f"ready at the gate as {name}")
        return time.time_ns()

    monkeypatch.setattr(fusion, "AssessProcess", Assessor)
    monkeypatch.setattr(fusion.FusionService, "warm_up", lambda self, assess=True: order.append(f"warm {assess}"))
    monkeypatch.setattr(fusion, "run", run)
    monkeypatch.setattr(fusion_cmd, "wait_at_start_gate", gate)
    args = build_parser().parse_args(["fusion", "--start-gate", str(tmp_path), "--speed", "25"])
    assert args.func(args) == 0
    assert order == [
        "assessor started",
        "warm False",
        "assessor warm",
        "ready at the gate as fusion",
        "service runs",
    ]
