"""One view's recorded picture, read back from a recording (``triwarn replay --record DIR``) for the exports.

A recording holds ``picture.csv`` (every system track of every view on the evaluation clock, with its latest
impact prediction and launch point estimate), ``warnings.csv`` (every warning change as published) and
``meta.json`` (with ``epoch_ns``, the UTC instant of scenario time 0): see :mod:`triwarn.analysis.replay`.
:func:`load_picture` turns one view of it into frozen records: times ``t_s`` are seconds since the epoch,
positions ECEF metres and WGS-84 geodetic degrees with heights in metres above the ellipsoid.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from triwarn.analysis.recording import IPP_COLUMNS, LAUNCH_COLUMNS
from triwarn.core.trajectory.frames import ecef_to_geodetic_batch


class RecordingError(Exception):
    """The directory is not a readable recording (or has nothing of the requested view)."""


@dataclass(frozen=True)
class ImpactSample:
    """A track's impact prediction as it stood at ``t_s``: mean impact point, its time, and the 95% ellipse in
    the local east-north plane at the point (``orientation_deg``: azimuth of the major axis, clockwise from
    true north, in [0, 180))."""

    t_s: float
    lat_deg: float
    lon_deg: float
    impact_t_s: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float


@dataclass(frozen=True)
class LaunchEstimate:
    """A track's launch point estimate as it stood at ``t_s`` (``launch_t_s``: the estimated launch time)."""

    t_s: float
    lat_deg: float
    lon_deg: float
    launch_t_s: float


@dataclass(frozen=True)
class WarningChange:
    """One published warning change. ``level``: NONE, ADVISORY, WATCH or WARNING; ``state``: NEW, UPDATED,
    IMPACT_EXPECTED, ENDED or CANCELLED; ``areas``: threatened area kinds, e.g. ``("JP_EEZ",)``."""

    t_s: float
    warning_id: int
    track_id: int
    level: str
    state: str
    areas: tuple[str, ...]

    @property
    def closed(self) -> bool:
        """The warning ended or was cancelled: it leaves the picture."""
        return self.state in ("ENDED", "CANCELLED")


@dataclass(frozen=True)
class RecordedTrack:
    """One system track of the view. Arrays have one entry per evaluation time ``t_s`` (n,), increasing;
    ``pos_ecef_m`` (n, 3); ``impacts`` holds the impact prediction each time it changed (in time order),
    ``launch`` the latest launch point estimate; ``nations`` the contributing nations, "+"-joined, at the end."""

    track_id: int
    t_s: np.ndarray
    pos_ecef_m: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    h_m: np.ndarray
    nations: str
    impacts: tuple[ImpactSample, ...]
    launch: LaunchEstimate | None

    def index_at(self, t_s: float) -> int:
        """Index of the last evaluation time at or before ``t_s`` (the first one before the track began)."""
        return max(0, int(np.searchsorted(self.t_s, t_s, side="right")) - 1)


