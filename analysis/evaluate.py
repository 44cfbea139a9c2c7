"""Score a recorded picture against truth with Stone Soup's SIAP and OSPA metrics (an independent judge).

Input: a directory with ``truth.csv`` (``t_s, object_id, x_m, y_m, z_m, vx_m_s, vy_m_s, vz_m_s``) and
``picture.csv`` (``t_s, view, track_id, x_m, ...``), ECEF, both on one evaluation clock (``triwarn replay
--record DIR`` writes them). Each view of the picture is scored separately against the same truth.

Recipe (docs/shared judge.md): one ``GroundTruthPath`` per object and one ``Track`` per system track, states
``[x, vx, y, vy, z, vz]`` with identical timestamps on both sides (times are rounded to the microsecond so
that equal clock readings give equal timestamps); ``IDSIAPMetrics`` with Euclidean position and velocity
measures, ``OSPAMetric`` (p = 1) and ``TrackToTruth`` association in a ``MultiManager``. Stone Soup's judge is
slow (tens of µs per track-truth pair per step), so long runs are subsampled to ``max_steps`` evenly spaced
truth times.

SIAP definitions (Stone Soup): completeness = tracked truths / truths; ambiguity = associated tracks /
tracked truths; spuriousness = unassociated tracks / tracks; position / velocity accuracy = mean error of the
associated tracks; rate of track-number change per unit time; longest track segment (fraction of each truth's
life covered by its longest single-number segment). Stone Soup sees a track that leaves the picture and comes
back under the same number as two tracks (see ``score_view``), so its R and LS count such a gap as a change;
"number changes per object" (computed here from the recorded numbers) does not. The ID metrics compare truth
and track identities, which are unrelated numbers here: they are in ``--json`` only.

"Once any nation holds a track": if ``truth.csv`` has an optional column ``held`` (1 when at least one nation
holds a local track of the object at that time, else 0), ``held_only`` scores only those rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

TRUTH_COLUMNS = ("t_s", "object_id", "x_m", "y_m", "z_m", "vx_m_s", "vy_m_s", "vz_m_s")
PICTURE_COLUMNS = ("t_s", "view", "track_id", "x_m", "y_m", "z_m", "vx_m_s", "vy_m_s", "vz_m_s")
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

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


class EvaluationError(ValueError):
    """The recorded files cannot be scored; the message says which file and line and why."""


@dataclass(frozen=True)
class Series:
    """Rows of one CSV grouped by a key: key -> (times_us (m,), states (m, 6) as [x, y, z, vx, vy, vz])."""

    rows: dict[Any, tuple[np.ndarray, np.ndarray]]


def _stamp_us(t_s: float) -> int:
    return round(t_s * 1e6)


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[list[str]]:
    if not path.is_file():
        raise EvaluationError(f"{path}: file not found")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise EvaluationError(f"{path}: empty file; expected the header {','.join(columns)}")
        header = [h.strip() for h in header]
        missing = [c for c in columns if c not in header]
        if missing:
            raise EvaluationError(f"{path}: missing column(s) {', '.join(missing)}; header is {','.join(header)}")
        idx = [header.index(c) for c in columns]
        out = []
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) < len(header):
                raise EvaluationError(f"{path}:{line_no}: {len(row)} fields, expected {len(header)}")
            out.append([row[i].strip() for i in idx])
        return out


def _float(path: Path, line_no: int, name: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise EvaluationError(f"{path}:{line_no}: {name} = {text!r} is not a number") from None
    if not math.isfinite(v):
        raise EvaluationError(f"{path}:{line_no}: {name} = {text!r} is not finite")
    return v


def read_truth(path: Path, held_only: bool = False) -> Series:
    """``truth.csv`` grouped by object id; with ``held_only`` only the rows whose ``held`` column is 1."""
    if not held_only:
        return _read_series(path, TRUTH_COLUMNS, key_cols=1)
    rows = _read_csv(path, (*TRUTH_COLUMNS, "held"))
    held = []
    for n, r in enumerate(rows, start=2):
        flag = r[-1].lower()
        if flag not in ("0", "1", "true", "false"):
            raise EvaluationError(f"{path}:{n}: held = {r[-1]!r}; expected 0 or 1")
        if flag in ("1", "true"):
            held.append(r[:-1])
    return _series(path, held, TRUTH_COLUMNS, 1)


def read_picture(path: Path) -> dict[str, Series]:
    """``picture.csv`` grouped by view, then by track id."""
    rows = _read_csv(path, PICTURE_COLUMNS)
    by_view: dict[str, list[list[str]]] = defaultdict(list)
    for r in rows:
        by_view[r[1]].append([r[0], *r[2:]])
    return {view: _series(path, vrows, ("t_s", "track_id", *PICTURE_COLUMNS[3:]), 1) for view, vrows in by_view.items()}


def _read_series(path: Path, columns: tuple[str, ...], key_cols: int) -> Series:
    return _series(path, _read_csv(path, columns), columns, key_cols)


def _series(path: Path, rows: list[list[str]], columns: tuple[str, ...], key_cols: int) -> Series:
    acc: dict[Any, list[tuple[int, list[float]]]] = defaultdict(list)
    for n, r in enumerate(rows, start=2):
        t = _float(path, n, columns[0], r[0])
        key = r[1]
        state = [_float(path, n, c, v) for c, v in zip(columns[1 + key_cols :], r[1 + key_cols :], strict=True)]
        acc[key].append((_stamp_us(t), state))
    out = {}
    for key, items in acc.items():
        items.sort(key=lambda it: it[0])
        times = np.array([it[0] for it in items], dtype=np.int64)
        if np.any(np.diff(times) == 0):
            raise EvaluationError(f"{path}: {columns[1]} {key} has two rows at the same time")
        out[key] = (times, np.array([it[1] for it in items], dtype=np.float64))
    return Series(out)


def select_times(truth: Series, max_steps: int) -> np.ndarray:
    """At most ``max_steps`` evenly spaced truth times (µs), all of them if there are fewer."""
    all_t = np.unique(np.concatenate([t for t, _ in truth.rows.values()])) if truth.rows else np.empty(0, np.int64)
    if max_steps <= 0 or all_t.size <= max_steps:
        return all_t
    pick = np.unique(np.round(np.linspace(0, all_t.size - 1, max_steps)).astype(np.int64))
    return all_t[pick]


def score_view(
    truth: Series,
    tracks: Series,
    times_us: np.ndarray,
    association_m: float,
    ospa_c_m: float,
) -> dict[str, float]:
    """SIAP and OSPA of one view's tracks against truth at ``times_us``."""
    from stonesoup.dataassociator.tracktotrack import TrackToTruth
    from stonesoup.measures import Euclidean
    from stonesoup.metricgenerator.manager import MultiManager
    from stonesoup.metricgenerator.ospametric import OSPAMetric
    from stonesoup.metricgenerator.tracktotruthmetrics import IDSIAPMetrics
    from stonesoup.types.groundtruth import GroundTruthPath, GroundTruthState
    from stonesoup.types.state import State
    from stonesoup.types.track import Track

    keep = set(times_us.tolist())
    order = [0, 3, 1, 4, 2, 5]

    def stamp(t_us: int) -> dt.datetime:
        return _EPOCH + dt.timedelta(microseconds=int(t_us))

    truths = set()
    for obj, (t, x) in truth.rows.items():
        states = [
            GroundTruthState(x[i][order].reshape(6, 1), timestamp=stamp(t[i]), metadata={"ident": str(obj)})
            for i in range(t.size)
            if int(t[i]) in keep
        ]
        if states:
            truths.add(GroundTruthPath(states))
    # Stone Soup's TrackToTruth walks a track's own states only, so an association spans a gap in a track
    # and the metrics then look up states that are not there (IndexError). A track that leaves the picture
    # and comes back under the same number (reacquired after a coverage gap) is therefore given to Stone Soup
    # as one Track per unbroken run of evaluation times; "number changes" below counts numbers, not runs.
    step_index = {int(t): k for k, t in enumerate(times_us.tolist())}
    tracks_ss = set()
    for tid, (t, x) in tracks.rows.items():
        run: list[Any] = []
        last = -2
        for i in range(t.size):
            k = step_index.get(int(t[i]))
            if k is None:
                continue
            if k != last + 1 and run:
                tracks_ss.add(Track(run, init_metadata={"ident": f"track-{tid}"}))
                run = []
            run.append(State(x[i][order].reshape(6, 1), timestamp=stamp(t[i])))
            last = k
        if run:
            tracks_ss.add(Track(run, init_metadata={"ident": f"track-{tid}"}))
    pos = Euclidean(mapping=(0, 2, 4))
    vel = Euclidean(mapping=(1, 3, 5))
    generators = [
        IDSIAPMetrics(
            position_measure=pos, velocity_measure=vel, truth_id="ident", track_id="ident", generator_name="siap"
        ),
        OSPAMetric(c=ospa_c_m, p=1, measure=pos, generator_name="ospa"),
    ]
    manager = MultiManager(generators, TrackToTruth(association_threshold=association_m, measure=pos))
    manager.add_data({"groundtruth_paths": truths, "tracks": tracks_ss})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Stone Soup's own deprecation noise
        metrics = manager.generate_metrics()
    out: dict[str, float] = {}
    for title, metric in metrics["siap"].items():
        if not isinstance(metric.value, list):
            out[title] = float(metric.value)
    ospa = [float(m.value) for m in metrics["ospa"]["OSPA distances"].value]
    out["OSPA mean"] = float(np.mean(ospa)) if ospa else float("nan")
    out["OSPA max"] = float(np.max(ospa)) if ospa else float("nan")
    out["tracks"] = float(len(tracks.rows))
    out["number changes per object"] = number_changes(truth, tracks, times_us, association_m)
    return out


