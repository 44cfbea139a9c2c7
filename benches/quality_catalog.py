"""Picture quality on the scenario catalog: the quality targets of issues 5 and 6, scenario by scenario.

For every catalog scenario (and demo): replay --fast with the default policy (everything to everyone) for
``--runs`` Monte Carlo seeds, and once with a policy that releases nothing (one view per nation, each fused from
that nation's own tracks only; same first seed, so the same measurements); then score

- SIAP completeness (only while some nation holds a local track: ``evaluate --held-only``), ambiguity,
  spuriousness and track-number changes per object of the fused view ``us`` (mean over the runs; Stone Soup,
  subsampled to ``--max-steps`` times);
- the fused position error against the best single nation's, at the (object, time) both hold (first run);
- the impact-point error at 300 s and 60 s before impact (the latest prediction of the object's tracks at or
  before that time to go, with its age: 0 when the object is tracked then, larger across a coverage gap), the
  launch-point error (latest estimate of each object's primary track; the worst latest estimate of any track
  matched to it, duplicates included; the mean over every row with an estimate), the 95%
  ellipse's coverage over every run's (track, time) rows (and over those after the true boost phase,
  ``cov_nb``, a diagnostic), and the time from each object's first fused track
  to its first impact prediction (the warning's impact area).

    python benches/quality_catalog.py [--runs 3] [--max-steps 40] [--jobs 2] [--only NAME ...] [--work DIR]
    python benches/quality_catalog.py --work DIR --no-replay     # score the recordings of an earlier run again

prints a table with progress and writes ``benches/results/quality_catalog.json``. docs/quality.md shows the
table and what it says.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from triwarn.analysis.evaluate import evaluate_runs
from triwarn.analysis.fusion_gain import fused_versus_single
from triwarn.analysis.recording import read_picture, read_truth
from triwarn.analysis.replay import replay
from triwarn.scenarios import __file__ as scenarios_init
from triwarn.scenarios.scenario_file import load_scenario
from triwarn.services.runtime.settings import Settings

#: missiles counted as ICBMs (the catalog's lofted ICBM events); "lofted": apogee above the range
ICBM_MISSILES = frozenset({"hwasong-14", "hwasong-15", "hwasong-17", "hwasong-18"})
NO_RELEASE_POLICY = 'version = 1\ndefault = "none"\n'

#: the issue's targets (issue 5 and 6 "Quality")
TARGETS = {
    "completeness": ">= 0.95",
    "ambiguity": "<= 1.05",
    "spuriousness": "<= 0.05",
    "number_changes": "0 per object",
    "fused_vs_best": "fused < best single nation",
    "impact_300s_km": "<= 25 km (lofted ICBMs)",
    "impact_60s_km": "<= 5 km",
    "launch_km": "<= 10 km",
    "coverage": "0.90 .. 0.99",
    "first_impact_s": "<= 5 s",
}


def catalog() -> list[str]:
    folder = Path(scenarios_init).parent
    return sorted(p.stem for p in folder.glob("*.toml") if p.stem != "sites")


def scenario_class(name: str) -> dict[str, Any]:
    """Missiles of a scenario and whether it is a lofted ICBM event."""
    s = load_scenario(name)
    missiles = sorted({launch.missile for launch in s.launches})
    lofted = any(
        launch.missile in ICBM_MISSILES
        and launch.apogee_km is not None
        and (launch.range_km is None or launch.apogee_km > launch.range_km)
        for launch in s.launches
    )
    if not lofted:
        truth = s.truth()
        lofted = any(
            m in ICBM_MISSILES and a > r for m, a, r in zip(truth.missiles, truth.apogee_m, truth.range_m, strict=True)
        )
    return {"missiles": missiles, "lofted_icbm": bool(lofted)}


def replay_one(scenario: str, seed: int, record: str, policy_file: str | None) -> float:
    """One ``triwarn replay SCENARIO --fast --record RECORD`` in this process; returns the wall time (s)."""
    settings = Settings.load(scenario=scenario, seed=seed, policy_file=policy_file)
    t0 = time.perf_counter()
    asyncio.run(replay(settings, None, Path(record), 1.0))
    return time.perf_counter() - t0


def recordings(scenario: str, work: Path, runs: int, seed: int = 1) -> list[tuple[str, int, str, str | None]]:
    """The replays one scenario needs: ``runs`` seeds with the default policy, one with the no-release policy."""
    policy = work / "release-nothing.toml"
    policy.write_text(NO_RELEASE_POLICY)
    jobs: list[tuple[str, int, str, str | None]] = [
        (scenario, seed + i, str(work / scenario / "all" / f"run-{i + 1:03d}"), None) for i in range(runs)
    ]
    jobs.append((scenario, seed, str(work / scenario / "none"), str(policy)))
    return jobs


def score(scenario: str, work: Path, max_steps: int) -> dict[str, Any]:
    """Score the recordings of :func:`recordings` for one scenario (see the module docstring)."""
    d = work / scenario
    r = evaluate_runs(d / "all", held_only=True, views=["us"], max_steps=max_steps)
    m = r["views"]["us"]
    a = m["assessment"]
    first = sorted(p for p in (d / "all").glob("run-*") if p.is_dir())[0]
    truth = read_truth(first / "truth.csv", held_only=True)
    fused = read_picture(first / "picture.csv")["us"]
    singles = read_picture(d / "none" / "picture.csv")
    fvs = fused_versus_single(truth, fused, singles)
    return {
        "scenario": scenario,
        **scenario_class(scenario),
        "runs": r.get("runs", 1),
        "objects": r["objects"],
        "completeness": m["SIAP Completeness"],
        "ambiguity": m["SIAP Ambiguity"],
        "spuriousness": m["SIAP Spuriousness"],
        "number_changes": m["number changes per object"],
        "position_error_m": m["SIAP Position Accuracy"],
        "fused_m": fvs["fused_mean_m"],
        "best_nation": fvs["best_nation"],
        "best_nation_m": fvs["best_mean_m"],
        "fused_vs_single": fvs,
        # the latest prediction at 300 s / 60 s to go (age 0 when the object is tracked then) ...
        "impact_300s_km": a["impact_latest_at_tgo"]["300"]["mean_km"],
        "impact_300s_max_km": a["impact_latest_at_tgo"]["300"]["max_km"],
        "impact_300s_age_s": a["impact_latest_at_tgo"]["300"]["max_age_s"],
        "impact_60s_km": a["impact_latest_at_tgo"]["60"]["mean_km"],
        "impact_60s_max_km": a["impact_latest_at_tgo"]["60"]["max_km"],
        "impact_60s_age_s": a["impact_latest_at_tgo"]["60"]["max_age_s"],
        # ... and over the rows tracked within 5 s of 300 s / 60 s to go (n/a if no track then)
        "impact_300s_tracked_km": a["impact_at_tgo"]["300"]["mean_km"],
        "impact_60s_tracked_km": a["impact_at_tgo"]["60"]["mean_km"],
        "launch_km": a["launch"]["primary"]["mean_km"],
        "launch_max_km": a["launch"]["primary"]["max_km"],
        "launch_time_s": a["launch"]["primary"]["time_mean_s"],
        "launch_every_track_km": a["launch"]["last"]["mean_km"],
        "launch_every_track_max_km": a["launch"]["last"]["max_km"],
        "launch_all_km": a["launch"]["all"]["mean_km"],
        "launch_all_time_s": a["launch"]["all"]["time_mean_s"],
        "coverage": a["coverage"],
        "coverage_per_run": m.get("coverage_per_run", [a["coverage"]]),
        "coverage_after_boost": a["coverage_after_boost"],
        "first_impact_s": a["first_impact_delay_s"]["max"],
        "objects_without_impact": a["first_impact_delay_s"]["objects_without"],
        "impact_by_tgo": a["impact"]["bins"],
    }


def pooled_coverage(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ellipse's coverage by time-to-go bin over every scenario's rows (each scenario's bin weighted by its
    rows), and over all bins (``tgo_s`` [0, inf])."""
    acc: dict[tuple[float, float], list[float]] = {}
    for r in rows:
        for b in r["impact_by_tgo"]:
            key = (float(b["tgo_s"][0]), float(b["tgo_s"][1]))
            n_in = acc.setdefault(key, [0.0, 0.0])
            if b["n"]:
                n_in[0] += b["n"]
                n_in[1] += b["n"] * b["coverage"]
    out = [{"tgo_s": [lo, hi], "n": int(n), "coverage": c / n if n else math.nan} for (lo, hi), (n, c) in acc.items()]
    n_all = sum(b["n"] for b in out)
    c_all = sum(b["n"] * b["coverage"] for b in out if b["n"])
    out.append({"tgo_s": [0.0, math.inf], "n": n_all, "coverage": c_all / n_all if n_all else math.nan})
    return out


