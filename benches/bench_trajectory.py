"""Trajectory core speed: one lofted-ICBM flight, 1,000 ballistic states to impact, numba compile time.

Run: ``python benches/bench_trajectory.py [--repeat 50]``. Prints

- the numba first-use time with caching on: a fresh process with an empty cache (compiles and writes the
  cache), then a fresh process with that cache (loads it), each timing its first flight + first batch;
- one full lofted-ICBM flight launch -> impact (the 2022-11-18 Hwasong-17 event, steering planned once,
  dense trajectory stored), best and median of ``--repeat`` runs after warm-up (target <= 2 ms);
- 1,000 ballistic states propagated from mid-course to impact in one ``propagate_to_impact`` batch (a cloud
  around the mid-course state of the 2017-08-29 IRBM and of the lofted ICBM), best and median (target
  <= 50 ms on 2 cores);

and writes ``benches/results/bench_trajectory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from triwarn.core.trajectory.flight import fly_missile
from triwarn.core.trajectory.missiles import get_missile
from triwarn.core.trajectory.propagate import propagate_to_impact
from triwarn.scenarios.scenario_file import load_scenario

RESULTS = Path(__file__).resolve().parent / "results" / "bench_trajectory.json"

FIRST_USE = r"""
import time, math
t0 = time.perf_counter()
import numpy as np
from triwarn.core.trajectory.flight import Steering, fly_missile
from triwarn.core.trajectory.missiles import get_missile
from triwarn.core.trajectory.propagate import propagate_to_impact
t1 = time.perf_counter()
v = get_missile("hwasong-17").vehicle
f = fly_missile(v, math.radians(39.22), math.radians(125.67), Steering(1.24, 1.36, 267.0))
p, t = propagate_to_impact(np.array([[-3.1e6, 4.0e6, 4.2e6, -1000.0, -300.0, 600.0]]), 0.0, 8000.0)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _first_use(cache_dir: str) -> tuple[float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", FIRST_USE], env=env, capture_output=True, text=True, check=True)
    imp, first = (float(x) for x in out.stdout.split())
    return imp, first


def _times(fn, repeat: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls; the process CPU seconds of each call go to ``cpu``."""
    out = []
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--n", type=int, default=1000, help="states in the batch (default 1000)")
    args = parser.parse_args()
    results: dict[str, object] = {"python": platform.python_version(), "cpus": os.cpu_count()}

    print("compiling numba kernels (first run only)... measuring first use in fresh processes", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        imp_cold, first_cold = _first_use(cache)
        print(f"  empty cache : import {imp_cold:6.2f} s, first flight + first batch {first_cold:6.2f} s", flush=True)
        imp_warm, first_warm = _first_use(cache)
        print(f"  warm cache  : import {imp_warm:6.2f} s, first flight + first batch {first_warm:6.2f} s", flush=True)
    results["first_use_compile_s"] = first_cold
    results["first_use_cached_s"] = first_warm
    results["import_s"] = imp_warm

    print(f"numba threads: {numba.get_num_threads()}", flush=True)
    print("planning the catalog flights (warm-up)...", flush=True)
    icbm = load_scenario("2022-11-18-hwasong17-lofted").truth().plans[0]
    irbm = load_scenario("2017-08-29-hwasong12-overflight").truth().plans[0]
    v17 = get_missile("hwasong-17").vehicle
    lat, lon = np.radians(icbm.launch_lat_deg), np.radians(icbm.launch_lon_deg)

    def one_flight() -> None:
        fly_missile(v17, lat, lon, icbm.steering, store=True)

    one_flight()
    t = _times(one_flight, args.repeat)
    f = icbm.flight
    print(
        f"lofted ICBM flight ({f.apogee_m / 1e3:.0f} km apogee, {f.impact_t_s:.0f} s, {f.steps[3]} steps): "
        f"best {min(t) * 1e3:.3f} ms, median {statistics.median(t) * 1e3:.3f} ms   (target <= 2 ms)",
        flush=True,
    )
    results["icbm_flight_ms_best"] = min(t) * 1e3
    results["icbm_flight_ms_median"] = statistics.median(t) * 1e3

    rng = np.random.default_rng(1)
    for label, plan, beta in (("irbm_midcourse", irbm, 8000.0), ("icbm_midcourse", icbm, 10000.0)):
        fl = plan.flight
        t_mid = fl.apogee_t_s
        pos, vel = fl.sample(np.array([t_mid]))
        x0 = np.concatenate([pos[0], vel[0]])
        states = x0 + np.concatenate([rng.normal(0, 200.0, (args.n, 3)), rng.normal(0, 2.0, (args.n, 3))], axis=1)
        propagate_to_impact(states, t_mid, beta)
        cpu: list[float] = []
        tt = _times(lambda s=states, t0=t_mid, b=beta: propagate_to_impact(s, t0, b), max(5, args.repeat // 5), cpu)
        threads = numba.get_num_threads()
        print(
            f"{args.n} ballistic states {label} -> impact ({fl.impact_t_s - t_mid:.0f} s to go): "
            f"best {min(tt) * 1e3:.1f} ms, median {statistics.median(tt) * 1e3:.1f} ms wall; "
            f"CPU {min(cpu) * 1e3:.1f} ms = {min(cpu) / threads * 1e3:.1f} ms per thread on {threads}   "
            f"(target <= 50 ms)",
            flush=True,
        )
        results[f"batch_{label}_ms_best"] = min(tt) * 1e3
        results[f"batch_{label}_ms_median"] = statistics.median(tt) * 1e3
        results[f"batch_{label}_cpu_ms"] = min(cpu) * 1e3
    results["n_states"] = args.n
    load = os.getloadavg()[0]
    results["load_average_1min"] = load
    print(f"load average during the run: {load:.2f} on {os.cpu_count()} CPUs (wall times grow with it)")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