def number_changes(truth: Series, tracks: Series, times_us: np.ndarray, association_m: float) -> float:
    """Mean count, per tracked true object, of changes of the number of its nearest track within ``association_m``.

    Computed here (not by Stone Soup) from the recorded numbers, so that a track that leaves the picture and
    comes back under the same number does not count as a change.
    """
    keep = set(times_us.tolist())
    at: dict[int, list[tuple[Any, np.ndarray]]] = defaultdict(list)
    for tid, (t, x) in tracks.rows.items():
        for k in range(t.size):
            if int(t[k]) in keep:
                at[int(t[k])].append((tid, x[k, :3]))
    changes = []
    for t, x in truth.rows.values():
        last = None
        n = 0
        for k in range(t.size):
            cands = at.get(int(t[k]), [])
            if int(t[k]) not in keep or not cands:
                continue
            d = [float(np.linalg.norm(p - x[k, :3])) for _, p in cands]
            j = int(np.argmin(d))
            if d[j] > association_m:
                continue
            if last is not None and cands[j][0] != last:
                n += 1
            last = cands[j][0]
        if last is not None:  # only objects that were tracked at all
            changes.append(n)
    return float(np.mean(changes)) if changes else 0.0


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
    if _has_assessment_columns(d):
        matched = match_assessments(d, association_m)
        for view in wanted:
            result["views"][view]["assessment"] = score_assessments(matched.get(view, []))
    return result