def verdict(row: dict[str, Any]) -> dict[str, bool | None]:
    """Which targets a scenario meets (None: not applicable or not measurable here)."""

    def ok(v: float, test: Any) -> bool | None:
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else bool(test(v))

    return {
        "completeness": ok(row["completeness"], lambda v: v >= 0.95),
        "ambiguity": ok(row["ambiguity"], lambda v: v <= 1.05),
        "spuriousness": ok(row["spuriousness"], lambda v: v <= 0.05),
        "number_changes": ok(row["number_changes"], lambda v: v == 0),
        "fused_vs_best": ok(row["fused_m"], lambda v: v < row["best_nation_m"]),
        "impact_300s_km": ok(row["impact_300s_km"], lambda v: v <= 25.0) if row["lofted_icbm"] else None,
        "impact_60s_km": ok(row["impact_60s_km"], lambda v: v <= 5.0),
        "launch_km": ok(row["launch_km"], lambda v: v <= 10.0),
        "coverage": ok(row["coverage"], lambda v: 0.90 <= v <= 0.99),
        "first_impact_s": ok(row["first_impact_s"], lambda v: v <= 5.0),
    }


COLUMNS = (
    ("scenario", "scenario", "{:<34}"),
    ("completeness", "compl", "{:>6.3f}"),
    ("ambiguity", "ambig", "{:>6.3f}"),
    ("spuriousness", "spur", "{:>6.3f}"),
    ("number_changes", "nchg", "{:>5.2f}"),
    ("fused_m", "fused_m", "{:>8.0f}"),
    ("best_nation_m", "best1_m", "{:>8.0f}"),
    ("impact_300s_km", "ipp300km", "{:>8.1f}"),
    ("impact_300s_age_s", "age300", "{:>6.0f}"),
    ("impact_60s_km", "ipp60km", "{:>8.2f}"),
    ("impact_60s_age_s", "age60", "{:>5.0f}"),
    ("launch_km", "lp_km", "{:>6.1f}"),
    ("launch_every_track_max_km", "lp_dupmax", "{:>9.1f}"),
    ("coverage", "cover", "{:>6.3f}"),
    ("coverage_after_boost", "cov_nb", "{:>6.3f}"),
    ("first_impact_s", "warn_s", "{:>6.1f}"),
)


