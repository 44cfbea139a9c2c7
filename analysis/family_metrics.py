"""Per-family quality figures of issue 14 from one ``triwarn replay --record`` directory, and their pooling.

Reads what the replay records (docstring of :mod:`triwarn.analysis.replay`): ``truth.csv`` (true states,
phase, impact, launch, ``held``), ``picture.csv`` (each view's system tracks with their impact and launch
estimates) and ``warnings.csv`` (every warning change as published). Tracks are matched to missiles with
:func:`triwarn.analysis.evaluate.match_assessments` (at each evaluation time a track goes to the nearest true
object within 10 km); SIAP comes from :func:`triwarn.analysis.evaluate.evaluate`. New here:

- **numbers passed**: a track number that belongs to one missile and later to another, at least 10 km
  (``resolved_m``) away from the first when it moves. A number *belongs* to a missile from the moment it is
  matched to it at ``min_run`` (5) consecutive evaluation times (so a track between two missiles whose nearest
  flickers does not count). Every change of owner is a *hop*; hops between missiles closer than ``resolved_m``
  (a ripple-fired group in boost, which one track may hold while the sensors cannot resolve it) are reported
  (``number_hops``) but are not passes;
- **launch point and time**: per missile, the latest estimate of its primary track (the track matched to it
  at the most times); the 95th percentile over missiles, and the missiles that never got one;
- **impact at 60 s to go**: per missile, the latest prediction any of its tracks gave at or before 60 s
  before impact;
- **ellipse**: over the (track, time) rows after the missile's true boost phase, the coverage of the 95%
  ellipse and the median *normalised radius* of the truth, ``r = sqrt((along/a)^2 + (across/b)^2)`` in the
  ellipse's axes (r <= 1 inside; a calibrated 2-D Gaussian 95% ellipse gives a median of
  ``sqrt(chi2_2(0.5) / chi2_2(0.95))`` = 0.481);
- **warnings** (each warning's state holds from its row in warnings.csv until the next row of the same
  warning; ENDED and CANCELLED close it). A warning is *raised* while its level is WATCH or WARNING. At each
  evaluation time a raised warning on a track is a warning about the missile the track is matched to then
  (or was last matched to: a coasting track); on a track never matched to a missile it is about nothing.
  Each area kind named is true when the missile's true flight makes it so, from the bundled area grid:
  JP_LAND / KR_LAND / JP_EEZ at the true impact point (an impact on Japanese land counts as in Japan's EEZ
  too), JP_OVERFLIGHT / KR_OVERFLIGHT when the true ground track crosses that nation's land. Then
    - *false-warning seconds* per area kind group (land: JP_LAND, KR_LAND; EEZ: JP_EEZ; overflight) are the
      evaluation seconds during which some raised warning names an area of the group that is not true of
      its missile (counted once per missile and time; warnings about no missile go to ``missile None``);
    - a *correct warning* of a missile whose true impact is on land names that land at level WARNING; of a
      missile landing in Japan's EEZ, names JP_EEZ or JP_LAND at WATCH or above; its *lead time* is the
      impact time minus the first evaluation time it stands; a *missed warning* is such a missile with none;
    - *warning-id changes*: per missile, how often the id of its oldest active warning (any level, until
      ENDED/CANCELLED) changes from one evaluation time to the next at which it has one; *at groups*: those
      where the warning's track before the change (at the last time the missile had it) or after it stood for
      more than one object (``picture.csv`` column ``objects``, its latest row then): a missile leaving an
      unresolved group for a track of its own gets that track's warning (information, like the number changes
      at groups).

Units: km, s; times are seconds since the scenario epoch.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.analysis.evaluate import evaluate, select_times
from triwarn.analysis.impact_scoring import BOOST, Matched, ground_offset_en_m, match_assessments
from triwarn.analysis.recording import Series, grouped_rows, read_objects, read_picture, read_truth
from triwarn.analysis.siap import Change, number_change_events
from triwarn.core.assessment.areas import JP_EEZ, JP_LAND, KR_LAND, AreaMap
from triwarn.core.trajectory.frames import ecef_to_geodetic_batch

#: median normalised radius of the truth for a calibrated 95% ellipse: sqrt(chi2_2(0.5) / chi2_2(0.95))
CALIBRATED_MEDIAN_RADIUS = math.sqrt(2.0 * math.log(2.0) / (-2.0 * math.log(0.05)))
RAISED_LEVELS = frozenset({"WARNING_LEVEL_WATCH", "WARNING_LEVEL_WARNING"})
CLOSED_STATES = frozenset({"STATE_ENDED", "STATE_CANCELLED"})
JP_LAND_K, KR_LAND_K, JP_EEZ_K = "AREA_KIND_JP_LAND", "AREA_KIND_KR_LAND", "AREA_KIND_JP_EEZ"
JP_OVER_K, KR_OVER_K = "AREA_KIND_JP_OVERFLIGHT", "AREA_KIND_KR_OVERFLIGHT"
#: area kind -> group of the false-warning figure
AREA_GROUP: dict[str, str] = {
    JP_LAND_K: "land",
    KR_LAND_K: "land",
    JP_EEZ_K: "eez",
    JP_OVER_K: "overflight",
    KR_OVER_K: "overflight",
}
GROUPS: tuple[str, ...] = ("land", "eez", "overflight")


# ---------------------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Missile:
    """What the figures need of one true object: impact and launch (lat_deg, lon_deg, t_s), the end of its
    boost phase (s; its first time in another phase), and the area kinds true of its flight."""

    object_id: str
    impact: tuple[float, float, float]
    launch: tuple[float, float, float]
    burnout_t_s: float
    kinds: frozenset[str]


@dataclass(frozen=True)
class WarningRow:
    """One row of ``warnings.csv``."""

    t_s: float
    view: str
    warning_id: str
    track_id: str
    level: str
    state: str
    areas: tuple[str, ...]


@dataclass(frozen=True)
class Segment:
    """A warning's state over [t0_s, t1_s)."""

    view: str
    warning_id: str
    track_id: str
    t0_s: float
    t1_s: float
    level: str
    areas: tuple[str, ...]

    @property
    def raised(self) -> bool:
        return self.level in RAISED_LEVELS