def _has_assessment_columns(d: Path) -> bool:
    """Whether the recording has the impact and launch columns (older and synthetic recordings may not)."""
    from triwarn.analysis.recording import IPP_COLUMNS

    def header(path: Path) -> list[str]:
        with path.open(newline="", encoding="utf-8") as f:
            return [h.strip() for h in next(csv.reader(f), [])]

    return set(_TRUTH_ASSESS) <= set(header(d / "truth.csv")) and set(IPP_COLUMNS) <= set(header(d / "picture.csv"))


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


# ----------------------------------------------------------------------------------------------------------
# impact point, launch point and first warning (issue 6 item 6), and Monte Carlo runs
# ----------------------------------------------------------------------------------------------------------

BOOST = 1  # truth.csv phase value of the boost phase (triwarn.core.tracks.Phase.BOOST)
_TRUTH_ASSESS = ("impact_lat_deg", "impact_lon_deg", "impact_t_s", "launch_lat_deg", "launch_lon_deg", "launch_t_s")
#: impact error is also reported "at" these times to go (s), from the rows within ``AT_TGO_WINDOW_S`` of them
AT_TGO_S: tuple[float, ...] = (300.0, 60.0)
AT_TGO_WINDOW_S = 5.0


@dataclass(frozen=True)
class Matched:
    """One (track, evaluation time) of a view matched to its nearest true object within the association threshold.

    ``ipp``: (lat_deg, lon_deg, semi_major_m, semi_minor_m, orientation_deg) or None; ``lp``: (lat_deg,
    lon_deg, time_s) or None; ``impact`` and ``launch``: the object's true (lat_deg, lon_deg, t_s).
    """

    t_s: float
    track_id: str
    object_id: str
    ipp: tuple[float, float, float, float, float] | None
    lp: tuple[float, float, float] | None
    impact: tuple[float, float, float]
    launch: tuple[float, float, float]
    run: int = 0  # Monte Carlo run (0 for a single recording)
    phase: int = 0  # the object's true flight phase then (truth.csv ``phase``: 1 boost, 2 midcourse, 3 terminal)


