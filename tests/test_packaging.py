"""The built wheel installs the folders under one namespace and works from outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_imports_under_one_namespace_from_outside_the_checkout(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("triwarn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "triwarn/__init__.py",
        "triwarn/v1/picture_pb2.py",
        "triwarn/core/jit.py",
        "triwarn/core/tracks.py",
        "triwarn/sensors/sim/__init__.py",
        "triwarn/cli/main.py",
        "triwarn/cli/commands/demo.py",
        "triwarn/scenarios/demo.toml",
        "triwarn/sensors/sim/data/sensors.toml",
        "triwarn/core/trajectory/data/missiles.toml",
        "triwarn/core/trajectory/data/ussa1976_upper.npz",
        "triwarn/core/assessment/data/areas_nw_pacific.npz",
    ):
        assert expected in names, f"{expected} missing from the wheel"
    assert not any(n.startswith(("core/", "services/", "sensors/", "tests/")) for n in names)

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        timeout=300,
    )
    code = (
        "import triwarn, triwarn.core.tracks, triwarn.sensors.sim, triwarn.cli.main;"
        "import triwarn.v1.tracks_pb2;"
        "from importlib.resources import files;"
        "print(triwarn.__file__);"
        "print(files('triwarn.scenarios').joinpath('demo.toml').is_file());"
        "from triwarn.sensors.sim.catalog import load_catalog;"
        "from triwarn.scenarios.scenario_file import load_scenario;"
        "from triwarn.cli.main import build_parser; build_parser();"
        "print(len(load_catalog().sensors) > 0 and len(load_scenario('demo').sensor_ids) > 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert Path(out[0]).is_relative_to(site), f"imported {out[0]}, not the wheel's copy"
    assert out[1:] == ["True", "True"], "the wheel's data files (scenarios, sensor catalog) must load"


def test_every_source_folder_is_a_package() -> None:
    """A folder without __init__.py imports in an editable install (namespace package) but is left out of
    the wheel: every folder with Python files must be a regular package."""
    for top in ("core", "sensors", "services", "triwarn", "scenarios"):
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            shipped = [f for f in folder.iterdir() if f.suffix in {".py", ".toml", ".npz", ".csv", ".json"}]
            if folder.name == "__pycache__" or not shipped:
                continue
            assert (folder / "__init__.py").exists(), f"{folder.relative_to(ROOT)} has no __init__.py"