def format_row(row: dict[str, Any]) -> str:
    cells = []
    v = verdict(row)
    for key, _label, fmt in COLUMNS:
        x = row.get(key)
        width = len(fmt.format(0.0 if key != "scenario" else ""))
        missing = x is None or (isinstance(x, float) and math.isnan(x))
        text = "n/a".rjust(width) if missing else fmt.format(x)
        mark = "*" if v.get(key) is False else ("" if key == "scenario" else " ")
        cells.append(text + mark)
    return " ".join(cells)


def header() -> str:
    cells = []
    for key, label, fmt in COLUMNS:
        width = len(fmt.format(0.0 if key != "scenario" else ""))
        cells.append(label.ljust(width) if key == "scenario" else label.rjust(width) + " ")
    return " ".join(cells)


def run(
    scenarios: list[str], work: Path, runs: int, max_steps: int, jobs: int, replay: bool = True
) -> list[dict[str, Any]]:
    """Replay (``jobs`` processes) and score every scenario; prints progress and the table."""
    t_start = time.perf_counter()
    if replay:
        replay_all(scenarios, work, runs, jobs)
    rows = []
    print(f"scoring (Stone Soup SIAP on {max_steps} times per run, impact and launch on every row)", flush=True)
    print(header())
    for s in scenarios:
        row = score(s, work, max_steps)
        row["meets"] = verdict(row)
        rows.append(row)
        print(format_row(row), flush=True)
    print(f"done in {time.perf_counter() - t_start:.0f} s ('*': misses the target; n/a: not measurable)")
    return rows


