"""``triwarn bench fusion``: per-cycle latency of the fusion core, and Stone Soup on the same job.

Scenario (synthetic, seeded): :func:`triwarn.sensors.sim.synthetic.make_scenario`, N objects in free flight
over north-east Asia seen by the three nations us, jp and kr, each reporting every object once per 1 s cycle
at its own time offset, with its own anisotropic covariance and errors correlated between nations and in time
(see that module).

Our engine: one cycle = the three nations' batches through :meth:`FusionEngine.ingest` (alignment, gating,
assignment, fusion, track management, building the result objects); p50/p99 over the measured cycles, and the
mean time per stage from the engine's own counters. Stone Soup (pinned version in the results): the same
nations' states of the same cycles fed as ``GaussianDetection``s (6-D, identity ``LinearGaussian`` model with
the nation's covariance, as its ``Tracks2GaussianDetectionFeeder`` does) to a tracker made of its parts:
``KalmanPredictor`` (constant velocity: Stone Soup has no ballistic model), its covariance-intersection
updater ``ChernoffUpdater`` (ω fixed at 0.5), a Mahalanobis ``DistanceHypothesiser`` with a finite
``missed_distance`` and ``GNNWith2DAssignment``; one scan per nation batch, tracks started from the first
nation's first batch. Stone Soup is ~1000x slower, so it runs on fewer objects and cycles (printed), our
engine runs the same smaller job again, and the ratio compares the two on that job.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import sys
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from triwarn.benches.script import script_main

if TYPE_CHECKING:
    from triwarn.sensors.sim.synthetic import FusionScenario


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--objects", default="1000", help="comma-separated object counts (default 1000)")
    parser.add_argument("--cycles", type=int, default=30, help="measured update cycles (default 30)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-stonesoup", action="store_true", help="skip the Stone Soup comparison")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the scenario")
    parser.add_argument(
        "--stonesoup-objects",
        type=int,
        default=100,
        help="objects in the Stone Soup comparison (default 100: it takes ~1.5 s per cycle there, ~40 s per "
        "scan at 1000)",
    )
    parser.add_argument("--stonesoup-cycles", type=int, default=2, help="cycles of the Stone Soup comparison")
    parser.add_argument("--threads", type=int, help="numba threads for the kernels (default: all cores)")
    parser.add_argument("--output", type=Path, help="also write the results (JSON) to this file")


def run(args: argparse.Namespace) -> int:
    if args.threads:
        import numba  # not at the top: see measure

        numba.set_num_threads(args.threads)
    runs = []
    for k, n in enumerate(int(v) for v in str(args.objects).split(",")):
        print(f"== {n} objects ==", file=sys.stderr, flush=True)
        result = measure(
            n,
            args.cycles,
            seed=args.seed,
            stonesoup=(k == 0 and not args.no_stonesoup),
            log=sys.stderr,
            stonesoup_objects=args.stonesoup_objects,
            stonesoup_cycles=args.stonesoup_cycles,
        )
        if args.json:
            print(json.dumps(result))
        else:
            print_table(result)
        runs.append(result)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({**runs[0], "runs": runs}, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def measure(
    n_objects: int,
    cycles: int,
    seed: int = 1,
    stonesoup: bool = True,
    log: Any = None,
    stonesoup_objects: int = 100,
    stonesoup_cycles: int = 2,
) -> dict[str, Any]:
    """Run the benchmark; returns the numbers as a dict (see ``--json``)."""
    # numba and the kernels are imported here, not at the top: `triwarn bench` imports this module to build its
    # parser on every start of the CLI, which must not pay for them
    import numba

    from triwarn.core.fusion.engine import FusionEngine
    from triwarn.sensors.sim.synthetic import batch_of, make_scenario

    def say(msg: str) -> None:
        if log is not None:
            print(msg, file=log, flush=True)

    say("compiling numba kernels (first run only)...")
    t = time.perf_counter()
    warm = make_scenario(20, 2, seed=seed + 1)
    eng = FusionEngine()
    for c in range(2):
        for j in range(3):
            eng.ingest(batch_of(warm, c, j))
    say(f"  ready in {time.perf_counter() - t:.1f} s")
    warmup = 2
    say(f"building the scenario: {n_objects} objects, 3 nations, {warmup + cycles} cycles...")
    sc = make_scenario(n_objects, warmup + cycles, seed=seed)
    batches = [[batch_of(sc, c, j) for j in range(3)] for c in range(warmup + cycles)]
    ours = _run_ours(sc, batches, warmup, say)
    say("the same cycles again after gc.freeze() (as a service that freezes its start-up objects)...")
    frozen = _run_ours(sc, batches, warmup, None, freeze=True)
    result: dict[str, Any] = {
        "benchmark": "fusion",
        "objects": n_objects,
        "nations": 3,
        "cycles": cycles,
        "cycle": "three nation batches (alignment, gating, assignment, fusion, track management, results)",
        "p50_ms": ours["p50_ms"],
        "p99_ms": ours["p99_ms"],
        "max_ms": ours["max_ms"],
        "stage_ms_per_cycle": ours["stage_ms_per_cycle"],
        "gc_ms_per_cycle": round(ours["gc_ms_per_cycle"], 3),
        "gc_max_ms": round(ours["gc_max_ms"], 3),
        "gc_full_collections": ours["gc_full_collections"],
        "gc_frozen": {k: frozen[k] for k in ("p50_ms", "p99_ms", "max_ms", "gc_max_ms", "gc_full_collections")},
        "system_tracks": ours["system_tracks"],
        "fused_rms_position_m": ours["fused_rms_m"],
        "best_nation_rms_position_m": ours["best_nation_rms_m"],
        "threads": numba.get_num_threads(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "versions": _versions(),
    }
    if stonesoup:
        m = min(stonesoup_objects, n_objects)
        say(f"Stone Soup on the same job: {m} objects, {stonesoup_cycles} cycles (it is far slower)...")
        sc_small = make_scenario(m, 1 + stonesoup_cycles, seed=seed)
        small_batches = [[batch_of(sc_small, c, j) for j in range(3)] for c in range(1 + stonesoup_cycles)]
        ours_small = _run_ours(sc_small, small_batches, 1, None)
        # our time on this job: the same objects over more cycles, so that p50 is not one sample
        sc_timing = make_scenario(m, 2 + 20, seed=seed)
        ours_timing = _run_ours(sc_timing, [[batch_of(sc_timing, c, j) for j in range(3)] for c in range(22)], 2, None)
        ss = _run_stonesoup(sc_small, say)
        result["stonesoup"] = {
            "objects": m,
            "cycles": stonesoup_cycles,
            "p50_ms": ss["p50_ms"],
            "fused_rms_position_m": ss["fused_rms_m"],
            "ours_p50_ms_same_job": ours_timing["p50_ms"],
            "ours_fused_rms_position_m_same_job": ours_small["fused_rms_m"],
            "setup": ss["setup"],
        }
        result["stonesoup_over_ours"] = ss["p50_ms"] / ours_timing["p50_ms"]
    return result


def _percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def _run_ours(
    sc: FusionScenario, batches: list[list[Any]], warmup: int, say: Any, freeze: bool = False
) -> dict[str, Any]:
    """Our engine on ``batches``; ``freeze``: ``gc.freeze()`` after the warm-up cycles (what a service does
    after start-up: the objects alive then are never walked again by Python's full collections)."""
    from triwarn.core.fusion.engine import FusionEngine  # not at the top: see measure

    engine = FusionEngine()
    for c in range(warmup):
        for b in batches[c]:
            engine.ingest(b)
    for k in engine.timings_s:
        engine.timings_s[k] = 0.0
    # time in Python's garbage collector (part of the cycle latency, not of any stage)
    gc_s = [0.0, 0.0]  # total, start of the running collection
    full = [0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_s[1] = time.perf_counter()
        else:
            gc_s[0] += time.perf_counter() - gc_s[1]
            full[0] += info["generation"] == 2

    lat, gc_ms = [], []
    n_cycles = len(batches) - warmup
    if freeze:
        gc.collect()
        gc.freeze()
    gc.callbacks.append(on_gc)
    try:
        for c in range(warmup, len(batches)):
            g0 = gc_s[0]
            t = time.perf_counter()
            for b in batches[c]:
                engine.ingest(b)
            lat.append((time.perf_counter() - t) * 1e3)
            gc_ms.append((gc_s[0] - g0) * 1e3)
            if say is not None and ((c - warmup) % 10 == 9 or c == len(batches) - 1):
                say(f"  cycle {c - warmup + 1}/{n_cycles}: p50 so far {_percentile(lat, 50):.2f} ms")
    finally:
        gc.callbacks.remove(on_gc)
        if freeze:
            gc.unfreeze()
    stage = {k: v * 1e3 / n_cycles for k, v in engine.timings_s.items()}
    stage["other"] = stage["total"] - sum(stage[k] for k in ("align", "gate", "assign", "fuse"))
    fused, best = _accuracy(sc, engine)
    return {
        "p50_ms": _percentile(lat, 50),
        "p99_ms": _percentile(lat, 99),
        "max_ms": max(lat),
        "stage_ms_per_cycle": {k: round(v, 3) for k, v in stage.items()},
        "gc_ms_per_cycle": float(np.mean(gc_ms)),
        "gc_max_ms": max(gc_ms),
        "gc_full_collections": full[0],
        "system_tracks": len(engine),
        "fused_rms_m": fused,
        "best_nation_rms_m": best,
    }


def _accuracy(sc: FusionScenario, engine: Any) -> tuple[float, float]:
    """RMS position error of the fused tracks at the last report time, and of the best nation."""
    us_numbers = {int(k): i for i, k in enumerate(sc.track_numbers[0])}
    t_end = int(sc.time_ns[-1, -1])
    err = []
    for t in engine.at(t_end):
        us = [s for s in t.sources if s.nation == sc.nations[0]]
        if us:
            obj = us_numbers[us[0].local_track_number]
            err.append(float(np.sum((t.x[:3] - sc.truth_x[-1, -1, obj, :3]) ** 2)))
    k = len(sc.nations)
    best = min(
        float(np.sqrt(np.mean(np.sum((sc.est_x[-1, j, :, :3] - sc.truth_x[-1, j, :, :3]) ** 2, -1)))) for j in range(k)
    )
    return float(np.sqrt(np.mean(err))) if err else float("nan"), best


def _run_stonesoup(sc: FusionScenario, say: Any) -> dict[str, Any]:
    """Stone Soup made of its parts for the same job (see the module docstring)."""
    # Stone Soup is imported here, not at the top: a heavy optional dependency (the dev extra; --no-stonesoup
    # runs without it)
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.types.detection import GaussianDetection
    from stonesoup.types.state import GaussianState
    from stonesoup.types.track import Track
    from stonesoup.updater.chernoff import ChernoffUpdater

    from triwarn.core.fusion.association import CHI2_6DOF_0999  # not at the top: see measure

    order = [0, 3, 1, 4, 2, 5]  # ours [x, y, z, vx, vy, vz] -> Stone Soup [x, vx, y, vy, z, vz]
    epoch = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)

    def stamp(t_ns: int) -> dt.datetime:
        return epoch + dt.timedelta(microseconds=(t_ns - int(sc.time_ns[0, 0])) / 1e3)

    q = 1.0  # the same midcourse process noise density as our engine  # assumption: not a published figure
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(q)] * 3)
    predictor = KalmanPredictor(transition)
    updater = ChernoffUpdater(measurement_model=None, omega=0.5)
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=float(np.sqrt(CHI2_6DOF_0999))
    )
    associator = GNNWith2DAssignment(hypothesiser)

    def detections(c: int, j: int) -> set[Any]:
        out = set()
        t = stamp(int(sc.time_ns[c, j]))
        for i in range(sc.est_x.shape[2]):
            P = sc.est_cov[j, i][np.ix_(order, order)]
            out.add(
                GaussianDetection(
                    sc.est_x[c, j, i][order].reshape(6, 1),
                    P,
                    timestamp=t,
                    measurement_model=LinearGaussian(6, list(range(6)), P),
                    metadata={"object": i},
                )
            )
        return out

    # tracks start from the first nation's first cycle; no initiator (our engine's track management is extra)
    tracks = set()
    for d in detections(0, 0):
        tracks.add(Track([GaussianState(d.state_vector, d.covar, timestamp=d.timestamp)], init_metadata=d.metadata))
    lat = []
    n_cycles = sc.est_x.shape[0] - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in range(1, sc.est_x.shape[0]):
            scans = [(stamp(int(sc.time_ns[c, j])), detections(c, j)) for j in range(len(sc.nations))]
            t0 = time.perf_counter()
            for t, dets in scans:
                hyps = associator.associate(tracks, dets, t)
                for track, hyp in hyps.items():
                    if hyp:
                        track.append(updater.update(hyp))
                    else:
                        track.append(hyp.prediction)
            lat.append((time.perf_counter() - t0) * 1e3)
            say(f"  Stone Soup cycle {c}/{n_cycles}: {lat[-1]:.0f} ms")
    # accuracy at the last report time (the last update is at the last nation's time)
    err = []
    for track in tracks:
        i = track.metadata["object"]
        x = np.asarray(track.state_vector, dtype=float).ravel()
        err.append(float(np.sum((x[[0, 2, 4]] - sc.truth_x[-1, -1, i, :3]) ** 2)))
    return {
        "p50_ms": _percentile(lat, 50),
        "fused_rms_m": float(np.sqrt(np.mean(err))),
        "setup": "KalmanPredictor(3x ConstantVelocity), ChernoffUpdater (CI, omega 0.5), DistanceHypothesiser"
        "(Mahalanobis, missed_distance sqrt(chi2 0.999, 6 dof)), GNNWith2DAssignment; nations' tracks as "
        "GaussianDetection with their covariance; no initiator/deleter",
    }