def _optional_floats(cells: list[str]) -> tuple[float, ...] | None:
    if any(c == "" for c in cells):
        return None
    try:
        vals = tuple(float(c) for c in cells)
    except ValueError:
        return None
    return vals if all(math.isfinite(v) for v in vals) else None


def match_assessments(directory: str | Path, association_m: float = 10_000.0) -> dict[str, list[Matched]]:
    """Every view's (track, time) rows of ``picture.csv`` matched to the nearest true object at that time.

    Matching as Stone Soup's ``TrackToTruth`` does it: at each evaluation time a track goes to the nearest true
    position within ``association_m`` (Euclidean, ECEF); a track farther than that from every object is left
    out. Needs the impact and launch columns of ``triwarn replay --record`` (truth.csv ``impact_*``,
    ``launch_*``; picture.csv ``ipp_*``, ``lp_*``).
    """
    from triwarn.analysis.recording import IPP_COLUMNS, LAUNCH_COLUMNS

    d = Path(directory)
    truth_rows = _read_csv(d / "truth.csv", (*TRUTH_COLUMNS[:5], *_TRUTH_ASSESS, "phase"))
    ipp_cols = (IPP_COLUMNS[0], IPP_COLUMNS[1], *IPP_COLUMNS[3:])
    pic_rows = _read_csv(d / "picture.csv", (*PICTURE_COLUMNS[:6], *ipp_cols, *LAUNCH_COLUMNS))
    truth_at: dict[int, tuple[list[str], np.ndarray, list[tuple[float, ...]]]] = {}
    acc: dict[int, list[tuple[str, list[float], tuple[float, ...]]]] = defaultdict(list)
    for n, r in enumerate(truth_rows, start=2):
        t = _stamp_us(_float(d / "truth.csv", n, "t_s", r[0]))
        pos = [_float(d / "truth.csv", n, c, v) for c, v in zip(TRUTH_COLUMNS[2:5], r[2:5], strict=True)]
        extra = tuple(_float(d / "truth.csv", n, c, v) for c, v in zip(_TRUTH_ASSESS, r[5:11], strict=True))
        extra += (_float(d / "truth.csv", n, "phase", r[11]),)
        acc[t].append((r[1], pos, extra))
    for t, items in acc.items():
        truth_at[t] = ([i[0] for i in items], np.array([i[1] for i in items]), [i[2] for i in items])
    out: dict[str, list[Matched]] = defaultdict(list)
    for n, r in enumerate(pic_rows, start=2):
        t_s = _float(d / "picture.csv", n, "t_s", r[0])
        at = truth_at.get(_stamp_us(t_s))
        if at is None:
            continue
        p_m = np.array([_float(d / "picture.csv", n, c, v) for c, v in zip(PICTURE_COLUMNS[3:6], r[3:6], strict=True)])
        dist = np.linalg.norm(at[1] - p_m, axis=1)
        k = int(np.argmin(dist))
        if dist[k] > association_m:
            continue
        ipp = _optional_floats(r[6:11])
        lp = _optional_floats(r[11:14])
        extra = at[2][k]
        out[r[1]].append(
            Matched(
                t_s=t_s,
                track_id=r[2],
                object_id=at[0][k],
                ipp=ipp,  # type: ignore[arg-type]
                lp=lp,  # type: ignore[arg-type]
                impact=extra[:3],  # type: ignore[arg-type]
                launch=extra[3:6],  # type: ignore[arg-type]
                phase=int(extra[6]),
            )
        )
    return dict(out)


def _stats_km(values_m: list[float]) -> dict[str, float]:
    if not values_m:
        return {"n": 0, "mean_km": math.nan, "max_km": math.nan}
    return {"n": len(values_m), "mean_km": float(np.mean(values_m)) / 1e3, "max_km": float(np.max(values_m)) / 1e3}


