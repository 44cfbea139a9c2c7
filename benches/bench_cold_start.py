"""Cold start of ``triwarn demo``: from the command to the first picture, with an empty numba cache, stage by stage.

Run: ``python benches/bench_cold_start.py [--speed 5] [--runs 1] [--output FILE]``.

Each run starts ``triwarn demo --json`` (the installed command, as a user types it) with ``NUMBA_CACHE_DIR``
pointing at a new, empty folder, so every kernel compiles as on a fresh install; then the same again with that
cache filled (the warm start). Every line the demo prints is stamped on arrival, which gives the stages:

- ``kernels``: the numba warm-up (compiling on the cold run, loading on the warm one);
- ``services``: broker, fusion service and nodes started and ready, clock started, gRPC serving;
- ``first_picture``: the first picture update on stdout (the snapshot);
- ``first_track``: the first update that holds a track, with that track's altitude (a low altitude: the
  flight is shown from launch) and the number of picture updates over the whole scenario (a cold run that
  lost the scenario's first seconds shows fewer than the warm run).

Prints a table and writes ``benches/results/bench_cold_start.json``. The target (issue 18): ≤ 60 s from the
command to the first picture on a cold cache, on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "bench_cold_start.json"

#: stderr lines of the demo that end a stage, by the stage they end
STAGE_MARKS = {"kernels": "kernels ready in", "services": "fusion service: gRPC"}


def _triwarn() -> list[str]:
    exe = shutil.which("triwarn")
    return [exe] if exe else [sys.executable, "-P", "-m", "triwarn.cli.main"]


def one_run(cache_dir: Path, speed: float, scenario: str) -> dict[str, Any]:
    """One ``triwarn demo --json`` with this numba cache folder; the stages in seconds from the start."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    cmd = [*_triwarn(), "demo", "--json", "--speed", f"{speed:g}", "--scenario", scenario]
    t0 = time.monotonic()
    stamps: dict[str, float] = {}
    stderr_lines: list[str] = []

    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        err = proc.stderr

        def read_stderr() -> None:
            for line in err:
                stderr_lines.append(line.rstrip())
                for stage, mark in STAGE_MARKS.items():
                    if mark in line and stage not in stamps:
                        stamps[stage] = time.monotonic() - t0
                if "compiling numba kernels" in line:
                    print(f"  {time.monotonic() - t0:5.1f} s {line.strip()}", file=sys.stderr, flush=True)

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        updates = 0
        first_track_alt_km = None
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            updates += 1
            if "first_picture" not in stamps:
                stamps["first_picture"] = time.monotonic() - t0
                print(f"  {stamps['first_picture']:5.1f} s first picture update", file=sys.stderr, flush=True)
            if first_track_alt_km is None:
                tracks = json.loads(line).get("tracks", [])
                if tracks:
                    stamps["first_track"] = time.monotonic() - t0
                    first_track_alt_km = min(t["altitude_m"] for t in tracks) / 1e3
        proc.wait()
        reader.join(10)
    if proc.returncode != 0:
        raise RuntimeError(f"triwarn demo exited {proc.returncode}:\n" + "\n".join(stderr_lines[-20:]))
    return {
        "stages_s": stamps,
        "updates": updates,
        "first_track_altitude_km": first_track_alt_km,
        "total_s": time.monotonic() - t0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--speed", type=float, default=5.0, help="the demo's --speed (default 5, the demo's own)")
    parser.add_argument("--scenario", default="demo")
    parser.add_argument("--runs", type=int, default=1, help="cold/warm pairs (default 1)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    pairs = []
    for k in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="triwarn-numba-cache-") as cache:
            print(f"== run {k + 1}/{args.runs}: cold (empty numba cache {cache})", file=sys.stderr, flush=True)
            cold = one_run(Path(cache), args.speed, args.scenario)
            print(f"== run {k + 1}/{args.runs}: warm (the same cache, now filled)", file=sys.stderr, flush=True)
            warm = one_run(Path(cache), args.speed, args.scenario)
        pairs.append({"cold": cold, "warm": warm})
        for name, r in (("cold", cold), ("warm", warm)):
            s = {k: r["stages_s"].get(k, float("nan")) for k in ("kernels", "services", "first_picture", "first_track")}
            print(
                f"{name}: kernels {s['kernels']:5.1f} s, services up {s['services']:5.1f} s, first picture "
                f"{s['first_picture']:5.1f} s, first track {s['first_track']:5.1f} s "
                f"(at {r['first_track_altitude_km'] or float('nan'):.1f} km), {r['updates']} updates"
            )
    out = {
        "benchmark": "cold start of triwarn demo (empty numba cache) and warm start",
        "target": "first picture <= 60 s from the command, cold, on 2 cores",
        "speed": args.speed,
        "scenario": args.scenario,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_at_end": os.getloadavg()},
        "runs": pairs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
