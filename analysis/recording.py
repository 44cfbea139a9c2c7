"""What ``triwarn replay --record DIR`` writes and ``triwarn evaluate`` reads.

``truth.csv``: ``t_s, object_id, x_m, y_m, z_m, vx_m_s, vy_m_s, vz_m_s`` (ECEF), then ``phase``, the object's
true impact and launch point (:data:`TRUTH_ASSESSMENT_COLUMNS`) and ``held`` (1 when at least one nation holds
a local track of the object at that time, else 0). ``picture.csv``: ``t_s, view, track_id, x_m, ...`` (ECEF),
then ``nations`` and each track's impact and launch point cells (:data:`IPP_COLUMNS`, :data:`LAUNCH_COLUMNS`;
empty while it has none). Both files are on one evaluation clock; times are rounded to the microsecond when
read, so that equal clock readings give equal timestamps. Readers check every cell and name the file and
line of the first bad one (:class:`EvaluationError`).

(The fusion service itself merges assessments into its picture updates: ``FusionService.assessment_updates``
in services/fusion.py, with :func:`triwarn.services.wire.picture.fill_track_assessment` and the view's
:class:`triwarn.core.assessment.warnings.WarningBook`.)
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.core.assessment.assess import Assessment

TRUTH_COLUMNS = ("t_s", "object_id", "x_m", "y_m", "z_m", "vx_m_s", "vy_m_s", "vz_m_s")


PICTURE_COLUMNS = ("t_s", "view", "track_id", "x_m", "y_m", "z_m", "vx_m_s", "vy_m_s", "vz_m_s")


TRUTH_ASSESSMENT_COLUMNS = (
    "impact_lat_deg",
    "impact_lon_deg",
    "impact_t_s",
    "launch_lat_deg",
    "launch_lon_deg",
    "launch_t_s",
)


#: picture.csv columns of a track's impact prediction (empty cells while there is none)
IPP_COLUMNS: tuple[str, ...] = (
    "ipp_lat_deg",
    "ipp_lon_deg",
    "ipp_time_s",
    "ipp_semi_major_m",
    "ipp_semi_minor_m",
    "ipp_orientation_deg",
)


#: picture.csv column: how many objects the track may stand for (1, or more while it holds an unresolved group:
#: ``SystemTrack.objects``); recordings made before it have none
OBJECTS_COLUMN = "objects"


#: picture.csv columns of a track's launch point estimate
LAUNCH_COLUMNS: tuple[str, ...] = ("lp_lat_deg", "lp_lon_deg", "lp_time_s")


class EvaluationError(ValueError):
    """The recorded files cannot be scored; the message says which file and line and why."""


@dataclass(frozen=True)
class Series:
    """Rows of one CSV grouped by a key: key -> (times_us (m,), states (m, 6) as [x, y, z, vx, vy, vz])."""

    rows: dict[Any, tuple[np.ndarray, np.ndarray]]


def stamp_us(t_s: float) -> int:
    """A recorded time (s) as the integer microseconds rows are matched on."""
    return round(t_s * 1e6)


def read_rows(path: Path, columns: tuple[str, ...]) -> list[list[str]]:
    """The cells of ``columns`` (in that order, stripped) of every non-empty row of a CSV file with a header."""
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


def cell_float(path: Path, line_no: int, name: str, text: str) -> float:
    """A finite number from the cell ``name`` of line ``line_no`` of ``path``."""
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
    rows = read_rows(path, (*TRUTH_COLUMNS, "held"))
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
    rows = read_rows(path, PICTURE_COLUMNS)
    by_view: dict[str, list[list[str]]] = defaultdict(list)
    for r in rows:
        by_view[r[1]].append([r[0], *r[2:]])
    return {view: _series(path, vrows, ("t_s", "track_id", *PICTURE_COLUMNS[3:]), 1) for view, vrows in by_view.items()}


def read_grouped(path: Path) -> dict[str, set[tuple[str, int]]]:
    """Per view of ``picture.csv``, the (track id, time µs) of every row whose track stood for more than one
    object (:data:`OBJECTS_COLUMN` above 1: an unresolved group). Empty sets for a recording without that column."""
    return grouped_rows(read_objects(path))


def grouped_rows(objects: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]) -> dict[str, set[tuple[str, int]]]:
    """:func:`read_grouped` from what :func:`read_objects` read."""
    out: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for view, tracks in objects.items():
        for track_id, (times, counts) in tracks.items():
            out[view].update((track_id, stamp_us(float(t))) for t in times[counts > 1])
    return out


def read_objects(path: Path) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per view and track id of ``picture.csv``, the track's row times (s, ascending) and how many objects it
    stood for at each (:data:`OBJECTS_COLUMN`; 1 for a recording without that column)."""
    with path.open(newline="", encoding="utf-8") as f:
        header = [h.strip() for h in next(csv.reader(f), [])]
    has = OBJECTS_COLUMN in header
    acc: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    cols = ("t_s", "view", "track_id", OBJECTS_COLUMN) if has else ("t_s", "view", "track_id")
    for n, row in enumerate(read_rows(path, cols), start=2):
        objects = round(cell_float(path, n, OBJECTS_COLUMN, row[3])) if has else 1
        acc[(row[1], row[2])].append((cell_float(path, n, "t_s", row[0]), objects))
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = defaultdict(dict)
    for (view, track_id), items in acc.items():
        items.sort()
        out[view][track_id] = (np.array([t for t, _ in items]), np.array([o for _, o in items], dtype=np.int64))
    return out