def true_kinds(impact_flags: int, path_flags: int) -> frozenset[str]:
    """Area kinds true of a flight, from the grid flags at its impact point and the OR of the flags under its
    ground track (:mod:`triwarn.core.assessment.areas` bits)."""
    kinds = set()
    if impact_flags & JP_LAND:
        kinds |= {JP_LAND_K, JP_EEZ_K}
    if impact_flags & KR_LAND:
        kinds.add(KR_LAND_K)
    if impact_flags & JP_EEZ:
        kinds.add(JP_EEZ_K)
    if path_flags & JP_LAND:
        kinds.add(JP_OVER_K)
    if path_flags & KR_LAND:
        kinds.add(KR_OVER_K)
    return frozenset(kinds)


def read_missiles(truth_csv: Path, areas: AreaMap | None = None) -> dict[str, Missile]:
    """Every object of ``truth.csv`` (replay columns) as a :class:`Missile`."""
    areas = areas or AreaMap.load()
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    with truth_csv.open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows[r["object_id"]].append(r)
    out = {}
    for obj, rs in rows.items():
        rs.sort(key=lambda r: float(r["t_s"]))
        pos = np.array([[float(r["x_m"]), float(r["y_m"]), float(r["z_m"])] for r in rs])
        lla = ecef_to_geodetic_batch(np.ascontiguousarray(pos))
        lat, lon = np.degrees(lla[:, 0]), np.degrees(lla[:, 1])
        r0 = rs[0]
        impact = (float(r0["impact_lat_deg"]), float(r0["impact_lon_deg"]), float(r0["impact_t_s"]))
        launch = (float(r0["launch_lat_deg"]), float(r0["launch_lon_deg"]), float(r0["launch_t_s"]))
        after = [float(r["t_s"]) for r in rs if int(float(r["phase"])) != BOOST]
        impact_flags = int(areas.flags_at(np.array([impact[0]]), np.array([impact[1]]))[0])
        path_flags = int(areas.path_flags(lat[None, :], lon[None, :], np.array([lat.size]))[0])
        out[obj] = Missile(
            obj, impact, launch, min(after) if after else impact[2], true_kinds(impact_flags, path_flags)
        )
    return out


