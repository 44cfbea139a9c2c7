"""The quality-on-the-catalog script's core (benches/quality_catalog.py) on the demo, recorded with
``triwarn replay --runs``."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

import pytest

from triwarn.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quality_catalog", ROOT / "benches" / "quality_catalog.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """demo recorded as the script does: 2 Monte Carlo runs (default policy), 1 run releasing nothing."""
    work = tmp_path_factory.mktemp("quality")
    assert main(["replay", "demo", "--fast", "--record", str(work / "demo" / "all"), "--runs", "2", "--json"]) == 0
    policy = work / "none.toml"
    policy.write_text(_bench().NO_RELEASE_POLICY)
    assert main(["replay", "demo", "--fast", "--record", str(work / "demo" / "none"), "--policy", str(policy)]) == 0
    return work


def test_replay_runs_record_one_folder_per_seed(demo: Path) -> None:
    runs = sorted(p.name for p in (demo / "demo" / "all").iterdir())
    assert runs == ["run-001", "run-002"]
    seeds = [json.loads((demo / "demo" / "all" / r / "meta.json").read_text())["seed"] for r in runs]
    assert seeds == [1, 2]
    truth = [(demo / "demo" / "all" / r / "truth.csv").read_text() for r in runs]
    pictures = [(demo / "demo" / "all" / r / "picture.csv").read_text() for r in runs]
    assert truth[0] == truth[1] and pictures[0] != pictures[1]  # same flights, different measurement noise


def test_the_quality_row_of_the_demo(demo: Path) -> None:
    bench = _bench()
    row = bench.score("demo", demo, max_steps=20)
    assert row["runs"] == 2 and row["objects"] == 2 and not row["lofted_icbm"]
    assert row["missiles"] == ["hwasong-6", "kn-23"]
    # two SRBMs in clear view of several radars: every object tracked, one track each, no spurious ones
    assert row["completeness"] == 1.0 and row["ambiguity"] == 1.0 and row["spuriousness"] <= 0.05
    assert set(row["fused_vs_single"]["per_nation"]) <= {"us", "jp", "kr"} and row["best_nation"] is not None
    # errors are physical: well under the 10 km association threshold for position, tens of km at most for impact
    assert 0.0 < row["fused_m"] < 10_000.0 and 0.0 < row["best_nation_m"] < 10_000.0
    assert 0.0 < row["impact_60s_km"] < 50.0 and 0.0 < row["launch_km"] < 100.0
    assert 0.0 <= row["coverage"] <= 1.0 and len(row["coverage_per_run"]) == 2
    assert row["first_impact_s"] >= 0.0
    v = bench.verdict(row)
    assert v["impact_300s_km"] is None  # not a lofted ICBM
    assert v["completeness"] is True
    assert not math.isnan(row["impact_300s_km"])  # the demo flies > 300 s
    assert "demo" in bench.format_row(row)