def score_assessments(matched: list[Matched]) -> dict[str, Any]:
    """Impact-point error by time to go, at :data:`AT_TGO_S`, the 95% ellipse's coverage, launch-point and
    launch-time errors, and the delay from each object's first track to its first impact prediction.

    ``matched`` may pool several Monte Carlo runs (coverage is then over every run's rows). The coverage is
    also given over the rows after the object's true boost phase (a prediction made while the missile still
    thrusts cannot know the rest of the burn). Launch errors are given over every row with an estimate ("all"),
    for the latest estimate of each track ("last"), and for the latest estimate of each object's primary track
    (the track matched to it at the most times: "primary"; duplicates born mid-flight never saw the boost).
    """
    from triwarn.analysis.recording import ground_offset_en_m, score_impacts

    rows = [
        (m.t_s, m.ipp[0], m.ipp[1], m.ipp[2], m.ipp[3], m.ipp[4], m.impact[0], m.impact[1], m.impact[2])
        for m in matched
        if m.ipp is not None
    ]
    impact = score_impacts(rows)
    after_boost = score_impacts(
        [row for row, m in zip(rows, (m for m in matched if m.ipp is not None), strict=True) if m.phase != BOOST]
    )
    at_tgo: dict[str, dict[str, float]] = {}
    for tgo in AT_TGO_S:
        errs = []
        for t, la, lo, *_, tla, tlo, tt in rows:
            if abs((tt - t) - tgo) <= AT_TGO_WINDOW_S:
                errs.append(math.hypot(*ground_offset_en_m(la, lo, tla, tlo)))
        at_tgo[f"{tgo:.0f}"] = _stats_km(errs)
    lp_err: list[float] = []
    lt_err: list[float] = []
    last: dict[tuple[int, str, str], tuple[float, float, float]] = {}
    for m in matched:
        if m.lp is None:
            continue
        d_m = math.hypot(*ground_offset_en_m(m.lp[0], m.lp[1], m.launch[0], m.launch[1]))
        lp_err.append(d_m)
        lt_err.append(abs(m.lp[2] - m.launch[2]))
        key = (m.run, m.track_id, m.object_id)
        if key not in last or m.t_s >= last[key][0]:
            last[key] = (m.t_s, d_m, abs(m.lp[2] - m.launch[2]))
    # the primary track of an object: the one matched to it at the most times (per run)
    held_for: dict[tuple[int, str, str], int] = defaultdict(int)
    for m in matched:
        held_for[(m.run, m.object_id, m.track_id)] += 1
    primary: dict[tuple[int, str], tuple[int, str]] = {}
    for (run, obj, tid), n in held_for.items():
        if (run, obj) not in primary or n > primary[(run, obj)][0]:
            primary[(run, obj)] = (n, tid)
    prim = [v for (run, tid, obj), v in last.items() if primary[(run, obj)][1] == tid]
    first_track: dict[str, float] = {}
    first_ipp: dict[str, float] = {}
    for m in matched:
        obj = m.object_id if m.run == 0 else f"{m.object_id} (run {m.run})"
        first_track[obj] = min(first_track.get(obj, math.inf), m.t_s)
        if m.ipp is not None:
            first_ipp[obj] = min(first_ipp.get(obj, math.inf), m.t_s)
    delays = {obj: first_ipp[obj] - t for obj, t in first_track.items() if obj in first_ipp}
    return {
        "impact": impact,
        "impact_at_tgo": at_tgo,
        "impact_latest_at_tgo": _latest_at_tgo(matched),
        "coverage": impact["coverage"],
        "coverage_after_boost": after_boost["coverage"],
        "rows_after_boost": after_boost["n"],
        "launch": {
            "all": {**_stats_km(lp_err), "time_mean_s": float(np.mean(lt_err)) if lt_err else math.nan},
            "last": {
                **_stats_km([v[1] for v in last.values()]),
                "time_mean_s": float(np.mean([v[2] for v in last.values()])) if last else math.nan,
            },
            "primary": {
                **_stats_km([v[1] for v in prim]),
                "time_mean_s": float(np.mean([v[2] for v in prim])) if prim else math.nan,
            },
        },
        "first_impact_delay_s": {
            "per_object": delays,
            "max": max(delays.values()) if delays else math.nan,
            "objects_without": sorted(set(first_track) - set(first_ipp)),
        },
    }


