"""Measurement generation + local tracking of one nation: CPU time per simulated second, % of one core.

Run: ``python benches/bench_tracking.py [--objects 100] [--nation us] [--seconds 200] [--seed 1]``.

``--consistency`` instead measures the trackers' consistency and false tracks in realistic runs (see
:func:`consistency`): ``python benches/bench_tracking.py --consistency [--runs 5]`` writes
``benches/results/tracking_consistency.json``.

A salvo of ``--objects`` missiles is launched within 20 s from around Pyongyang (the synthetic truth of
:mod:`triwarn.sensors.sim.synthetic`), so all of them fly at the same time for several minutes. The nation's
whole catalog of sensors (all of them, not only a scenario's) scans them, false alarms included, and the
nation's tracker runs, stepped at 1 Hz, exactly as the node service calls it (:class:`NationSim.step`). The
CPU time (``time.process_time``, all threads) of the steps over ``--seconds`` simulated seconds, once every
object is in flight, is divided by the simulated time. Truth generation is excluded (it is precomputed);
truth sampling is included. Writes ``benches/results/bench_tracking.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from triwarn.core.tracks import Phase, Status
from triwarn.scenarios.scenario_file import load_scenario
from triwarn.sensors.sim.nation import NationSim
from triwarn.sensors.sim.synthetic import SyntheticScenario, salvo

RESULTS = Path(__file__).resolve().parent / "results" / "bench_tracking.json"
CONSISTENCY = Path(__file__).resolve().parent / "results" / "tracking_consistency.json"
CHI2_6_95 = 12.592  # χ²₆ 95 % point: a consistent tracker exceeds it in 5 % of its reports


def consistency(runs: int, output: Path) -> int:
    """Per-phase NEES of every nation's reported tracks in realistic runs: the demo scenario, the 2022-11-02
    salvo and a synthetic salvo of 12 missiles launched within 30 s, ``runs`` seeds each, all sensors with
    their catalog registration biases. Every report (confirmed or coasting) at every 1 s step is matched to
    the nearest true object at the report's time; NEES = eᵀP⁻¹e over the 6-D ECEF position and velocity,
    grouped by the true object's phase. A report farther than 20 km from every object in flight is counted as
    false (a ghost), unless it is within 30 km of where an object impacted in the last 10 s (a track reported
    for a few seconds after its impact, until it is predicted below the ground, is not a false track).
    Successive reports of one track are correlated, so no χ² band is claimed here: printed are the mean and
    median NEES (6 and 5.35 for a consistent tracker) and the share of reports above the χ²₆ 95 % point (5 %).
    The Monte Carlo tests with a band are in tests/core/tracking/test_tracker.py."""
    scenarios = {
        "demo": lambda: load_scenario("demo"),
        "2022-11-02-salvo": lambda: load_scenario("2022-11-02-salvo"),
        "synthetic-salvo-12": lambda: SyntheticScenario(salvo(12, seed=3, spread_s=30.0)),
    }
    out: dict = {"benchmark": "tracking_consistency", "runs": runs, "rows": []}
    for name, make in scenarios.items():
        scn = make()
        for nation in ("us", "jp", "kr"):
            nees: dict[int, list[float]] = {int(p): [] for p in Phase}
            n_reports = n_far = 0
            for seed in range(1, runs + 1):
                sim = NationSim(nation, scn, seed=seed)
                truth = sim.truth
                last_pos = np.full((len(truth.sample(0.0).active), 3), np.inf)
                last_t = np.full(last_pos.shape[0], -np.inf)
                end = float(truth.end_s()) if hasattr(truth, "end_s") else float(scn.duration_s)
                for t in np.arange(0.0, end, 1.0):
                    lt = sim.step(float(t))
                    now = truth.sample(float(t))
                    last_pos[now.active] = now.pos_ecef_m[now.active]
                    last_t[now.active] = t
                    for i in np.flatnonzero(lt.status != Status.DELETED):
                        smp = truth.sample(float(lt.t_s[i]))
                        act = np.flatnonzero(smp.active)
                        n_reports += 1
                        d = np.linalg.norm(smp.pos_ecef_m[act] - lt.x[i, :3], axis=1) if act.size else np.array([])
                        if not act.size or d.min() > 20e3:
                            ended = (last_t >= t - 10.0) & (last_t < t)
                            lag = ended.any() and np.linalg.norm(last_pos[ended] - lt.x[i, :3], axis=1).min() < 30e3
                            n_far += 0 if lag else 1
                            continue
                        j = act[np.argmin(d)]
                        e = lt.x[i] - np.r_[smp.pos_ecef_m[j], smp.vel_ecef_m_s[j]]
                        nees[int(smp.phase[j])].append(float(e @ np.linalg.solve(lt.P[i], e)))
            row: dict[str, object] = {"scenario": name, "nation": nation, "reports": n_reports, "false_reports": n_far}
            for p in Phase:
                v = np.array(nees[int(p)])
                if v.size:
                    row[p.name.lower()] = {
                        "reports": int(v.size),
                        "mean_nees": round(float(v.mean()), 2),
                        "median_nees": round(float(np.median(v)), 2),
                        "share_above_chi2_95": round(float((v > CHI2_6_95).mean()), 3),
                    }
            out["rows"].append(row)
            print(json.dumps(row), flush=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {output}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--nation", default="us", choices=["us", "jp", "kr"])
    parser.add_argument("--seconds", type=float, default=120.0, help="simulated seconds measured (from t = 120 s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--consistency", action="store_true", help="per-phase NEES and false tracks instead")
    parser.add_argument("--runs", type=int, default=5, help="seeds per scenario with --consistency")
    args = parser.parse_args()
    if args.consistency:
        return consistency(args.runs, args.output or CONSISTENCY)
    args.output = args.output or RESULTS
    print("compiling numba kernels (first run only)...", flush=True)
    t0 = time.perf_counter()
    warm = NationSim(args.nation, SyntheticScenario(salvo(2, seed=0)), seed=0)
    for t in np.arange(0.0, 160.0, 1.0):
        warm.step(t)
    print(f"  ready in {time.perf_counter() - t0:.1f} s", flush=True)

    print(f"flying {args.objects} objects (synthetic truth)...", flush=True)
    scenario = SyntheticScenario(salvo(args.objects, seed=args.seed, spread_s=20.0))
    sim = NationSim(args.nation, scenario, seed=args.seed)
    truth = sim.truth
    print(f"  {args.nation} sensors: {', '.join(sim.sensor_ids)}", flush=True)

    # spin up: from the first launch until every object is launched and most have tracks
    t_start = 120.0
    for t in np.arange(0.0, t_start, 1.0):
        sim.step(t)
    steps = np.arange(t_start, t_start + args.seconds, 1.0)
    cpu = np.empty(steps.size)
    in_flight = np.empty(steps.size, np.int64)
    live_tracks = np.empty(steps.size, np.int64)
    measurements = 0
    sim.scan_log = []
    for i, t in enumerate(steps):
        c0 = time.process_time()
        lt = sim.step(float(t))
        cpu[i] = time.process_time() - c0
        in_flight[i] = int(truth.sample(float(t)).active.sum())
        live_tracks[i] = int((lt.status != Status.DELETED).sum())
        if (i + 1) % 50 == 0 or i + 1 == steps.size:
            print(
                f"  t = {t:5.0f} s: {in_flight[i]:3d} objects in flight, {live_tracks[i]:3d} tracks, "
                f"{1e3 * cpu[max(0, i - 49) : i + 1].mean():6.2f} ms CPU per 1 s step",
                flush=True,
            )
        measurements += sum(len(s) for s in sim.scan_log)
        sim.scan_log.clear()
    pct = 100.0 * cpu.sum() / (steps.size * 1.0)
    result = {
        "benchmark": "tracking",
        "nation": args.nation,
        "sensors": list(sim.sensor_ids),
        "objects": args.objects,
        "simulated_s": float(steps.size),
        "step_s": 1.0,
        "mean_objects_in_flight": float(in_flight.mean()),
        "min_objects_in_flight": int(in_flight.min()),
        "mean_live_tracks": float(live_tracks.mean()),
        "measurements_per_s": measurements / steps.size,
        "cpu_ms_per_step_mean": 1e3 * float(cpu.mean()),
        "cpu_ms_per_step_p99": 1e3 * float(np.percentile(cpu, 99)),
        "cpu_percent_of_one_core": pct,
        "target_percent": 10.0,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "numpy": np.__version__,
    }
    r = result
    print(
        f"{args.nation}: {r['mean_objects_in_flight']:.0f} objects in flight (min {r['min_objects_in_flight']}), "
        f"{r['mean_live_tracks']:.0f} tracks, {r['measurements_per_s']:.0f} measurements/s: "
        f"{r['cpu_ms_per_step_mean']:.1f} ms CPU per simulated second (p99 {r['cpu_ms_per_step_p99']:.1f} ms) "
        f"= {pct:.1f} % of one core (target < 10 %)"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