def _versions() -> dict[str, str]:
    out = {}
    for name in ("numpy", "numba", "scipy", "stonesoup"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    out["python"] = sys.version.split()[0]
    return out


def print_table(result: dict[str, Any]) -> None:
    print(
        f"fusion benchmark: {result['objects']} objects x 3 nations, {result['cycles']} cycles, "
        f"{result['threads']} numba threads"
    )
    print(f"  per cycle ({result['cycle']}):")
    print(f"    p50 {result['p50_ms']:.2f} ms   p99 {result['p99_ms']:.2f} ms   max {result['max_ms']:.2f} ms")
    stages = ", ".join(f"{k} {v:.2f}" for k, v in result["stage_ms_per_cycle"].items())
    print(f"    mean ms per cycle by stage: {stages}")
    print(
        f"    Python's garbage collector: {result['gc_ms_per_cycle']:.2f} ms per cycle on average, worst "
        f"{result['gc_max_ms']:.1f} ms ({result['gc_full_collections']} full collections)"
    )
    fz = result["gc_frozen"]
    print(
        f"    after gc.freeze(): p50 {fz['p50_ms']:.2f} ms   p99 {fz['p99_ms']:.2f} ms   max {fz['max_ms']:.2f} ms "
        f"(collector worst {fz['gc_max_ms']:.1f} ms)"
    )
    print(f"  system tracks: {result['system_tracks']}")
    print(
        f"  RMS position error: fused {result['fused_rms_position_m']:.1f} m, best single nation "
        f"{result['best_nation_rms_position_m']:.1f} m"
    )
    ss = result.get("stonesoup")
    if ss:
        print(
            f"  Stone Soup, same job at {ss['objects']} objects x {ss['cycles']} cycles: p50 {ss['p50_ms']:.0f} ms "
            f"per cycle (ours {ss['ours_p50_ms_same_job']:.2f} ms): Stone Soup / ours = "
            f"{result['stonesoup_over_ours']:.0f}x"
        )
        print(
            f"    RMS position error: Stone Soup {ss['fused_rms_position_m']:.1f} m, ours "
            f"{ss['ours_fused_rms_position_m_same_job']:.1f} m"
        )
        print(f"    setup: {ss['setup']}")


#: where ``python benches/bench_fusion.py`` writes its results (``triwarn bench fusion`` writes only with --output)
RESULTS = Path(__file__).resolve().parent / "results" / "bench_fusion.json"


def main() -> int:
    return script_main(__doc__, add_arguments, run, objects="1000,10000", output=RESULTS)


if __name__ == "__main__":
    sys.exit(main())