def _latest_at_tgo(matched: list[Matched]) -> dict[str, dict[str, Any]]:
    """Per object, the latest impact prediction any of its tracks gave at or before each of :data:`AT_TGO_S`
    to go: its error and its age (0 while the object is tracked then; > 0 across a coverage gap, when the
    picture holds no track of the object at that time to go)."""
    from triwarn.analysis.recording import ground_offset_en_m

    out: dict[str, dict[str, Any]] = {}
    for tgo in AT_TGO_S:
        latest: dict[tuple[int, str], Matched] = {}
        for m in matched:
            if m.ipp is None or m.t_s > m.impact[2] - tgo:
                continue
            key = (m.run, m.object_id)
            if key not in latest or m.t_s > latest[key].t_s:
                latest[key] = m
        errs = [
            math.hypot(*ground_offset_en_m(m.ipp[0], m.ipp[1], m.impact[0], m.impact[1]))
            for m in latest.values()
            if m.ipp
        ]
        ages = [m.impact[2] - tgo - m.t_s for m in latest.values()]
        out[f"{tgo:.0f}"] = {
            **_stats_km(errs),
            "mean_age_s": float(np.mean(ages)) if ages else math.nan,
            "max_age_s": float(np.max(ages)) if ages else math.nan,
        }
    return out


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


def position_errors(truth: Series, tracks: Series, association_m: float = 10_000.0) -> dict[tuple[Any, int], float]:
    """Position error (m) of the nearest track to each true object at each time, where one is within
    ``association_m``: ``{(object_id, t_us): error_m}``."""
    at: dict[int, list[np.ndarray]] = defaultdict(list)
    for t, x in tracks.rows.values():
        for k in range(t.size):
            at[int(t[k])].append(x[k, :3])
    stacked = {t: np.array(v) for t, v in at.items()}
    out: dict[tuple[Any, int], float] = {}
    for obj, (t, x) in truth.rows.items():
        for k in range(t.size):
            p = stacked.get(int(t[k]))
            if p is None:
                continue
            d = float(np.min(np.linalg.norm(p - x[k, :3], axis=1)))
            if d <= association_m:
                out[(obj, int(t[k]))] = d
    return out


def fused_versus_single(
    truth: Series, fused: Series, singles: dict[str, Series], association_m: float = 10_000.0
) -> dict[str, Any]:
    """The fused picture's position error against each single nation's, at the (object, time) both hold.

    ``singles``: one series per nation holding only that nation's own fused tracks (the views of a replay whose
    policy releases nothing). The best single nation is the one with the smallest mean error over the times
    it and the fused picture both hold an object; ``ratio`` = fused mean / best nation's mean (< 1: fusion helps).
    ``oracle`` is stricter: at each (object, time) the smallest error of any nation then.
    """
    f = position_errors(truth, fused, association_m)
    per: dict[str, dict[str, float]] = {}
    best_at: dict[tuple[Any, int], float] = {}
    for nation, series in singles.items():
        s = position_errors(truth, series, association_m)
        for k, v in s.items():
            best_at[k] = min(best_at.get(k, math.inf), v)
        common = sorted(set(f) & set(s), key=lambda k: (str(k[0]), k[1]))
        if not common:
            continue
        per[nation] = {
            "n": len(common),
            "fused_mean_m": float(np.mean([f[k] for k in common])),
            "nation_mean_m": float(np.mean([s[k] for k in common])),
        }
    if not per:
        return {"per_nation": per, "best_nation": None, "fused_mean_m": math.nan, "best_mean_m": math.nan}
    best = min(per, key=lambda n: per[n]["nation_mean_m"])
    b = per[best]
    both = [k for k in f if k in best_at]
    return {
        "per_nation": per,
        "oracle": {  # at each (object, time), the nation with the smallest error then
            "n": len(both),
            "fused_mean_m": float(np.mean([f[k] for k in both])),
            "best_mean_m": float(np.mean([best_at[k] for k in both])),
        },
        "best_nation": best,
        "fused_mean_m": b["fused_mean_m"],
        "best_mean_m": b["nation_mean_m"],
        "ratio": b["fused_mean_m"] / b["nation_mean_m"] if b["nation_mean_m"] > 0 else math.nan,
        "n": b["n"],
    }