def replay_all(scenarios: list[str], work: Path, runs: int, jobs: int) -> None:
    """Every replay of :func:`recordings` for ``scenarios``, ``jobs`` at a time."""
    print("compiling numba kernels (first run only)...", flush=True)
    replay_one("demo", 1, str(work / "_warmup"), None)  # fills numba's cache before the workers start
    todo = [job for s in scenarios for job in recordings(s, work, runs)]
    print(f"replaying {len(scenarios)} scenarios: {len(todo)} replays on {jobs} process(es)", flush=True)
    # spawn, not fork: numba's OpenMP threads do not survive a fork
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(replay_one, *job): job for job in todo}
        for done, fut in enumerate(as_completed(futures), start=1):
            job = futures[fut]
            wall = fut.result()
            policy = "release nothing" if job[3] else "default policy"
            print(f"  [{done}/{len(todo)}] replayed {job[0]} seed {job[1]} ({policy}) in {wall:.1f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="Monte Carlo seeds per scenario, default policy (default 3)")
    p.add_argument("--max-steps", type=int, default=40, help="Stone Soup evaluation times per run (default 40)")
    p.add_argument("--jobs", type=int, default=2, help="replay processes (default 2)")
    p.add_argument("--only", nargs="*", help="these scenarios only")
    p.add_argument("--work", type=Path, help="keep the recordings here (default: a temporary folder)")
    p.add_argument("--no-replay", action="store_true", help="score the recordings already in --work")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "quality_catalog.json")
    args = p.parse_args(argv)
    scenarios = args.only or catalog()
    with tempfile.TemporaryDirectory(prefix="triwarn-quality-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        rows = run(scenarios, work, args.runs, args.max_steps, args.jobs, replay=not args.no_replay)
        wall = time.perf_counter() - t0
    pooled = pooled_coverage(rows)
    print("95% ellipse coverage over the whole catalog, by time to go (rows of every run of every scenario):")
    for b in pooled:
        lo, hi = b["tgo_s"]
        span = f"{lo:.0f}-{hi:.0f} s" if math.isfinite(hi) else f"> {lo:.0f} s"
        cov = f"coverage {b['coverage']:.3f}" if b["n"] else ""
        print(f"  {span:>12} {b['n']:>7} rows  {cov}")
    summary = {
        target: {
            "met": [r["scenario"] for r in rows if r["meets"][target] is True],
            "missed": [r["scenario"] for r in rows if r["meets"][target] is False],
        }
        for target in TARGETS
    }
    out = {
        "coverage_by_tgo_pooled": pooled,
        "runs": args.runs,
        "max_steps": args.max_steps,
        "wall_s": wall,
        "targets": TARGETS,
        "summary": summary,
        "scenarios": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
