"""Stone Soup's SIAP and OSPA metrics of one view of a recorded picture against truth (an independent judge).

Recipe (docs/shared judge.md): one ``GroundTruthPath`` per object and one ``Track`` per system track, states
``[x, vx, y, vy, z, vz]`` with identical timestamps on both sides (times are rounded to the microsecond so
that equal clock readings give equal timestamps); ``IDSIAPMetrics`` with Euclidean position and velocity
measures, ``OSPAMetric`` (p = 1) and ``TrackToTruth`` association in a ``MultiManager``.

SIAP definitions (Stone Soup): completeness = tracked truths / truths; ambiguity = associated tracks /
tracked truths; spuriousness = unassociated tracks / tracks; position / velocity accuracy = mean error of the
associated tracks; rate of track-number change per unit time; longest track segment (fraction of each truth's
life covered by its longest single-number segment). Stone Soup sees a track that leaves the picture and comes
back under the same number as two tracks (see :func:`score_view`), so its R and LS count such a gap as a
change; "number changes per object" (:func:`number_changes`, computed here from the recorded numbers) does
not. The ID metrics compare truth and track identities, which are unrelated numbers here: they are in
``--json`` only.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import defaultdict
from typing import Any

import numpy as np

from triwarn.analysis.recording import Series

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def score_view(
    truth: Series,
    tracks: Series,
    times_us: np.ndarray,
    association_m: float,
    ospa_c_m: float,
) -> dict[str, float]:
    """SIAP and OSPA of one view's tracks against truth at ``times_us``."""
    # Stone Soup is imported here, not at the top: a heavy optional dependency (the dev extra, seconds to import)
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
    """Mean count, per tracked true object, of changes of the number of its track (the nearest of the tracks
    associated with it, each track with its closest object within ``association_m``: :func:`number_change_events`).

    Computed here (not by Stone Soup) from the recorded numbers, so that a track that leaves the picture and
    comes back under the same number does not count as a change.
    """
    changes = number_change_events(truth, tracks, times_us, association_m)
    return float(np.mean([len(c) for c in changes.values()])) if changes else 0.0


def closest_objects(track_pos_m: np.ndarray, object_pos_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stone Soup's TrackToTruth association at one time: for each track position (m, 3), the index of the object
    (positions (n, 3), n >= 1) closest to it and that distance, (m,) each; a track goes to that object only."""
    d = np.linalg.norm(track_pos_m[:, None, :] - object_pos_m[None, :, :], axis=2)
    j = np.argmin(d, axis=1)
    return j, d[np.arange(d.shape[0]), j]


#: one change of a true object's track: (time µs, the number it has now, the number it had, the last
#: time µs it had that one)
Change = tuple[int, Any, Any, int]


def number_change_events(
    truth: Series, tracks: Series, times_us: np.ndarray, association_m: float
) -> dict[Any, list[Change]]:
    """Per true object that was tracked at all (a track associated with it at some time of ``times_us``),
    every change of its track's number, in time order (see :func:`number_changes`).

    Association as Stone Soup's ``TrackToTruth`` (the judge, docs/quality.md): at each time a track is
    associated with the one true object closest to it, if within ``association_m``; an object's track is the
    nearest of the tracks associated with it. So a missile launched seconds after another from the same pad is
    not "tracked" by the first one's track while it flies a few km behind it (that track is the first missile's),
    and its own first track is no change of number."""
    keep = set(times_us.tolist())
    at: dict[int, list[tuple[Any, np.ndarray]]] = defaultdict(list)
    for tid, (t, x) in tracks.rows.items():
        for k in range(t.size):
            if int(t[k]) in keep:
                at[int(t[k])].append((tid, x[k, :3]))
    objects_at: dict[int, list[tuple[Any, np.ndarray]]] = defaultdict(list)
    for obj, (t, x) in truth.rows.items():
        for k in range(t.size):
            if int(t[k]) in keep:
                objects_at[int(t[k])].append((obj, x[k, :3]))
    # per time: the tracks associated with each object, with their distances
    assoc: dict[int, dict[Any, list[tuple[float, Any]]]] = {}
    for t_us, objs in objects_at.items():
        cands = at.get(t_us, [])
        per_obj: dict[Any, list[tuple[float, Any]]] = defaultdict(list)
        if cands:
            j, d = closest_objects(np.array([p for _, p in cands]), np.array([p for _, p in objs]))
            for (tid, _), jj, dd in zip(cands, j.tolist(), d.tolist(), strict=True):
                if dd <= association_m:
                    per_obj[objs[jj][0]].append((dd, tid))
        assoc[t_us] = per_obj
    out: dict[Any, list[Change]] = {}
    for obj, (t, _) in truth.rows.items():
        last, last_t = None, 0
        events: list[Change] = []
        for k in range(t.size):
            t_us = int(t[k])
            mine = assoc.get(t_us, {}).get(obj)
            if t_us not in keep or not mine:
                continue
            tid = min(mine, key=lambda dt: dt[0])[1]
            if last is not None and tid != last:
                events.append((t_us, tid, last, last_t))
            last, last_t = tid, t_us
        if last is not None:  # only objects that were tracked at all
            out[obj] = events
    return out
