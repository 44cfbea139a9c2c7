"""Run mypy on triwarn.services and triwarn.sensors as the installed package sees them.

The repository maps folders onto one namespace (setup.py: core/ -> triwarn.core, ...), which mypy cannot
follow through the editable install's import hook. This script lays out a temporary tree of symlinks with
the installed shape (triwarn/{core,sensors,services,v1}) and runs mypy on it with pyproject.toml's settings.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINKS = {
    "core": "core",
    "sensors": "sensors",
    "services": "services",
    "scenarios": "scenarios",
    "analysis": "analysis",
    "benches": "benches",
    "cli": "triwarn/cli",
    "v1": "triwarn/v1",
}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="triwarn-mypy-") as tmp:
        pkg = Path(tmp) / "triwarn"
        pkg.mkdir()
        (pkg / "__init__.py").symlink_to(ROOT / "triwarn" / "__init__.py")
        for name, folder in LINKS.items():
            (pkg / name).symlink_to(ROOT / folder, target_is_directory=True)
        cmd = [
            sys.executable, "-m", "mypy",
            "--config-file", str(ROOT / "pyproject.toml"),
            "-p", "triwarn.services",
            "-p", "triwarn.sensors",
            "-p", "triwarn.scenarios",
            "-p", "triwarn.analysis",
            # the harnesses behind `triwarn bench` (the other scripts in benches/ are not checked)
            "-m", "triwarn.benches.bench_e2e",
            "-m", "triwarn.benches.bench_fusion",
            "-m", "triwarn.benches.bench_impact",
            "-p", "triwarn.cli",
        ]  # fmt: skip
        return subprocess.call(cmd, cwd=tmp)


if __name__ == "__main__":
    sys.exit(main())
