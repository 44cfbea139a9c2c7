"""Impact prediction speed and the trajectory-estimate quality targets of issue 6.

    triwarn bench impact [--tracks 100] [--runs 20] [--no-quality] [--json]
    python benches/bench_impact.py      (same, and writes benches/results/bench_impact.json)

Speed: impact prediction with its 95% ellipse (15 sigma points through the core's batch propagator, drag
included) for one track and for 100 tracks in one batch, and the full assessment (phase, class, impact, area
probabilities, overflight, level) of 100 tracks, first when they are new (launch estimates included) and then
per update, on the cores numba may use. With numba's OpenMP threading layer set ``OMP_WAIT_POLICY=PASSIVE``
on a loaded machine: with the default (active) policy every parallel call can cost milliseconds of spinning.
Quality: on the scenario catalog's truth flights
(the events.md reproductions), the impact-point error 300 s and 60 s before
impact, the launch-point error from a first track 20 s after launch (boost) and the 95% ellipse's coverage over
Monte Carlo runs. The track noise is an assumption (σ 200 m, 4 m/s per axis), not a published figure.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from triwarn.benches.script import script_main

NS = 1_000_000_000
SIGMA_POS_M = 200.0  # assumption: not a published figure (fused track accuracy)
SIGMA_VEL_M_S = 4.0  # assumption: not a published figure

#: catalog scenarios (scenarios/*.toml, the events.md reproductions); the first launch of each is used
EVENTS: tuple[str, ...] = (
    "2017-05-14-hwasong12-lofted",
    "2017-07-04-hwasong14",
    "2017-11-29-hwasong15",
    "2022-11-18-hwasong17-lofted",
    "2023-07-12-hwasong18",
    "2017-08-29-hwasong12-overflight",
    "2022-10-04-irbm-japan-overflight",
    "2019-07-25-kn23-depressed",
    "2017-04-05-sinpo-slbm",
    "2022-11-02-salvo",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracks", type=int, default=100, help="tracks in one batch (default 100)")
    p.add_argument("--runs", type=int, default=10, help="noisy runs per event for the quality figures")
    p.add_argument("--mc-runs", type=int, default=300, help="Monte Carlo runs for the ellipse coverage")
    p.add_argument("--no-quality", action="store_true", help="speed only")
    p.add_argument("--json", action="store_true", help="print the results as one JSON document")
    p.add_argument("--output", type=Path, help="also write the results (JSON) to this file")


def _flights() -> list[tuple[str, Any, tuple[float, float]]]:
    """(event, flight with t = 0 at launch, launch site) of the first launch of each catalog event."""
    from triwarn.scenarios.scenario_file import load_scenario  # not at the top: see run

    out = []
    for name in EVENTS:
        truth = load_scenario(name).truth()
        site = (float(truth.launch_lat_deg[0]), float(truth.launch_lon_deg[0]))
        out.append((name, truth.plans[0].flight, site))
    return out


def _median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def run(args: argparse.Namespace) -> int:
    # numba, the kernels and pymap3d are imported here, not at the top: `triwarn bench` imports this module to
    # build its parser on every start of the CLI, which must not pay for them
    import numba
    import numpy as np
    from pymap3d.vincenty import vdist

    from triwarn.core.assessment.assess import Assessor
    from triwarn.core.assessment.impact import CHI2_2DOF_95, mahalanobis2_en, predict_impacts
    from triwarn.core.tracks import SystemTrack
    from triwarn.core.trajectory.frames import ecef_to_geodetic
    from triwarn.core.trajectory.propagate import propagate_to_impact

    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else (lambda *a: print(*a, flush=True))
    rng = np.random.default_rng(1)
    P = np.diag([SIGMA_POS_M**2] * 3 + [SIGMA_VEL_M_S**2] * 3)
    lnb, varb = math.log(7500.0), 0.35**2
    say("flying the catalog events with the trajectory core...")
    flights = _flights()
    say("compiling numba kernels (first run only)...")
    t0 = time.perf_counter()
    f0 = flights[3][1]
    p0, v0 = f0.sample(np.array([0.5 * f0.flight_time_s]))
    predict_impacts(np.r_[p0[0], v0[0]][None], P[None], lnb, varb)
    Assessor().assess([SystemTrack(1, 0, np.r_[p0[0], v0[0]], P, ("us",), ())], 0)
    warm_s = time.perf_counter() - t0
    say(f"  warm-up {warm_s:.1f} s")

    # a mix of mid-course states of every event flight
    n = args.tracks
    X = np.empty((n, 6))
    for k in range(n):
        f = flights[k % len(flights)][1]
        t = f.burnout_t_s + (0.1 + 0.8 * rng.random()) * (f.flight_time_s - f.burnout_t_s)
        p, v = f.sample(np.array([t]))
        X[k] = np.r_[p[0], v[0]] + rng.multivariate_normal(np.zeros(6), P)
    Pn = np.repeat(P[None], n, 0)
    say(f"speed on {numba.get_num_threads()} numba threads:")
    one_ms = _median_ms(lambda: predict_impacts(X[:1], Pn[:1], lnb, varb), 30)
    say(f"  impact + ellipse, 1 track:            {one_ms:7.2f} ms")
    batch_ms = _median_ms(lambda: predict_impacts(X, Pn, lnb, varb), 7)
    say(f"  impact + ellipse, {n} tracks in one batch: {batch_ms:7.1f} ms ({batch_ms / n:.3f} ms per track)")
    # the dearest case: the L/D unknown (a short-range missile that may glide): 17 flights instead of 15
    span = np.repeat(np.array([[0.0, 3.6]]), n, 0)
    span_one_ms = _median_ms(lambda: predict_impacts(X[:1], Pn[:1], lnb, varb, lift_to_drag_span=span[:1]), 30)
    say(f"  ... with an unknown L/D (span 0-3.6), 1 track: {span_one_ms:7.2f} ms")
    span_ms = _median_ms(lambda: predict_impacts(X, Pn, lnb, varb, lift_to_drag_span=span), 5)
    say(f"  ... with an unknown L/D, {n} tracks in one batch: {span_ms:7.1f} ms ({span_ms / n:.3f} ms per track)")
    # the full assessment on a stream of updates: each track's true state 1 s apart, with noise
    flight_of = [flights[k % len(flights)][1] for k in range(n)]
    t_start = [f.burnout_t_s + (0.1 + 0.7 * rng.random()) * (f.flight_time_s - f.burnout_t_s) for f in flight_of]

    def updates(j: int) -> list[Any]:
        out = []
        for k, f in enumerate(flight_of):
            t = t_start[k] + j
            p, v = f.sample(np.array([t]))
            x = np.r_[p[0], v[0]] + rng.multivariate_normal(np.zeros(6), P)
            out.append(SystemTrack(k + 1, round(t * NS), x, P, ("us",), ()))
        return out

    stream = [updates(j) for j in range(8)]
    assessor = Assessor()
    t0 = time.perf_counter()
    assessor.assess(stream[0], 0)
    first_ms = (time.perf_counter() - t0) * 1e3
    assessor.assess(stream[1], 0)
    assessor.assess(stream[2], 0)
    steady = []
    for j in range(3, 8):
        t0 = time.perf_counter()
        assessor.assess(stream[j], 0)
        steady.append((time.perf_counter() - t0) * 1e3)
    full_ms = statistics.median(steady)
    say(f"  full assessment, {n} new tracks (launch estimates): {first_ms:7.1f} ms ({first_ms / n:.3f} ms per track)")
    say(f"  full assessment, {n} tracks per update (steady state):  {full_ms:7.1f} ms ({full_ms / n:.3f} ms per track)")
    result: dict[str, Any] = {
        "threads": numba.get_num_threads(),
        "warmup_s": warm_s,
        "impact_1_track_ms": one_ms,
        "impact_batch_tracks": n,
        "impact_batch_ms": batch_ms,
        "impact_batch_ms_per_track": batch_ms / n,
        "impact_span_1_track_ms": span_one_ms,
        "impact_span_batch_ms": span_ms,
        "impact_span_batch_ms_per_track": span_ms / n,
        "assess_new_tracks_ms": first_ms,
        "assess_batch_ms": full_ms,
        "assess_batch_ms_per_track": full_ms / n,
    }

    if not args.no_quality:
        say(f"quality over {args.runs} noisy runs per event (track noise {SIGMA_POS_M:.0f} m, {SIGMA_VEL_M_S} m/s):")
        say(f"  {'event':34s} {'IPP err T-300 s':>16s} {'IPP err T-60 s':>15s} {'LPE err (t=20 s)':>17s}")
        quality = []
        for name, f, site in flights:
            il, ilo = math.degrees(f.impact_lat_rad), math.degrees(f.impact_lon_rad)
            row: dict[str, Any] = {"event": name}
            # the assessor fed a track every 2 s from 330 s before impact (or burnout) to 60 s before impact
            errs: dict[float, list[float]] = {300.0: [], 60.0: []}
            t_from = max(f.flight_time_s - 330.0, f.burnout_t_s + 2.0)
            for _ in range(args.runs):
                a = Assessor()
                for t in np.arange(t_from, f.flight_time_s - 59.0, 2.0):
                    p, v = f.sample(np.array([t]))
                    x = np.r_[p[0], v[0]] + rng.multivariate_normal(np.zeros(6), P)
                    q = a.assess([SystemTrack(1, round(t * NS), x, P, ("us",), ())], 0)[1]
                    for tgo in errs:
                        if abs((f.flight_time_s - t) - tgo) < 1.0 or (
                            tgo == 300.0 and t == t_from and f.flight_time_s - t < 300.0
                        ):
                            errs[tgo].append(float(vdist(q.impact.lat_deg, q.impact.lon_deg, il, ilo)[0]) / 1e3)
            for label, tgo in (("ipp_err_km_t300", 300.0), ("ipp_err_km_t60", 60.0)):
                e = errs[tgo] or [math.nan]
                row[label] = {"mean": float(np.mean(e)), "max": float(np.max(e))}
            lerr = []
            for _ in range(max(3, args.runs // 4)):
                a = Assessor()
                for t in (20.0, 21.0):  # the first fused track 20 s after launch, then one more update
                    p, v = f.sample(np.array([t]))
                    x = np.r_[p[0], v[0]] + rng.multivariate_normal(np.zeros(6), P)
                    out = a.assess([SystemTrack(1, round(t * NS), x, P, ("us",), ())], round(t * NS))[1]
                lp = out.launch
                lerr.append(float(vdist(lp.lat_deg, lp.lon_deg, *site)[0]) / 1e3 if lp.valid else math.nan)
            row["lpe_err_km_t20"] = {"mean": float(np.mean(lerr)), "max": float(np.max(lerr))}
            quality.append(row)
            say(
                f"  {name:34s} {row['ipp_err_km_t300']['mean']:6.2f} (max {row['ipp_err_km_t300']['max']:5.1f})"
                f" {row['ipp_err_km_t60']['mean']:6.2f} (max {row['ipp_err_km_t60']['max']:5.1f})"
                f" {row['lpe_err_km_t20']['mean']:7.2f} (max {row['lpe_err_km_t20']['max']:5.1f})"
            )
        result["quality"] = quality
        # Monte Carlo coverage of the 95% ellipse on the lofted Hwasong-17, 300 s before impact
        f = flights[3][1]
        p, v = f.sample(np.array([f.flight_time_s - 300.0]))
        x = np.r_[p[0], v[0]]
        m = args.mc_runs
        truths = x + rng.multivariate_normal(np.zeros(6), P, m)
        beta = np.exp(lnb + math.sqrt(varb) * rng.standard_normal(m))
        pos, _ = propagate_to_impact(truths, 0.0, beta)
        est = truths + rng.multivariate_normal(np.zeros(6), P, m)
        preds = predict_impacts(est, np.repeat(P[None], m, 0), lnb, varb)
        inside = 0
        for k in range(m):
            la, lo, _ = ecef_to_geodetic(*pos[k])
            inside += mahalanobis2_en(preds[k], math.degrees(la), math.degrees(lo)) <= CHI2_2DOF_95
        result["ellipse_coverage"] = inside / m
        result["ellipse_coverage_runs"] = m
        say(f"  95% ellipse coverage over {m} Monte Carlo runs (Hwasong-17, T-300 s): {inside / m:.3f}")

    if args.json:
        print(json.dumps(result, indent=2))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")
        say(f"wrote {args.output}")
    return 0


#: where ``python benches/bench_impact.py`` writes its results (``triwarn bench impact`` writes only with --output)
RESULTS = Path(__file__).resolve().parent / "results" / "bench_impact.json"


def main() -> int:
    return script_main(__doc__, add_arguments, run, output=RESULTS)


if __name__ == "__main__":
    sys.exit(main())
