"""Nanoseconds per element of the batch kernels of frames, gravity and atmosphere.

Run: ``python benches/bench_core_kernels.py [--n 100000] [--repeat 7]``. Prints one line per kernel (best of
``--repeat`` runs over ``--n`` elements) and writes ``benches/results/bench_core_kernels.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "bench_core_kernels.json"


def _best_ns_per_elem(fn: Callable[[], Any], n: int, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        best = min(best, time.perf_counter_ns() - t0)
    return best / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    t_import = time.perf_counter()
    # imported here, not at the top: the import is part of what this benchmark times
    from triwarn.core.trajectory import atmosphere as atm
    from triwarn.core.trajectory import constants as c
    from triwarn.core.trajectory import frames as fr
    from triwarn.core.trajectory import gravity as gr

    n = args.n
    rng = np.random.default_rng(0)
    lla = np.column_stack([rng.uniform(-1.5, 1.5, n), rng.uniform(-3.1, 3.1, n), rng.uniform(0.0, 2e6, n)])
    lat2 = rng.uniform(-1.5, 1.5, n)
    lon2 = rng.uniform(-3.1, 3.1, n)
    az = rng.uniform(0, 2 * math.pi, n)
    s = rng.uniform(0, 1.5e7, n)
    vel = rng.normal(size=(n, 3)) * 3e3
    era = rng.uniform(0, 2 * math.pi, n)
    h = rng.uniform(-100.0, 1.2e6, n)
    tab = atm.upper_table()
    lat0, lon0, h0 = math.radians(35.18), math.radians(129.08), 100.0
    pos = fr.geodetic_to_ecef_batch(lla)

    cases: dict[str, Callable[[], Any]] = {
        "geodetic_to_ecef_batch": lambda: fr.geodetic_to_ecef_batch(lla),
        "ecef_to_geodetic_batch": lambda: fr.ecef_to_geodetic_batch(pos),
        "ecef_to_enu_batch": lambda: fr.ecef_to_enu_batch(pos, lat0, lon0, h0),
        "ecef_to_aer_batch": lambda: fr.ecef_to_aer_batch(pos, lat0, lon0, h0),
        "ecef_to_eci_batch": lambda: fr.ecef_to_eci_batch(pos, vel, era, c.OMEGA_E_RAD_S),
        "geodesic_inverse_batch": lambda: fr.geodesic_inverse_batch(lla[:, 0], lla[:, 1], lat2, lon2),
        "geodesic_direct_batch": lambda: fr.geodesic_direct_batch(lla[:, 0], lla[:, 1], az, s),
        "accel_j2_inertial_batch": lambda: gr.accel_j2_inertial_batch(pos, c.GM_M3_S2, c.RE_J2_M, c.J2),
        "accel_j2_ecef_rotating_batch": lambda: gr.accel_j2_ecef_rotating_batch(
            pos, vel, c.GM_M3_S2, c.RE_J2_M, c.J2, c.OMEGA_E_RAD_S
        ),
        "ussa1976_density_batch": lambda: atm.ussa1976_density_batch(h, tab.z_m, tab.ln_rho_kg_m3),
        "ussa1976_state_batch": lambda: atm.ussa1976_state_batch(h, tab.z_m, tab.t_k, tab.ln_p_pa, tab.ln_rho_kg_m3),
    }

    print("compiling numba kernels (first run only)...", flush=True)
    t0 = time.perf_counter()
    for fn in cases.values():
        fn()
    warm_s = time.perf_counter() - t0
    print(f"  import {t0 - t_import:.2f} s, warm-up (compile or load from cache) {warm_s:.2f} s", flush=True)

    results: dict[str, float] = {}
    for i, (name, fn) in enumerate(cases.items(), 1):
        ns = _best_ns_per_elem(fn, n, args.repeat)
        results[name] = round(ns, 1)
        print(f"[{i:2d}/{len(cases)}] {name:30s} {ns:8.1f} ns/element  (n={n})", flush=True)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "bench_core_kernels",
                "unit": "ns per element, best of repeats",
                "n": n,
                "repeat": args.repeat,
                "warmup_s": round(warm_s, 3),
                "machine": platform.machine(),
                "python": platform.python_version(),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
