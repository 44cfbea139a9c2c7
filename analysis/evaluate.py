"""``triwarn evaluate``: score a recording (:mod:`triwarn.analysis.recording`) of every view of the picture
against the same truth: Stone Soup's SIAP and OSPA (:mod:`triwarn.analysis.siap`) and, when the recording has
the impact and launch columns, the assessment (:mod:`triwarn.analysis.impact_scoring`); over one run or the
mean of Monte Carlo runs; as a JSON-ready dict or a table.

Stone Soup's judge is slow (tens of µs per track-truth pair per step), so long runs are subsampled to
``max_steps`` evenly spaced truth times.

"Once any nation holds a track": with ``held_only`` only the truth rows whose ``held`` column is 1 are scored;
with ``from_first_track`` each object is scored from the first time any view holds a track of it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.analysis.impact_scoring import match_assessments, score_assessments
from triwarn.analysis.recording import EvaluationError, Series, has_assessment_columns, read_picture, read_truth
from triwarn.analysis.siap import score_view

#: the metrics of the table, in order: (Stone Soup title, short label, format)
TABLE: tuple[tuple[str, str, str], ...] = (
    ("SIAP Completeness", "completeness (ideal 1)", "{:.3f}"),
    ("SIAP Ambiguity", "ambiguity (ideal 1)", "{:.3f}"),
    ("SIAP Spuriousness", "spuriousness (ideal 0)", "{:.3f}"),
    ("SIAP Position Accuracy", "position error, m", "{:.1f}"),
    ("SIAP Velocity Accuracy", "velocity error, m/s", "{:.2f}"),
    ("SIAP Rate of Track Number Change", "track-number changes per s", "{:.4f}"),
    ("number changes per object", "number changes per object", "{:.2f}"),
    ("SIAP Longest Track Segment", "longest track segment", "{:.3f}"),
    ("OSPA mean", "OSPA mean, m", "{:.1f}"),
    ("OSPA max", "OSPA max, m", "{:.1f}"),
)


def select_times(truth: Series, max_steps: int) -> np.ndarray:
    """At most ``max_steps`` evenly spaced truth times (µs), all of them if there are fewer."""
    all_t = np.unique(np.concatenate([t for t, _ in truth.rows.values()])) if truth.rows else np.empty(0, np.int64)
    if max_steps <= 0 or all_t.size <= max_steps:
        return all_t
    pick = np.unique(np.round(np.linspace(0, all_t.size - 1, max_steps)).astype(np.int64))
    return all_t[pick]


def since_first_track(truth: Series, picture: dict[str, Series], association_m: float) -> Series:
    """Truth cut to start, per object, at the first time any track of any view is within ``association_m``.

    With one view per nation (a replay under a policy that releases nothing), "any view" is "any nation", so
    completeness then counts from the moment any nation holds a track, as the quality target is stated.
    """
    positions: dict[int, list[np.ndarray]] = defaultdict(list)
    for series in picture.values():
        for t, x in series.rows.values():
            for k in range(t.size):
                positions[int(t[k])].append(x[k, :3])
    at = {t: np.array(v) for t, v in positions.items()}
    out = {}
    for obj, (t, x) in truth.rows.items():
        first = None
        for k in range(t.size):
            p = at.get(int(t[k]))
            if p is not None and np.min(np.linalg.norm(p - x[k, :3], axis=1)) <= association_m:
                first = k
                break
        if first is not None:
            out[obj] = (t[first:], x[first:])
    return Series(out)


def evaluate(
    directory: str | Path,
    max_steps: int = 100,
    association_m: float = 10_000.0,
    ospa_c_m: float = 10_000.0,
    views: list[str] | None = None,
    from_first_track: bool = False,
    held_only: bool = False,
) -> dict[str, Any]:
    """Score every view of ``DIR/picture.csv`` against ``DIR/truth.csv``; returns a JSON-ready dict.

    ``from_first_track``: score each object only from the first time any view holds a track of it (see
    :func:`since_first_track`). ``held_only``: score only the truth rows whose ``held`` column is 1.
    """
    d = Path(directory)
    truth = read_truth(d / "truth.csv", held_only=held_only)
    picture = read_picture(d / "picture.csv")
    if not truth.rows:
        raise EvaluationError(f"{d / 'truth.csv'}: no rows")
    if from_first_track:
        truth = since_first_track(truth, picture, association_m)
        if not truth.rows:
            raise EvaluationError(f"{d / 'picture.csv'}: no track ever comes near a true object")
    times = select_times(truth, max_steps)
    wanted = views if views else sorted(picture)
    unknown = [v for v in wanted if v not in picture]
    if unknown and views:
        raise EvaluationError(f"{d / 'picture.csv'}: no rows for view(s) {', '.join(unknown)}")
    result: dict[str, Any] = {
        "directory": str(d),
        "objects": len(truth.rows),
        "steps": int(times.size),
        "t_first_s": float(times[0]) * 1e-6 if times.size else None,
        "t_last_s": float(times[-1]) * 1e-6 if times.size else None,
        "association_threshold_m": association_m,
        "ospa_c_m": ospa_c_m,
        "from_first_track": from_first_track,
        "held_only": held_only,
        "views": {},
    }
    truth_times = set(times.tolist())
    for view in wanted:
        series = picture[view]
        pic_times = set(np.concatenate([t for t, _ in series.rows.values()]).tolist()) if series.rows else set()
        if pic_times and not (pic_times & truth_times):
            raise EvaluationError(
                f"{d / 'picture.csv'}: view {view!r} shares no time with truth.csv: the picture must be sampled "
                "on the same evaluation clock as the truth"
            )
        result["views"][view] = score_view(truth, series, times, association_m, ospa_c_m)
    if has_assessment_columns(d):
        matched = match_assessments(d, association_m)
        for view in wanted:
            result["views"][view]["assessment"] = score_assessments(matched.get(view, []))
    return result


def run_dirs(directory: str | Path, runs: int | None = None) -> list[Path]:
    """The recordings to score: ``DIR`` itself when it holds ``truth.csv`` (one run), else its ``run-*``
    folders in name order (``triwarn replay --record DIR --runs N``), the first ``runs`` of them if given."""
    d = Path(directory)
    found = sorted(p for p in d.glob("run-*") if p.is_dir() and (p / "truth.csv").is_file())
    if not found:
        if (d / "truth.csv").is_file() or not d.is_dir():
            found = [d]
        else:
            raise EvaluationError(f"{d}: neither truth.csv nor run-*/ folders (triwarn replay --record DIR --runs N)")
    if runs is not None:
        if runs < 1:
            raise EvaluationError(f"--runs must be at least 1, not {runs}")
        if runs > len(found):
            raise EvaluationError(f"{d}: --runs {runs} asked, {len(found)} run(s) recorded")
        found = found[:runs]
    return found


def evaluate_runs(directory: str | Path, runs: int | None = None, **kwargs: Any) -> dict[str, Any]:
    """:func:`evaluate` over the Monte Carlo runs of ``directory`` (see :func:`run_dirs`).

    SIAP and OSPA numbers are the mean over the runs of each run's score; the impact, launch and coverage
    scores pool every run's matched rows (so the coverage is the fraction over all runs); ``coverage_per_run``
    lists each run's own coverage. One run gives exactly :func:`evaluate`'s answer.
    """
    dirs = run_dirs(directory, runs)
    results = [evaluate(p, **kwargs) for p in dirs]
    if len(results) == 1:
        return results[0]
    out = dict(results[0])
    out["directory"] = str(directory)
    out["runs"] = len(results)
    out["run_directories"] = [str(p) for p in dirs]
    association_m = kwargs.get("association_m", 10_000.0)
    # track numbers and object ids repeat from run to run: tell the runs apart when pooling
    matched = [
        {v: [replace(m, run=i + 1) for m in ms] for v, ms in match_assessments(p, association_m).items()}
        for i, p in enumerate(dirs)
    ]
    views: dict[str, Any] = {}
    for view in results[0]["views"]:
        per_run = [r["views"].get(view, {}) for r in results]
        siap: dict[str, Any] = {}
        for key in per_run[0]:
            if not isinstance(per_run[0][key], float):
                continue
            vals = [float(m[key]) for m in per_run if isinstance(m.get(key), float)]
            siap[key] = float(np.nanmean(vals)) if vals and not all(math.isnan(v) for v in vals) else math.nan
        pooled = [row for m in matched for row in m.get(view, [])]
        siap["assessment"] = score_assessments(pooled)
        siap["coverage_per_run"] = [score_assessments(m.get(view, []))["coverage"] for m in matched]
        views[view] = siap
    out["views"] = views
    return out


def format_table(result: dict[str, Any]) -> str:
    """A table per view of the main numbers."""
    lines = [
        f"{result['directory']}: {result['objects']} objects, {result['steps']} evaluation steps "
        f"(t {result['t_first_s']:.1f} .. {result['t_last_s']:.1f} s), "
        f"association {result['association_threshold_m']:.0f} m, "
        f"OSPA c {result['ospa_c_m']:.0f} m (Stone Soup SIAP and OSPA)"
        + (", truth from each object's first track" if result.get("from_first_track") else "")
        + (", truth only while a nation holds a track" if result.get("held_only") else ""),
    ]
    for view, m in result["views"].items():
        lines.append("")
        lines.append(f"view {view} ({int(m.get('tracks', 0))} tracks)")
        for key, label, fmt in TABLE:
            v = m.get(key, float("nan"))
            lines.append(f"  {label:<30} {fmt.format(v) if v == v else 'n/a':>10}")
        if "assessment" in m:
            lines.extend(_assessment_lines(m["assessment"], m.get("coverage_per_run")))
    return "\n".join(lines)


def _num(v: float, fmt: str = "{:.1f}") -> str:
    return fmt.format(v) if v == v else "n/a"


def _assessment_lines(a: dict[str, Any], per_run: list[float] | None) -> list[str]:
    lines = ["  impact-point error by time to go (s): rows, mean / max km, 95% ellipse coverage"]
    for b in a["impact"]["bins"]:
        lo, hi = b["tgo_s"]
        span = f"{lo:.0f}-{hi:.0f}" if math.isfinite(hi) else f">{lo:.0f}"
        lines.append(
            f"    {span:>10} {b['n']:>7} {_num(b['mean_err_km']):>9} / {_num(b['max_err_km']):<9}"
            f" {_num(b['coverage'], '{:.3f}')}"
        )
    for tgo, s in a["impact_at_tgo"].items():
        label = f"impact error at {tgo} s to go, km"
        lines.append(f"  {label:<30} {_num(s['mean_km']):>10} (max {_num(s['max_km'])}, {s['n']} rows)")
    for tgo, s in a["impact_latest_at_tgo"].items():
        label = f"latest prediction {tgo} s to go"
        lines.append(
            f"  {label:<30} {_num(s['mean_km']):>10} km (max {_num(s['max_km'])}; age up to "
            f"{_num(s['max_age_s'], '{:.0f}')} s, {s['n']} objects)"
        )
    cov = f"{_num(a['coverage'], '{:.3f}'):>10} ({a['impact']['n']} rows"
    cov += f"; per run {', '.join(_num(c, '{:.3f}') for c in per_run)})" if per_run else ")"
    lines.append(f"  {'95% ellipse coverage':<30} {cov}")
    lines.append(
        f"  {'  after the true boost phase':<30} {_num(a['coverage_after_boost'], '{:.3f}'):>10} "
        f"({a['rows_after_boost']} rows)"
    )
    for which, label in (
        ("primary", "launch point error (primary), km"),
        ("last", "launch point error (latest), km"),
        ("all", "launch point error (all), km"),
    ):
        s = a["launch"][which]
        lines.append(
            f"  {label:<30} {_num(s['mean_km']):>10} (max {_num(s['max_km'])}, time error "
            f"{_num(s['time_mean_s'])} s, {s['n']} rows)"
        )
    f = a["first_impact_delay_s"]
    extra = f", never: {', '.join(f['objects_without'])}" if f["objects_without"] else ""
    lines.append(f"  {'first track -> first impact, s':<30} {_num(f['max']):>10} (worst object{extra})")
    return lines