def read_warnings(path: Path) -> list[WarningRow]:
    """``warnings.csv`` as written by the replay (``areas`` "+"-joined)."""
    with path.open(newline="", encoding="utf-8") as f:
        return [
            WarningRow(
                float(r["t_s"]),
                r["view"],
                r["warning_id"],
                r["track_id"],
                r["level"],
                r["state"],
                tuple(a for a in r["areas"].split("+") if a),
            )
            for r in csv.DictReader(f)
        ]


def segments(rows: Iterable[WarningRow], view: str, t_end_s: float) -> list[Segment]:
    """Each warning of ``view`` as constant pieces: a row holds until the next row of the same warning, or
    ``t_end_s``; a row in state ENDED or CANCELLED closes the warning (it gives no piece)."""
    by_id: dict[str, list[WarningRow]] = defaultdict(list)
    for r in rows:
        if r.view == view:
            by_id[r.warning_id].append(r)
    out = []
    for wid, rs in by_id.items():
        rs.sort(key=lambda r: r.t_s)
        for k, r in enumerate(rs):
            if r.state in CLOSED_STATES:
                continue
            t1 = rs[k + 1].t_s if k + 1 < len(rs) else t_end_s
            if t1 > r.t_s:
                out.append(Segment(view, wid, r.track_id, r.t_s, t1, r.level, r.areas))
    return out


# ---------------------------------------------------------------------------------------------------------
# track numbers
# ---------------------------------------------------------------------------------------------------------


def owners(matched: Iterable[Matched]) -> dict[tuple[int, str], tuple[np.ndarray, list[str]]]:
    """Per (run, track id): its evaluation times (sorted) and the missile it is matched to at each."""
    acc: dict[tuple[int, str], list[tuple[float, str]]] = defaultdict(list)
    for m in matched:
        acc[(m.run, m.track_id)].append((m.t_s, m.object_id))
    out = {}
    for key, items in acc.items():
        items.sort()
        out[key] = (np.array([t for t, _ in items]), [o for _, o in items])
    return out


Owners = Mapping[tuple[int, str], tuple[np.ndarray, list[str]]]


def owner_at(table: Owners, run: int, track_id: str, t_s: float) -> str | None:
    """The missile a track is matched to at ``t_s``, else the last one before (a coasting track), else the
    first one after; None for a track never matched to a missile."""
    entry = table.get((run, track_id))
    if entry is None:
        return None
    times, objs = entry
    k = int(np.searchsorted(times, t_s + 1e-6, side="right")) - 1
    return objs[max(k, 0)]


def number_hops(matched: Iterable[Matched], min_run: int = 5) -> list[dict[str, Any]]:
    """Every change of the missile a track number belongs to (module docstring): one entry per change, with
    the run, track id, both missiles and the time the new owner's first run of ``min_run`` matches began."""
    out = []
    for (run, tid), (times, objs) in owners(matched).items():
        owner = None
        start = 0
        for k in range(len(objs) + 1):
            if k < len(objs) and objs[k] == objs[start]:
                continue
            if k - start >= min_run and objs[start] != owner:
                if owner is not None:
                    out.append(
                        {"run": run, "track_id": tid, "from": owner, "to": objs[start], "t_s": float(times[start])}
                    )
                owner = objs[start]
            start = k
    return out


def numbers_passed(
    hops: Iterable[dict[str, Any]], separation_m: Callable[[str, str, float], float], resolved_m: float = 10_000.0
) -> list[dict[str, Any]]:
    """The hops of :func:`number_hops` between missiles at least ``resolved_m`` apart when the number moved
    (``separation_m(a, b, t_s)``; infinite when one is not in flight). Closer missiles may share one track
    while the sensors cannot resolve them (issue 14 item 2): a number moving inside such a group is a hop, not
    a pass. Each entry gains ``separation_m``."""
    out = []
    for h in hops:
        sep = separation_m(h["from"], h["to"], h["t_s"])
        if sep >= resolved_m:
            out.append({**h, "separation_m": sep})
    return out


