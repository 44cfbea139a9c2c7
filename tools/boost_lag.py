"""How far a nation's boost-phase local tracks lag the missile: speed error along the true velocity, by time
since launch.

    python tools/boost_lag.py us SCENARIO.toml [SCENARIO.toml ...] [--seed 1] [--set q_jerk_boost_m2_s5=16]

Runs the nation's sensors and tracker (``sensors.sim.nation.NationSim``, no broker, no fusion) over each
scenario from its first launch to 5 s after its last burnout, stepping 1 s. Every reported local track is
matched to the nearest true object within 5 km at the track's time of validity; a match that is boosting
gives the signed speed error e = v_track · û − |v_true| (m/s, û the true velocity's direction; negative: the
track is slower) and e / σ, σ² = ûᵀ P_vv û (the track's own velocity covariance along û). Prints the median,
mean and 10th percentile of e and the mean of e/σ, overall and per band of time since launch. ``--set`` overrides
a ``TrackerConfig`` field (repeatable) to try a tuning. A diagnostic for docs/quality.md, not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys

import numpy as np

from triwarn.core.tracking.tracker import TrackerConfig
from triwarn.core.tracks import Phase
from triwarn.scenarios.scenario_file import load_scenario
from triwarn.sensors.sim.nation import NationSim

BANDS_S = ((0, 20), (20, 40), (40, 60), (60, 90), (90, 130), (130, 200), (200, 400))


def boost_errors(nation: str, path: str, seed: int, cfg: TrackerConfig | None) -> np.ndarray:
    """Rows (time since launch s, speed error m/s, error / σ) of every boosting match in one scenario."""
    sim = NationSim(nation, load_scenario(path), seed=seed, tracker_config=cfg)
    truth = sim.truth
    rows = []
    for t in np.arange(float(np.min(truth.launch_time_s)) + 1.0, float(np.max(truth.burnout_time_s)) + 5.0, 1.0):
        tracks = sim.step(float(t))
        for i in range(len(tracks.track_numbers)):
            ts = float(tracks.t_s[i])
            s = truth.sample(ts)
            d = np.where(s.active, np.linalg.norm(s.pos_ecef_m - tracks.x[i, :3], axis=1), np.inf)
            j = int(np.argmin(d))
            if not d[j] <= 5_000.0 or s.phase[j] != Phase.BOOST:
                continue
            v = s.vel_ecef_m_s[j]
            u = v / np.linalg.norm(v)
            e = float(tracks.x[i, 3:6] @ u - np.linalg.norm(v))
            sigma = float(np.sqrt(u @ tracks.P[i, 3:6, 3:6] @ u))
            rows.append((ts - float(truth.launch_time_s[j]), e, e / sigma))
    return np.array(rows).reshape(-1, 3)


def _line(label: str, r: np.ndarray) -> str:
    e = r[:, 1]
    return (
        f"{label}: n {r.shape[0]:5d}  median {np.median(e):+5.0f}  mean {e.mean():+5.0f}  "
        f"p10 {np.percentile(e, 10):+5.0f} m/s  mean e/σ {r[:, 2].mean():+.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("nation", choices=("us", "jp", "kr"))
    ap.add_argument("scenarios", nargs="+", help="scenario files (triwarn scenario generate ... --out FILE)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a TrackerConfig override")
    args = ap.parse_args(argv)
    fields = {f.name for f in dataclasses.fields(TrackerConfig)}
    over = {}
    for item in args.set:
        name, _, value = item.partition("=")
        if name not in fields:
            ap.error(f"--set {item}: TrackerConfig has no field {name!r}")
        try:
            over[name] = float(value)
        except ValueError:
            ap.error(f"--set {item}: {value!r} is not a number")
    cfg = TrackerConfig(**over) if over else None  # type: ignore[arg-type]
    parts = []
    for n, path in enumerate(args.scenarios, 1):
        print(f"[{n}/{len(args.scenarios)}] {path}", file=sys.stderr, flush=True)
        parts.append(boost_errors(args.nation, path, args.seed, cfg))
    r = np.concatenate(parts)
    if r.shape[0] == 0:
        print("no boosting track matched a missile", file=sys.stderr)
        return 1
    print(_line(f"{args.nation} boost states", r))
    for lo, hi in BANDS_S:
        m = (r[:, 0] >= lo) & (r[:, 0] < hi)
        if m.any():
            print(_line(f"  {lo:3d}-{hi:3d} s after launch", r[m]))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
