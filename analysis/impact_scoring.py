"""Scoring of the assessment in a recording (``triwarn evaluate``): impact-point error by time to go and the
95% ellipse's coverage, launch-point and launch-time errors, and the delay from an object's first track to
its first impact prediction (issue 6 item 6), pooled over Monte Carlo runs when there are several.

A (track, time) row of the picture is matched to the nearest true object at that time (see
:func:`match_assessments`); ground distances are taken in the tangent plane at the true point (WGS-84).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.analysis.recording import (
    IPP_COLUMNS,
    LAUNCH_COLUMNS,
    PICTURE_COLUMNS,
    TRUTH_ASSESSMENT_COLUMNS,
    TRUTH_COLUMNS,
    cell_float,
    read_rows,
    stamp_us,
)
from triwarn.core.trajectory.frames import ground_offset_en_m

BOOST = 1  # truth.csv phase value of the boost phase (triwarn.core.tracks.Phase.BOOST)


#: impact error is also reported "at" these times to go (s), from the rows within ``AT_TGO_WINDOW_S`` of them
AT_TGO_S: tuple[float, ...] = (300.0, 60.0)


AT_TGO_WINDOW_S = 5.0


def inside_ellipse(e_m: float, n_m: float, semi_major_m: float, semi_minor_m: float, orientation_deg: float) -> bool:
    """Whether an east-north offset lies inside the ellipse (major axis at azimuth ``orientation_deg``)."""

    az = math.radians(orientation_deg)
    along = e_m * math.sin(az) + n_m * math.cos(az)  # along the major axis
    across = e_m * math.cos(az) - n_m * math.sin(az)
    if not (semi_major_m > 0.0 and semi_minor_m > 0.0):
        return False
    return (along / semi_major_m) ** 2 + (across / semi_minor_m) ** 2 <= 1.0


def score_impacts(
    rows: Sequence[tuple[float, float, float, float, float, float, float, float, float]],
    tgo_edges_s: Sequence[float] = (0.0, 30.0, 60.0, 120.0, 300.0, 600.0, float("inf")),
) -> dict[str, Any]:
    """Impact-point error against time to go and the ellipse's coverage, from matched rows
    ``(t_s, ipp_lat, ipp_lon, semi_major_m, semi_minor_m, orientation_deg, true_lat, true_lon, true_impact_t_s)``
    (one per track-truth pair and evaluation time; pool the rows of several Monte Carlo runs for coverage).
    Returns ``{"bins": [{"tgo_s": [lo, hi], "n", "mean_err_km", "max_err_km", "coverage"}], "coverage", "n"}``."""

    errs: list[tuple[float, float, bool]] = []
    for t, la, lo, a, b, o, tla, tlo, tt in rows:
        if not all(math.isfinite(v) for v in (la, lo, tla, tlo, tt)):
            continue
        e, n = ground_offset_en_m(la, lo, tla, tlo)
        errs.append((tt - t, math.hypot(e, n), inside_ellipse(e, n, a, b, o)))
    bins = []
    for lo_s, hi_s in itertools.pairwise(tgo_edges_s):
        sel = [(d, ok) for tgo, d, ok in errs if lo_s <= tgo < hi_s]
        bins.append(
            {
                "tgo_s": [lo_s, hi_s],
                "n": len(sel),
                "mean_err_km": (sum(d for d, _ in sel) / len(sel) / 1e3) if sel else math.nan,
                "max_err_km": (max(d for d, _ in sel) / 1e3) if sel else math.nan,
                "coverage": (sum(ok for _, ok in sel) / len(sel)) if sel else math.nan,
            }
        )
    n_all = len(errs)
    return {"bins": bins, "n": n_all, "coverage": (sum(ok for *_, ok in errs) / n_all) if n_all else math.nan}


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
    d = Path(directory)
    truth_rows = read_rows(d / "truth.csv", (*TRUTH_COLUMNS[:5], *TRUTH_ASSESSMENT_COLUMNS, "phase"))
    ipp_cols = (IPP_COLUMNS[0], IPP_COLUMNS[1], *IPP_COLUMNS[3:])
    pic_rows = read_rows(d / "picture.csv", (*PICTURE_COLUMNS[:6], *ipp_cols, *LAUNCH_COLUMNS))
    truth_at: dict[int, tuple[list[str], np.ndarray, list[tuple[float, ...]]]] = {}
    acc: dict[int, list[tuple[str, list[float], tuple[float, ...]]]] = defaultdict(list)
    for n, r in enumerate(truth_rows, start=2):
        t = stamp_us(cell_float(d / "truth.csv", n, "t_s", r[0]))
        pos = [cell_float(d / "truth.csv", n, c, v) for c, v in zip(TRUTH_COLUMNS[2:5], r[2:5], strict=True)]
        extra = tuple(
            cell_float(d / "truth.csv", n, c, v) for c, v in zip(TRUTH_ASSESSMENT_COLUMNS, r[5:11], strict=True)
        )
        extra += (cell_float(d / "truth.csv", n, "phase", r[11]),)
        acc[t].append((r[1], pos, extra))
    for t, items in acc.items():
        truth_at[t] = ([i[0] for i in items], np.array([i[1] for i in items]), [i[2] for i in items])
    out: dict[str, list[Matched]] = defaultdict(list)
    for n, r in enumerate(pic_rows, start=2):
        t_s = cell_float(d / "picture.csv", n, "t_s", r[0])
        at = truth_at.get(stamp_us(t_s))
        if at is None:
            continue
        p_m = np.array(
            [cell_float(d / "picture.csv", n, c, v) for c, v in zip(PICTURE_COLUMNS[3:6], r[3:6], strict=True)]
        )
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