def separations(truth: Series) -> Callable[[str, str, float], float]:
    """``separation_m(a, b, t_s)``: distance (m) between two true objects at an evaluation time of ``truth``
    (inf when either has no row then: not launched yet, or impacted)."""
    at = {obj: dict(zip(t.tolist(), x[:, :3], strict=True)) for obj, (t, x) in truth.rows.items()}

    def separation_m(a: str, b: str, t_s: float) -> float:
        key = round(t_s * 1e6)
        pa, pb = at.get(a, {}).get(key), at.get(b, {}).get(key)
        return math.inf if pa is None or pb is None else float(np.linalg.norm(pa - pb))

    return separation_m


# ---------------------------------------------------------------------------------------------------------
# launch, impact, ellipse
# ---------------------------------------------------------------------------------------------------------


def _km(lat0: float, lon0: float, lat: float, lon: float) -> float:
    return math.hypot(*ground_offset_en_m(lat0, lon0, lat, lon)) / 1e3


def launch_errors(matched: Sequence[Matched]) -> dict[tuple[int, str], tuple[float, float]]:
    """Per (run, missile) with an estimate: (point error km, |time error| s) of the latest estimate of its
    primary track (the track matched to it at the most evaluation times)."""
    held: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for m in matched:
        held[(m.run, m.object_id)][m.track_id] += 1
    primary = {key: max(n, key=lambda t: (n[t], t)) for key, n in held.items()}
    latest: dict[tuple[int, str], Matched] = {}
    for m in matched:
        key = (m.run, m.object_id)
        if m.lp is not None and m.track_id == primary[key] and (key not in latest or m.t_s >= latest[key].t_s):
            latest[key] = m
    return {
        key: (_km(m.lp[0], m.lp[1], m.launch[0], m.launch[1]), abs(m.lp[2] - m.launch[2]))
        for key, m in latest.items()
        if m.lp is not None
    }


def impact_errors_at_tgo(matched: Sequence[Matched], tgo_s: float = 60.0) -> dict[tuple[int, str], float]:
    """Per (run, missile): error (km) of the latest impact prediction any of its tracks gave at or before
    ``tgo_s`` before its true impact (missiles with none then are absent)."""
    latest: dict[tuple[int, str], Matched] = {}
    for m in matched:
        key = (m.run, m.object_id)
        if m.ipp is not None and m.t_s <= m.impact[2] - tgo_s and (key not in latest or m.t_s > latest[key].t_s):
            latest[key] = m
    return {key: _km(m.ipp[0], m.ipp[1], m.impact[0], m.impact[1]) for key, m in latest.items() if m.ipp}


def normalised_radius(
    e_m: float, n_m: float, semi_major_m: float, semi_minor_m: float, orientation_deg: float
) -> float:
    """Radius of an east-north offset in the axes of an ellipse (1 on it, < 1 inside; inf for a degenerate
    ellipse). The major axis points at azimuth ``orientation_deg`` (clockwise from north)."""
    if not (semi_major_m > 0.0 and semi_minor_m > 0.0):
        return math.inf
    az = math.radians(orientation_deg)
    along = e_m * math.sin(az) + n_m * math.cos(az)
    across = e_m * math.cos(az) - n_m * math.sin(az)
    return math.hypot(along / semi_major_m, across / semi_minor_m)


def ellipse_radii(matched: Iterable[Matched], after_boost: bool = True) -> list[float]:
    """Normalised radius of the true impact in each row's 95% ellipse (rows after the true boost phase when
    ``after_boost``)."""
    out = []
    for m in matched:
        if m.ipp is None or (after_boost and m.phase == BOOST):
            continue
        e, n = ground_offset_en_m(m.ipp[0], m.ipp[1], m.impact[0], m.impact[1])
        out.append(normalised_radius(e, n, m.ipp[2], m.ipp[3], m.ipp[4]))
    return out


# ---------------------------------------------------------------------------------------------------------
# warnings
# ---------------------------------------------------------------------------------------------------------