def _read_series(path: Path, columns: tuple[str, ...], key_cols: int) -> Series:
    return _series(path, read_rows(path, columns), columns, key_cols)


def _series(path: Path, rows: list[list[str]], columns: tuple[str, ...], key_cols: int) -> Series:
    acc: dict[Any, list[tuple[int, list[float]]]] = defaultdict(list)
    for n, r in enumerate(rows, start=2):
        t = cell_float(path, n, columns[0], r[0])
        key = r[1]
        state = [cell_float(path, n, c, v) for c, v in zip(columns[1 + key_cols :], r[1 + key_cols :], strict=True)]
        acc[key].append((stamp_us(t), state))
    out = {}
    for key, items in acc.items():
        items.sort(key=lambda it: it[0])
        times = np.array([it[0] for it in items], dtype=np.int64)
        if np.any(np.diff(times) == 0):
            raise EvaluationError(f"{path}: {columns[1]} {key} has two rows at the same time")
        out[key] = (times, np.array([it[1] for it in items], dtype=np.float64))
    return Series(out)


def has_assessment_columns(d: Path) -> bool:
    """Whether the recording has the impact and launch columns (older and synthetic recordings may not)."""

    def header(path: Path) -> list[str]:
        with path.open(newline="", encoding="utf-8") as f:
            return [h.strip() for h in next(csv.reader(f), [])]

    return set(TRUTH_ASSESSMENT_COLUMNS) <= set(header(d / "truth.csv")) and set(IPP_COLUMNS) <= set(
        header(d / "picture.csv")
    )


def ipp_cells(a: Assessment | None, epoch_ns: int) -> list[str]:
    """The :data:`IPP_COLUMNS` cells of one track (times in seconds since ``epoch_ns``)."""
    if a is None or not a.impact.valid:
        return [""] * len(IPP_COLUMNS)
    i, e = a.impact, a.impact.ellipse
    return [
        f"{i.lat_deg:.6f}",
        f"{i.lon_deg:.6f}",
        f"{(i.time_ns - epoch_ns) / 1e9:.3f}",
        f"{e.semi_major_m:.1f}",
        f"{e.semi_minor_m:.1f}",
        f"{e.orientation_deg:.2f}",
    ]


def launch_cells(a: Assessment | None, epoch_ns: int) -> list[str]:
    """The :data:`LAUNCH_COLUMNS` cells of one track."""
    if a is None or not a.launch.valid:
        return [""] * len(LAUNCH_COLUMNS)
    lp = a.launch
    return [f"{lp.lat_deg:.6f}", f"{lp.lon_deg:.6f}", f"{(lp.time_ns - epoch_ns) / 1e9:.3f}"]
