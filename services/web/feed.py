"""What the web page receives: the console's picture as JSON messages, with ground-track history and paths.

:class:`Feed` is a subscriber sink (``triwarn.services.subscriber.Sink``): the gRPC client loop of
``triwarn subscribe`` hands it every update after applying it to its :class:`ClientPicture`, and the feed turns
it into one JSON message for the browsers (``kind`` ``delta``: the changed tracks, deleted track ids, the
warnings). A browser that connects first gets ``kind`` ``snapshot``: every track with its full history and
every active warning. Its ``status`` (also sent every second) carries the releasability label of what is shown
(``label``: marking, classification, releasable-to trigraphs, policy id, signed; the page's banner) and the
updates refused because their label does not release them to the console's nation (``refused``, by reason).
Messages carry, for the page's clocks:

- ``time_ms``: the fusion service's clock at the update (ms since the Unix epoch, float); ``clock_rate``:
  picture seconds per wall second, so the page counts time to impact down between updates as the terminal
  console does;
- ``recv_ms``: when this server received the update from gRPC, ``sent_ms``: when it had turned it into this
  message (wall clock, ms since the epoch); ``seq``.

A track (``track_json``): ``id, t_ms, lat, lon, alt_m, phase, cls, level, nations, launch, impact, areas``,
``path`` (predicted: ``[[lat, lon, alt_m], ...]``; great circle to the impact point while boosting, see
``path_kind``; recomputed at most every ``PATH_REFRESH_S``: a delta without it keeps the last one) and, in
snapshots, ``history`` (past positions ``[[lat, lon, alt_m, t_ms], ...]``; deltas add the new position, which
the page appends itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import deque
from typing import Any

import numpy as np

from triwarn.services.subscriber import ClientPicture
from triwarn.services.trust import labels
from triwarn.services.web.paths import predict_paths
from triwarn.v1 import picture_pb2, tracks_pb2

PU = picture_pb2.PictureUpdate
#: the page's names of the nations (views and contributing nations)
NATION_NAMES: dict[int, str] = {tracks_pb2.NATION_US: "us", tracks_pb2.NATION_JP: "jp", tracks_pb2.NATION_KR: "kr"}

#: past positions kept per track (one per ``HISTORY_SPACING_MS`` of picture time at most)
HISTORY_POINTS = 900
HISTORY_SPACING_MS = 1000.0
#: seconds (wall clock) between recomputations of a track's predicted path; deltas in between carry no path
PATH_REFRESH_S = 1.0
#: at most this many paths older than PATH_REFRESH_S are recomputed per update (new tracks always are)
PATHS_PER_UPDATE = 8
#: a browser that falls this many messages behind is dropped (its EventSource reconnects: a new snapshot)
CLIENT_QUEUE = 256


def _enum(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix).lower()
    except ValueError:
        return "unspecified"


def _ellipse(e: picture_pb2.ErrorEllipse) -> dict[str, float]:
    return {
        "smaj_m": e.semi_major_m,
        "smin_m": e.semi_minor_m,
        "orient_deg": e.orientation_deg,
        "conf": e.confidence,
    }


def path_json(path: np.ndarray | None, kind: str) -> dict[str, Any]:
    """``path`` ((k, 3) lat deg, lon deg, height m) for the page: degrees to 1e-3 (~100 m), metres to 10 m."""
    if path is None:
        return {"path": [], "path_kind": kind}
    return {"path": np.column_stack([np.round(path[:, :2], 3), np.round(path[:, 2], -1)]).tolist(), "path_kind": kind}


def track_json(t: picture_pb2.SystemTrack) -> dict[str, Any]:
    """One system track for the page, without its path (see the module docstring)."""
    launch = None
    if t.launch_point.valid:
        lp = t.launch_point
        launch = {"lat": lp.lat_deg, "lon": lp.lon_deg, "t_ms": lp.launch_time_ns / 1e6}
    impact = None
    if t.impact.valid:
        i = t.impact
        impact = {
            "lat": i.lat_deg,
            "lon": i.lon_deg,
            "t_ms": i.impact_time_ns / 1e6,
            "t_sigma_s": i.impact_time_sigma_s,
            **_ellipse(i.ellipse),
        }
    return {
        "id": int(t.track_id),
        "t_ms": t.time_ns / 1e6,
        "lat": t.lat_deg,
        "lon": t.lon_deg,
        "alt_m": t.altitude_m,
        "phase": _enum(tracks_pb2.FlightPhase, t.phase, "FLIGHT_PHASE_"),
        "cls": _enum(picture_pb2.MissileClass, t.missile_class, "MISSILE_CLASS_"),
        "objects": max(int(t.estimated_objects), 1),
        "level": _enum(picture_pb2.WarningLevel, t.warning_level, "WARNING_LEVEL_"),
        "nations": [NATION_NAMES.get(n, "?") for n in t.contributing_nations],
        "launch": launch,
        "impact": impact,
        "areas": [
            {"kind": _enum(picture_pb2.AreaKind, a.kind, "AREA_KIND_"), "name": a.name, "p": a.probability}
            for a in t.threatened_areas
        ],
    }


def warning_json(w: picture_pb2.Warning) -> dict[str, Any]:
    return {
        "id": int(w.warning_id),
        "track_id": int(w.track_id),
        "level": _enum(picture_pb2.WarningLevel, w.level, "WARNING_LEVEL_"),
        "state": _enum(picture_pb2.Warning.State, w.state, "STATE_"),
        "areas": [_enum(picture_pb2.AreaKind, a.kind, "AREA_KIND_") for a in w.areas],
        "reasons": list(w.reasons),
        "issued_ms": w.issued_time_ns / 1e6,
        "updated_ms": w.updated_time_ns / 1e6,
    }


def label_json(picture: ClientPicture) -> dict[str, Any] | None:
    """The releasability label of what the page shows (the banner), or None before any."""
    label = picture.label
    if label is None:
        return None
    return {
        "marking": picture.marking(),
        "classification": label.classification,
        "releasable_to": [labels.TRIGRAPH[n] for n in labels.releasable_to(label)],
        "policy_id": label.policy_id,
        "signed": picture.label_signed,
    }


def paths_for(tracks: list[picture_pb2.SystemTrack]) -> list[tuple[np.ndarray | None, str]]:
    """The predicted path of each track: ballistic from its fused state, or (while boosting, when the impact
    is known) the great circle from its position to the impact point, at the ground."""
    out: list[tuple[np.ndarray | None, str]] = [(None, "none")] * len(tracks)
    ballistic = [k for k, t in enumerate(tracks) if t.phase != tracks_pb2.FLIGHT_PHASE_BOOST or not t.impact.valid]
    for k, t in enumerate(tracks):
        if k not in ballistic:
            out[k] = (great_circle(t.lat_deg, t.lon_deg, t.impact.lat_deg, t.impact.lon_deg), "corridor")
    if ballistic:
        s = [tracks[k].state for k in ballistic]
        states = np.array([[x.x_m, x.y_m, x.z_m, x.vx_m_s, x.vy_m_s, x.vz_m_s] for x in s])
        tgo = np.array(
            [
                (tracks[k].impact.impact_time_ns - tracks[k].time_ns) * 1e-9 if tracks[k].impact.valid else math.nan
                for k in ballistic
            ]
        )
        for k, p in zip(ballistic, predict_paths(states, tgo), strict=True):
            out[k] = (p, "ballistic")
    return out


def great_circle(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float, n: int = 32) -> np.ndarray:
    """(n, 3) points (lat deg, lon deg, height 0) on the great circle between two points (unit sphere slerp)."""
    p = np.radians([[lat1_deg, lon1_deg], [lat2_deg, lon2_deg]])
    xyz = np.column_stack([np.cos(p[:, 0]) * np.cos(p[:, 1]), np.cos(p[:, 0]) * np.sin(p[:, 1]), np.sin(p[:, 0])])
    omega = math.acos(float(np.clip(xyz[0] @ xyz[1], -1.0, 1.0)))
    f = np.linspace(0.0, 1.0, n)[:, None]
    if omega < 1e-9:
        pts = np.repeat(xyz[:1], n, axis=0)
    else:
        pts = (np.sin((1.0 - f) * omega) * xyz[0] + np.sin(f * omega) * xyz[1]) / math.sin(omega)
    lat = np.degrees(np.arcsin(np.clip(pts[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    return np.column_stack([lat, lon, np.zeros(n)])


class Feed:
    """The picture as the page sees it, and the browsers connected to it (a subscriber ``Sink``)."""

    def __init__(self, target: str, view: str | None) -> None:
        self.target = target
        self.requested_view = view
        self.picture: ClientPicture | None = None
        self.tracks: dict[int, dict[str, Any]] = {}  # track_json without history
        self.history: dict[int, deque[list[float]]] = {}
        self.paths: dict[int, tuple[float, int, dict[str, Any]]] = {}  # id -> (when computed, phase, path_json)
        self.clients: set[asyncio.Queue[str | None]] = set()
        self.notices: deque[str] = deque(maxlen=5)
        self.last_update_wall_s: float | None = None

    # --- Sink ---------------------------------------------------------------------------------------

    def start(self, picture: ClientPicture) -> None:
        self.picture = picture

    def notice(self, text: str) -> None:
        self.notices.append(f"{time.strftime('%H:%M:%S')} {text}")
        self.broadcast(json.dumps({"kind": "status", **self.status()}))

    def stop(self) -> None:
        for q in list(self.clients):
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(None)

    def update(self, update: picture_pb2.PictureUpdate, picture: ClientPicture) -> None:
        recv_ms = time.time() * 1e3
        self.last_update_wall_s = time.monotonic()
        if update.kind == PU.KIND_SNAPSHOT:
            changed = list(picture.tracks.values())
            deleted = [i for i in self.tracks if i not in picture.tracks]
        else:
            changed = [picture.tracks[t.track_id] for t in update.tracks if t.track_id in picture.tracks]
            deleted = [int(i) for i in update.deleted_track_ids]
        for i in deleted:
            self.tracks.pop(i, None)
            self.history.pop(i, None)
            self.paths.pop(i, None)
        now = time.monotonic()
        # new tracks and phase changes now; older paths a few per update, oldest first (no burst of 50 at once)
        due = [t for t in changed if t.track_id not in self.paths or self.paths[t.track_id][1] != t.phase]
        old = [t for t in changed if t.track_id in self.paths and now - self.paths[t.track_id][0] >= PATH_REFRESH_S]
        old.sort(key=lambda t: self.paths[t.track_id][0])
        due_ids = {t.track_id for t in due}
        due += [t for t in old if t.track_id not in due_ids][:PATHS_PER_UPDATE]
        fresh = {int(t.track_id): path_json(*pk) for t, pk in zip(due, paths_for(due), strict=True)}
        for t in due:
            self.paths[int(t.track_id)] = (now, int(t.phase), fresh[int(t.track_id)])
        out = []
        for t in changed:
            j = track_json(t)
            self.tracks[j["id"]] = j
            if j["id"] in fresh:
                j = {**j, **fresh[j["id"]]}
            h = self.history.setdefault(j["id"], deque(maxlen=HISTORY_POINTS))
            point = [round(j["lat"], 4), round(j["lon"], 4), round(j["alt_m"]), j["t_ms"]]
            if not h or j["t_ms"] - h[-1][3] >= HISTORY_SPACING_MS:
                h.append(point)
            out.append(j)
        if update.kind == PU.KIND_SNAPSHOT:  # the page replaces what it holds
            message = self.snapshot(recv_ms)
            message["seq"] = int(update.seq)
        else:
            message = {
                "kind": "delta",
                **self._clock(update, recv_ms),
                "tracks": out,
                "deleted": deleted,
                "warnings": [warning_json(w) for w in update.warnings],
            }
        message["sent_ms"] = time.time() * 1e3  # processing done: the page can tell server time from its own
        self.broadcast(json.dumps(message, separators=(",", ":")))

    # --- browsers ------------------------------------------------------------------------------------

    def _clock(self, update: picture_pb2.PictureUpdate | None, recv_ms: float) -> dict[str, Any]:
        p = self.picture
        return {
            "seq": int(update.seq) if update is not None else (p.last_seq if p else None),
            "time_ms": (update.time_ns / 1e6 if update is not None and update.time_ns else None)
            or (p.picture_now_ns() / 1e6 if p else time.time() * 1e3),
            "clock_rate": p.clock_rate if p else 1.0,
            "recv_ms": recv_ms,
            "view": NATION_NAMES.get(p.view, self.requested_view or "?") if p else (self.requested_view or "?"),
        }

    def snapshot(self, recv_ms: float | None = None) -> dict[str, Any]:
        """Everything the page needs to start: tracks with history, active warnings, status."""
        p = self.picture
        now_ms = recv_ms if recv_ms is not None else time.time() * 1e3
        clock = self._clock(None, now_ms)
        return {
            "kind": "snapshot",
            **clock,
            "tracks": [
                {
                    **j,
                    **self.paths.get(i, (0.0, 0, path_json(None, "none")))[2],
                    "history": list(self.history.get(i, ())),
                }
                for i, j in self.tracks.items()
            ],
            "warnings": [warning_json(w) for w in (p.warnings.values() if p else ())],
            "status": self.status(),
        }

    def status(self) -> dict[str, Any]:
        p = self.picture
        age = None if self.last_update_wall_s is None else time.monotonic() - self.last_update_wall_s
        return {
            "target": self.target,
            "view": NATION_NAMES.get(p.view, self.requested_view or "?") if p and p.view else self.requested_view,
            "state": p.status if p else "connecting",
            "seq": p.last_seq if p else None,
            "since_update_s": age,
            "rate_per_s": p.rate_per_s() if p else 0.0,
            "gaps": p.gaps if p else 0,
            "label": label_json(p) if p else None,
            "refused": dict(p.refused) if p else {},
            "notices": list(self.notices),
        }

    def connect(self) -> asyncio.Queue[str | None]:
        q: asyncio.Queue[str | None] = asyncio.Queue(CLIENT_QUEUE)
        q.put_nowait(json.dumps(self.snapshot(), separators=(",", ":")))
        self.clients.add(q)
        return q

    def disconnect(self, q: asyncio.Queue[str | None]) -> None:
        self.clients.discard(q)

    def broadcast(self, text: str) -> None:
        for q in list(self.clients):
            try:
                q.put_nowait(text)
            except asyncio.QueueFull:  # too slow: end its stream; the browser reconnects to a fresh snapshot
                self.clients.discard(q)
                q.get_nowait()
                q.put_nowait(None)