def _correct(missile: Missile, seg: Segment) -> bool:
    """Whether a raised warning piece is a correct warning of the missile's true land or EEZ impact."""
    if not seg.raised:
        return False
    k = missile.kinds
    if JP_LAND_K in k or KR_LAND_K in k:
        want = {JP_LAND_K, KR_LAND_K} & k
        return seg.level == "WARNING_LEVEL_WARNING" and bool(want & set(seg.areas))
    if JP_EEZ_K in k:
        return bool({JP_EEZ_K, JP_LAND_K} & set(seg.areas))
    return False


def must_warn(missile: Missile) -> bool:
    """A missile whose true impact is on Japanese or ROK land or in Japan's EEZ."""
    return bool({JP_LAND_K, KR_LAND_K, JP_EEZ_K} & missile.kinds)


def stood_for_group(objects: Mapping[str, tuple[np.ndarray, np.ndarray]], track_id: str, t_s: float) -> bool:
    """Whether track ``track_id`` stood for more than one object in its latest ``picture.csv`` row at or before
    ``t_s`` (``objects``: one view of :func:`~triwarn.analysis.recording.read_objects`)."""
    entry = objects.get(track_id)
    if entry is None:
        return False
    times, counts = entry
    k = int(np.searchsorted(times, t_s + 1e-6, side="right")) - 1
    return k >= 0 and bool(counts[k] > 1)