@dataclass(frozen=True)
class RecordedPicture:
    """One view of a recording: its tracks (by track id) and warning changes (in time order)."""

    scenario: str
    view: str
    epoch_ns: int
    start_s: float
    end_s: float
    tracks: tuple[RecordedTrack, ...]
    warnings: tuple[WarningChange, ...]

    def utc(self, t_s: float) -> datetime:
        """The UTC instant of scenario time ``t_s`` (aware datetime, millisecond resolution)."""
        epoch = datetime.fromtimestamp(self.epoch_ns // 1_000_000_000, tz=UTC)
        epoch += timedelta(microseconds=(self.epoch_ns % 1_000_000_000) // 1000)
        return epoch + timedelta(milliseconds=round(t_s * 1000.0))

    def iso(self, t_s: float) -> str:
        """ISO 8601 UTC of scenario time ``t_s``, e.g. ``2026-01-01T00:01:30.250Z``."""
        return self.utc(t_s).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def end_of(self, track: RecordedTrack) -> float:
        """Until when a track's objects stay meaningful: its last time, or its last predicted impact if later
        (the impact area is shown until the impact), within the recording."""
        end = float(track.t_s[-1])
        if track.impacts:
            end = max(end, track.impacts[-1].impact_t_s)
        return min(end, self.end_s)

    def warnings_of(self, track_id: int) -> list[WarningChange]:
        return [w for w in self.warnings if w.track_id == track_id]


def _float(cell: str) -> float:
    return float(cell) if cell != "" else math.nan


def load_picture(record_dir: Path, view: str = "us") -> RecordedPicture:
    """Read ``view`` of the recording in ``record_dir``. Raises :class:`RecordingError` when a file is missing
    or the view holds no track."""
    record_dir = Path(record_dir)
    try:
        meta = json.loads((record_dir / "meta.json").read_text())
        epoch_ns = int(meta["epoch_ns"])
        with (record_dir / "picture.csv").open(newline="") as f:
            picture_rows = [r for r in csv.DictReader(f) if r["view"] == view]
        with (record_dir / "warnings.csv").open(newline="") as f:
            warning_rows = [r for r in csv.DictReader(f) if r["view"] == view]
    except (OSError, KeyError, ValueError) as exc:
        runs = sorted(p.name for p in record_dir.glob("run-*") if p.is_dir())
        hint = f" (it holds Monte Carlo runs: export one of them, e.g. {record_dir / runs[0]})" if runs else ""
        raise RecordingError(f"{record_dir} is not a recording of `triwarn replay --record`: {exc}{hint}") from None
    if not picture_rows:
        raise RecordingError(f"{record_dir}/picture.csv has no track of view {view!r}")
    missing = {*IPP_COLUMNS, *LAUNCH_COLUMNS} - set(picture_rows[0])
    if missing:
        raise RecordingError(f"{record_dir}/picture.csv lacks columns {sorted(missing)}")

    by_track: dict[int, list[dict[str, str]]] = {}
    for r in picture_rows:
        by_track.setdefault(int(r["track_id"]), []).append(r)
    tracks = tuple(_track(track_id, rows) for track_id, rows in sorted(by_track.items()))
    warnings = tuple(
        WarningChange(
            t_s=float(r["t_s"]),
            warning_id=int(r["warning_id"]),
            track_id=int(r["track_id"]),
            level=r["level"].removeprefix("WARNING_LEVEL_"),
            state=r["state"].removeprefix("STATE_"),
            areas=tuple(a.removeprefix("AREA_KIND_") for a in r["areas"].split("+") if a),
        )
        for r in warning_rows
    )
    times = [float(r["t_s"]) for r in picture_rows] + [w.t_s for w in warnings]
    return RecordedPicture(
        scenario=str(meta.get("scenario", record_dir.name)),
        view=view,
        epoch_ns=epoch_ns,
        start_s=min(times),
        end_s=max(max(times), float(meta.get("simulated_s", 0.0))),
        tracks=tracks,
        warnings=tuple(sorted(warnings, key=lambda w: (w.t_s, w.warning_id))),
    )


def _track(track_id: int, rows: list[dict[str, str]]) -> RecordedTrack:
    rows = sorted(rows, key=lambda r: float(r["t_s"]))
    t_s = np.array([float(r["t_s"]) for r in rows])
    pos = np.ascontiguousarray([[float(r["x_m"]), float(r["y_m"]), float(r["z_m"])] for r in rows], dtype=np.float64)
    lla = ecef_to_geodetic_batch(pos)
    impacts: list[ImpactSample] = []
    launch: LaunchEstimate | None = None
    for r in rows:
        if r["ipp_lat_deg"] != "":
            s = ImpactSample(
                t_s=float(r["t_s"]),
                lat_deg=float(r["ipp_lat_deg"]),
                lon_deg=float(r["ipp_lon_deg"]),
                impact_t_s=_float(r["ipp_time_s"]),
                semi_major_m=float(r["ipp_semi_major_m"]),
                semi_minor_m=float(r["ipp_semi_minor_m"]),
                orientation_deg=float(r["ipp_orientation_deg"]),
            )
            if not impacts or replace(s, t_s=impacts[-1].t_s) != impacts[-1]:  # keep changes only
                impacts.append(s)
        if r["lp_lat_deg"] != "":
            launch = LaunchEstimate(
                t_s=float(r["t_s"]),
                lat_deg=float(r["lp_lat_deg"]),
                lon_deg=float(r["lp_lon_deg"]),
                launch_t_s=_float(r["lp_time_s"]),
            )
    return RecordedTrack(
        track_id=track_id,
        t_s=t_s,
        pos_ecef_m=pos,
        lat_deg=np.degrees(lla[:, 0]),
        lon_deg=np.degrees(lla[:, 1]),
        h_m=lla[:, 2].copy(),
        nations=rows[-1]["nations"],
        impacts=tuple(impacts),
        launch=launch,
    )