def warning_scores(
    segs: Sequence[Segment],
    table: Owners,
    missiles: Mapping[str, Missile],
    times_s: Sequence[float],
    period_s: float = 1.0,
    run: int = 0,
    objects: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Warning figures of one recording (module docstring), at the evaluation times ``times_s`` (each worth
    ``period_s`` seconds); ``objects``: the view's object counts per track (for the changes at groups; none:
    no track stood for a group). Returns per-missile details and the false seconds per group."""
    false_s: dict[str, dict[str | None, float]] = {g: defaultdict(float) for g in GROUPS}
    false_land_after_burnout: dict[str, float] = defaultdict(float)
    first_correct: dict[str, float] = {}
    ids: dict[str, list[int]] = defaultdict(list)
    at_groups: dict[str, int] = defaultdict(int)
    held_by: dict[str, tuple[float, str]] = {}  # per missile, the last time it had a warning and that one's track
    t_arr = np.asarray(times_s, dtype=np.float64)
    live: list[list[Segment]] = [[] for _ in range(t_arr.size)]
    for s in segs:  # the evaluation times each piece covers: t0 <= t < t1 (to a microsecond)
        i0, i1 = np.searchsorted(t_arr, [s.t0_s - 1e-6, s.t1_s - 1e-6], side="left")
        for i in range(int(i0), int(i1)):
            live[i].append(s)
    for t, pieces in zip(t_arr.tolist(), live, strict=True):
        oldest: dict[str, tuple[int, str]] = {}
        false_now: set[tuple[str, str | None]] = set()
        for s in pieces:
            obj = owner_at(table, run, s.track_id, t)
            m = missiles.get(obj) if obj is not None else None
            if m is not None and t <= m.impact[2]:
                wid = int(s.warning_id)
                oldest[m.object_id] = min(oldest.get(m.object_id, (wid, s.track_id)), (wid, s.track_id))
            if not s.raised:
                continue
            truth = m.kinds if m is not None else frozenset()
            for kind in s.areas:
                if kind in AREA_GROUP and kind not in truth:
                    false_now.add((AREA_GROUP[kind], obj))
            if m is not None and _correct(m, s) and t <= m.impact[2]:
                first_correct.setdefault(m.object_id, t)
        for group, obj in false_now:
            false_s[group][obj] += period_s
            if group == "land" and obj is not None and obj in missiles and t > missiles[obj].burnout_t_s:
                false_land_after_burnout[obj] += period_s
        for obj, (wid, tid) in oldest.items():
            if not ids[obj] or ids[obj][-1] != wid:
                if ids[obj] and objects is not None:
                    t_prev, tid_prev = held_by[obj]
                    at_groups[obj] += stood_for_group(objects, tid_prev, t_prev) or stood_for_group(objects, tid, t)
                ids[obj].append(wid)
            held_by[obj] = (t, tid)
    per_missile = {}
    for obj, m in missiles.items():
        per_missile[obj] = {
            "kinds": sorted(m.kinds),
            "must_warn": must_warn(m),
            "lead_s": m.impact[2] - first_correct[obj] if obj in first_correct else None,
            "missed": must_warn(m) and obj not in first_correct,
            "false_s": {g: false_s[g].get(obj, 0.0) for g in GROUPS},
            "false_land_after_burnout_s": false_land_after_burnout.get(obj, 0.0),
            "warning_ids": ids.get(obj, []),
            "warning_id_changes": max(len(ids.get(obj, [])) - 1, 0),
            "warning_id_changes_at_groups": at_groups.get(obj, 0),
        }
    return {
        "per_missile": per_missile,
        "false_s_no_missile": {g: false_s[g].get(None, 0.0) for g in GROUPS},
    }


# ---------------------------------------------------------------------------------------------------------
# one recording, and a family of them
# ---------------------------------------------------------------------------------------------------------


def changes_at_groups(events: dict[Any, list[Change]], grouped: set[tuple[str, int]]) -> dict[Any, int]:
    """Per object, how many of its number changes (:func:`~triwarn.analysis.siap.number_change_events`) are
    into or out of an unresolved group: the track it joins stood for more than one object at the change, or the
    track it leaves did at the last time it had it (``grouped``: (track id, time µs) of such rows, from
    :func:`~triwarn.analysis.recording.read_grouped`)."""
    return {
        obj: sum((new, t) in grouped or (old, t_old) in grouped for t, new, old, t_old in changes)
        for obj, changes in events.items()
    }


def score_recording(
    directory: str | Path,
    view: str = "us",
    max_steps: int = 40,
    run: int = 0,
    min_run: int = 5,
    resolved_m: float = 10_000.0,
) -> dict[str, Any]:
    """Every figure of one recording for ``view``: SIAP (held-only, Stone Soup on ``max_steps`` times),
    track-number changes per missile (every evaluation time), numbers passed, and per-missile launch, impact,
    ellipse and warning figures (for pooling with :func:`pool`)."""
    d = Path(directory)
    siap = evaluate(d, max_steps=max_steps, views=[view], held_only=True)["views"].get(view, {})
    held = read_truth(d / "truth.csv", held_only=True)
    picture = read_picture(d / "picture.csv")
    tracks = picture.get(view)
    events = number_change_events(held, tracks, select_times(held, 0), 10_000.0) if tracks is not None else {}
    changes = float(np.mean([len(e) for e in events.values()])) if events else 0.0
    # changes into or out of a track that then stood for an unresolved group (the picture said so): the issue
    # lets the picture hold one track while the sensors cannot resolve the objects
    objects = read_objects(d / "picture.csv")
    in_groups = list(changes_at_groups(events, grouped_rows(objects)[view]).values())
    matched = [replace(m, run=run) for m in match_assessments(d).get(view, [])]
    missiles = read_missiles(d / "truth.csv")
    # the evaluation clock: every time of truth.csv or picture.csv (µs stamps)
    stamps = [t for t, _ in read_truth(d / "truth.csv").rows.values()]
    stamps += [t for series in picture.values() for t, _ in series.rows.values()]
    eval_times = (np.unique(np.concatenate(stamps)) * 1e-6).tolist() if stamps else []
    t_end = max(eval_times) if eval_times else 0.0
    segs = segments(read_warnings(d / "warnings.csv"), view, t_end + 1.0)
    warn = warning_scores(segs, owners(matched), missiles, eval_times, 1.0, run, objects.get(view, {}))
    hops = number_hops(matched, min_run)
    launch = launch_errors(matched)
    impact = impact_errors_at_tgo(matched, 60.0)
    radii = ellipse_radii(matched)
    return {
        "directory": str(d),
        "missiles": len(missiles),
        "completeness": siap.get("SIAP Completeness", math.nan),
        "ambiguity": siap.get("SIAP Ambiguity", math.nan),
        "spuriousness": siap.get("SIAP Spuriousness", math.nan),
        "number_changes_per_missile": changes,
        "number_changes_at_groups_per_missile": float(np.mean(in_groups)) if in_groups else 0.0,
        "number_hops": hops,
        "numbers_passed": numbers_passed(hops, separations(read_truth(d / "truth.csv")), resolved_m),
        "launch": {obj: list(v) for (_, obj), v in launch.items()},
        "impact_60s_km": {obj: v for (_, obj), v in impact.items()},
        "radii_after_boost": radii,
        "warnings": warn,
    }


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else math.nan


def pool(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A family's figures over the recordings of :func:`score_recording` (one per seed): SIAP and number
    changes are the mean over recordings; everything per missile is pooled over every recording's missiles."""
    n_missiles = sum(r["missiles"] for r in records)

    def mean(key: str) -> float:
        vals = [r[key] for r in records if not (isinstance(r[key], float) and math.isnan(r[key]))]
        return float(np.mean(vals)) if vals else math.nan

    lp = [v for r in records for v in r["launch"].values()]
    ipp = [v for r in records for v in r["impact_60s_km"].values()]
    radii = [x for r in records for x in r["radii_after_boost"]]
    per = [p for r in records for p in r["warnings"]["per_missile"].values()]
    leads = [p["lead_s"] for p in per if p["lead_s"] is not None]
    need = [p for p in per if p["must_warn"]]
    false_s = {g: sum(p["false_s"][g] for p in per) for g in GROUPS}
    false_none = {g: sum(r["warnings"]["false_s_no_missile"][g] for r in records) for g in GROUPS}
    return {
        "recordings": len(records),
        "missiles": n_missiles,
        "completeness": mean("completeness"),
        "ambiguity": mean("ambiguity"),
        "spuriousness": mean("spuriousness"),
        "number_changes_per_missile": mean("number_changes_per_missile"),
        "number_changes_at_groups_per_missile": mean("number_changes_at_groups_per_missile"),
        "numbers_passed": sum(len(r["numbers_passed"]) for r in records),
        "number_hops": sum(len(r.get("number_hops", [])) for r in records),
        "launch_km_p95": _pct([v[0] for v in lp], 95),
        "launch_time_s_p95": _pct([v[1] for v in lp], 95),
        "launch_missing": n_missiles - len(lp),
        "impact_60s_km_mean": float(np.mean(ipp)) if ipp else math.nan,
        "impact_60s_km_p95": _pct(ipp, 95),
        "impact_60s_missing": n_missiles - len(ipp),
        "coverage_after_boost": float(np.mean(np.array(radii) <= 1.0)) if radii else math.nan,
        "median_radius_after_boost": float(np.median(radii)) if radii else math.nan,
        "rows_after_boost": len(radii),
        "lead_s_median": float(np.median(leads)) if leads else math.nan,
        "lead_s_min": float(np.min(leads)) if leads else math.nan,
        "must_warn": len(need),
        "missed": sum(p["missed"] for p in need),
        "false_s": false_s,
        "false_s_per_missile": {g: v / n_missiles if n_missiles else math.nan for g, v in false_s.items()},
        "false_s_no_missile": false_none,
        "false_land_after_burnout_share": (
            float(np.mean([p["false_land_after_burnout_s"] > 0 for p in per])) if per else math.nan
        ),
        "warning_id_changes_per_missile": float(np.mean([p["warning_id_changes"] for p in per])) if per else math.nan,
        "warning_id_changes_at_groups_per_missile": (
            float(np.mean([p.get("warning_id_changes_at_groups", 0) for p in per])) if per else math.nan
        ),
    }


__all__ = [
    "CALIBRATED_MEDIAN_RADIUS",
    "Missile",
    "Segment",
    "WarningRow",
    "ellipse_radii",
    "impact_errors_at_tgo",
    "launch_errors",
    "normalised_radius",
    "number_hops",
    "numbers_passed",
    "owner_at",
    "owners",
    "pool",
    "read_missiles",
    "read_warnings",
    "score_recording",
    "segments",
    "separations",
    "stood_for_group",
    "true_kinds",
    "warning_scores",
]
