"""The CoT bridge: the shared warning picture to a TAK server, as Cursor-on-Target events over pytak.

``run(options, subscribe, stop)`` subscribes to the fusion service like any console
(:func:`triwarn.services.subscriber.run`: a snapshot, then every delta) and sends, for every system track of
the view, three CoT (TAK protocol v0, XML) events whose uids come from the track number, so that each new
event replaces the previous one on every TAK client:

``<prefix>.<view>.track.<id>``    ``a-h-A-W-M-S-S`` (hostile surface-to-surface missile), ``how="m-f"``
    (fused machine track): the point (WGS-84 degrees, ``hae`` metres above the ellipsoid, ``ce``/``le``
    1-sigma horizontal/vertical errors from the track covariance), ``track`` (course from true north, 3-D
    speed m/s, slope degrees), ``contact``, the warning in ``remarks`` and in the event's ``qos`` (``9-r-d``
    for WARNING), and a ``triwarn`` element with the same facts for machines;
``<prefix>.<view>.impact.<id>``   ``u-d-c-e``, ``how="m-p"`` (a prediction): the 95% impact ellipse as
    ``shape/ellipse`` with ``major``/``minor`` the *semi*-axes in metres and ``angle`` the azimuth of the major
    axis in degrees clockwise from true north; ``point/@ce`` is the semi-major axis;
``<prefix>.<view>.impact-area.<id>``   ``u-d-f``: the same ellipse as a closed polygon of ``link/@point``
    vertices (consumers disagree on the ellipse's axes and angle: a polygon is read the same by all).

Both impact events name the convention in their ``remarks`` and link to the track event. Times: ``time`` and
``start`` are when the event is sent (this machine's UTC clock: TAK clients compare ``stale`` with theirs,
whatever the picture's clock, which a demo may run faster), ``stale`` ``stale_s`` later. While the gRPC
stream is live, every ``refresh_s`` the bridge re-sends the whole picture with fresh times, so a quiet track
stays on the map and a lost stream lets it go stale. A deleted track is sent once more with ``stale`` equal
to ``time`` and as ``t-x-d-d`` delete events (with ``__forcedelete``) for its three uids.

The TAK link (``tcp://HOST:PORT`` or ``tls://HOST:PORT`` with a client certificate) is opened with
:func:`pytak.protocol_factory` and written with :class:`pytak.TXWorker`; what the server sends back is read
and dropped. Events wait in a map from uid to the latest XML: a uid is sent at most every ``min_interval_s``
however fast the picture changes, and the subscriber never waits for the network. When the link drops, or
the server stops reading for ``write_timeout_s``, the bridge reconnects (backing off up to
``max_backoff_s``) and re-sends the picture, including the deletes of the last ``stale_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import warnings
from collections.abc import Iterable
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np

with warnings.catch_warnings():  # pytak warns at import that aiohttp (for its HTTP onboarding, unused here) is absent
    warnings.simplefilter("ignore", UserWarning)
    import pytak

from triwarn.core.trajectory.frames import ecef_vec_to_enu, geodesic_direct
from triwarn.services.subscriber import ClientPicture, SubscribeOptions
from triwarn.services.subscriber import run as subscribe
from triwarn.services.wire.nations import PB_TO_NATION
from triwarn.services.wire.tracks import covariance_full
from triwarn.v1 import picture_pb2, tracks_pb2

log = logging.getLogger("triwarn.cot")

#: CoT type of a hostile surface-to-surface missile in flight (MIL-STD-2525 via CoT's type tree).
MISSILE_TYPE = "a-h-A-W-M-S-S"
ELLIPSE_TYPE = "u-d-c-e"
POLYGON_TYPE = "u-d-f"
DELETE_TYPE = "t-x-d-d"
#: ``ce``/``le`` when the error is unknown (CoT's convention)
UNKNOWN_ERROR_M = 9_999_999.0
#: the event's qos (priority-overtaking-assurance) by warning level: the highest for WARNING
QOS = {"WARNING": "9-r-d", "WATCH": "7-r-d", "ADVISORY": "5-r-d", "NONE": "1-r-d", "UNSPECIFIED": "1-r-d"}
#: ARGB (as the signed 32-bit integers TAK's strokeColor/fillColor take) by warning level
_ARGB = {"WARNING": 0xFFE61E1E, "WATCH": 0xFFFFAA00, "ADVISORY": 0xFF00BEE6, "NONE": 0xFFAAAAAA}
ELLIPSE_CONVENTION = (
    "ellipse major/minor are semi-axes in metres; angle is the azimuth of the major axis in degrees clockwise "
    "from true north"
)


class TakLinkError(Exception):
    """The TAK link cannot be set up as configured (a retry would not help)."""


@dataclass(frozen=True)
class CotOptions:
    """Where and how to send. ``tak_url``: ``tcp://HOST:PORT`` or ``tls://HOST:PORT``; with TLS, ``cert`` (PEM
    or PKCS#12), ``key`` (PEM, when not inside ``cert``), ``ca`` (the server's CA, PEM) and ``cert_password``
    (of a PKCS#12 file); ``check_hostname`` False accepts a server certificate for another name. Events go
    stale ``stale_s`` after sending; the picture is re-sent every ``refresh_s``; each uid is sent at most every
    ``min_interval_s``; a server that takes ``write_timeout_s`` to accept an event counts as lost. An impact
    ellipse whose semi-major axis exceeds ``max_ellipse_semi_major_m`` (early in boost the 95% ellipse can span
    thousands of kilometres, and its ring may circle a pole) is not drawn: its numbers stay in the track's
    remarks."""

    tak_url: str
    cert: str | None = None
    key: str | None = None
    ca: str | None = None
    cert_password: str | None = None
    check_hostname: bool = True
    stale_s: float = 30.0
    refresh_s: float = 10.0
    uid_prefix: str = "triwarn"
    ellipse_vertices: int = 36
    max_backoff_s: float = 5.0
    min_interval_s: float = 1.0
    max_ellipse_semi_major_m: float = 2_500_000.0
    write_timeout_s: float = 10.0

    def pytak_config(self) -> Any:
        """The pytak configuration section of this link."""
        values = {"COT_URL": self.tak_url}
        tls = {
            "PYTAK_TLS_CLIENT_CERT": self.cert,
            "PYTAK_TLS_CLIENT_KEY": self.key,
            "PYTAK_TLS_CLIENT_CAFILE": self.ca,
            "PYTAK_TLS_CLIENT_PASSWORD": self.cert_password,
            "PYTAK_TLS_DONT_CHECK_HOSTNAME": None if self.check_hostname else "1",
        }
        values.update({k: v for k, v in tls.items() if v})
        parser = ConfigParser(interpolation=None)
        parser["triwarn-cot"] = values
        return parser["triwarn-cot"]


# --- CoT events ----------------------------------------------------------------------------------------


def cot_time(t_ns: int) -> str:
    """CoT's xs:dateTime in UTC with milliseconds, e.g. ``2026-01-01T00:00:00.000Z``."""
    return datetime.fromtimestamp(t_ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _name(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return "UNSPECIFIED"


def _event(uid: str, cot_type: str, how: str, now_ns: int, stale_ns: int, qos: str | None = None) -> ET.Element:
    ev = ET.Element("event", version="2.0", uid=uid, type=cot_type, how=how)
    ev.set("time", cot_time(now_ns))
    ev.set("start", cot_time(now_ns))
    ev.set("stale", cot_time(stale_ns))
    if qos:
        ev.set("qos", qos)
    return ev


def _signed32(argb: int) -> int:
    """An ARGB colour as the signed 32-bit integer TAK's strokeColor and fillColor hold."""
    return argb - (1 << 32) if argb >= 1 << 31 else argb


def _point(ev: ET.Element, lat_deg: float, lon_deg: float, hae_m: float, ce_m: float, le_m: float) -> None:
    ET.SubElement(
        ev, "point", lat=f"{lat_deg:.7f}", lon=f"{lon_deg:.7f}", hae=f"{hae_m:.1f}", ce=f"{ce_m:.1f}", le=f"{le_m:.1f}"
    )


def _errors_m(track: picture_pb2.SystemTrack, lat_rad: float, lon_rad: float) -> tuple[float, float]:
    """(ce, le): the 1-sigma horizontal error (square root of the larger eigenvalue of the east-north position
    covariance) and the 1-sigma vertical error, metres; unknown without a covariance."""
    upper = np.asarray(track.state.covariance_upper, dtype=np.float64)
    if upper.size != 21:
        return UNKNOWN_ERROR_M, UNKNOWN_ERROR_M
    P = covariance_full(upper)[:3, :3]
    R = np.array([ecef_vec_to_enu(*axis, lat_rad, lon_rad) for axis in np.eye(3)]).T  # ECEF -> ENU axes
    P_enu = R @ P @ R.T
    ce = math.sqrt(max(float(np.linalg.eigvalsh(P_enu[:2, :2])[-1]), 0.0))
    le = math.sqrt(max(float(P_enu[2, 2]), 0.0))
    return min(ce, UNKNOWN_ERROR_M), min(le, UNKNOWN_ERROR_M)


def _motion(track: picture_pb2.SystemTrack, lat_rad: float, lon_rad: float) -> tuple[float, float, float]:
    """(course_deg from true north in [0, 360), 3-D speed m/s, slope_deg, negative down) from the ECEF velocity."""
    s = track.state
    ve, vn, vu = ecef_vec_to_enu(s.vx_m_s, s.vy_m_s, s.vz_m_s, lat_rad, lon_rad)
    course = math.degrees(math.atan2(ve, vn)) % 360.0
    return course, math.sqrt(ve * ve + vn * vn + vu * vu), math.degrees(math.atan2(vu, math.hypot(ve, vn)))


def ellipse_vertices_deg(
    lat_deg: float, lon_deg: float, semi_major_m: float, semi_minor_m: float, orientation_deg: float, n: int
) -> list[tuple[float, float]]:
    """``n`` (lat, lon) vertices of an ellipse in the east-north plane at its centre (major axis at azimuth
    ``orientation_deg``), each at the geodesic distance and azimuth of its plane offset, the first repeated at
    the end (closed)."""
    out = []
    for k in range(n):
        theta = 2.0 * math.pi * k / n
        along, across = semi_major_m * math.cos(theta), semi_minor_m * math.sin(theta)
        az = math.radians(orientation_deg) + math.atan2(across, along)
        lat, lon, _ = geodesic_direct(math.radians(lat_deg), math.radians(lon_deg), az, math.hypot(along, across))
        out.append((math.degrees(lat), (math.degrees(lon) + 180.0) % 360.0 - 180.0))
    return [*out, out[0]]


class CotEvents:
    """Builds the CoT events of one view's tracks (stateless but for the options)."""

    def __init__(self, options: CotOptions) -> None:
        self.options = options

    def uids(self, view: str, track_id: int) -> dict[str, str]:
        base = f"{self.options.uid_prefix}.{view}"
        return {
            "track": f"{base}.track.{track_id}",
            "impact": f"{base}.impact.{track_id}",
            "impact-area": f"{base}.impact-area.{track_id}",
        }

    def track_events(
        self,
        view: str,
        track: picture_pb2.SystemTrack,
        warning: picture_pb2.Warning | None,
        now_ns: int,
        stale_ns: int | None = None,
    ) -> list[tuple[str, bytes]]:
        """The track's event and, with a valid impact prediction, its ellipse and polygon events, each as
        (uid, XML)."""
        stale_ns = now_ns + int(self.options.stale_s * 1e9) if stale_ns is None else stale_ns
        uids = self.uids(view, track.track_id)
        level = _name(picture_pb2.WarningLevel, track.warning_level, "WARNING_LEVEL_")
        phase = _name(tracks_pb2.FlightPhase, track.phase, "FLIGHT_PHASE_")
        cls = _name(picture_pb2.MissileClass, track.missile_class, "MISSILE_CLASS_")
        nations = "+".join(PB_TO_NATION.get(n, "?") for n in track.contributing_nations)
        lat_rad, lon_rad = math.radians(track.lat_deg), math.radians(track.lon_deg)
        warning_words = self._warning_words(warning, level)
        impact_words = self._impact_words(track)

        ev = _event(uids["track"], MISSILE_TYPE, "m-f", now_ns, stale_ns, QOS.get(level))
        _point(ev, track.lat_deg, track.lon_deg, track.altitude_m, *_errors_m(track, lat_rad, lon_rad))
        detail = ET.SubElement(ev, "detail")
        course, speed, slope = _motion(track, lat_rad, lon_rad)
        ET.SubElement(detail, "track", course=f"{course:.2f}", speed=f"{speed:.1f}", slope=f"{slope:.2f}")
        ET.SubElement(detail, "contact", callsign=f"TW{track.track_id} {cls}")
        remarks = f"triwarn system track {track.track_id} ({view} view): {phase.lower()}, {cls}, from {nations}. "
        ET.SubElement(detail, "remarks").text = remarks + warning_words + impact_words
        facts = {
            "track_id": str(track.track_id),
            "view": view,
            "level": level,
            "phase": phase,
            "class": cls,
            "nations": nations,
            "track_time": cot_time(track.time_ns),
        }
        if warning is not None:
            facts["warning_id"] = str(warning.warning_id)
            facts["warning_state"] = _name(picture_pb2.Warning.State, warning.state, "STATE_")
            facts["areas"] = "+".join(_name(picture_pb2.AreaKind, a.kind, "AREA_KIND_") for a in warning.areas)
        if track.impact.valid:
            facts["impact_time"] = cot_time(track.impact.impact_time_ns)
            facts["time_to_impact_s"] = f"{(track.impact.impact_time_ns - track.time_ns) / 1e9:.1f}"
        ET.SubElement(detail, "triwarn", facts)
        events = [ev]
        e = track.impact.ellipse
        if track.impact.valid and 0.0 < e.semi_minor_m <= e.semi_major_m <= self.options.max_ellipse_semi_major_m:
            events += self._impact_events(view, track, level, warning_words, now_ns, stale_ns)
        return [(e.get("uid", ""), ET.tostring(e, encoding="utf-8")) for e in events]

    @staticmethod
    def _warning_words(warning: picture_pb2.Warning | None, level: str) -> str:
        if warning is None:
            return f"Warning level {level}."
        state = _name(picture_pb2.Warning.State, warning.state, "STATE_").lower().replace("_", " ")
        areas = ", ".join(a.name or _name(picture_pb2.AreaKind, a.kind, "AREA_KIND_") for a in warning.areas)
        reasons = "; ".join(warning.reasons)
        return (
            f"{level} ({state})"
            + (f": {areas}" if areas else "")
            + (f" [{reasons}]" if reasons else "")
            + f" (warning {warning.warning_id})."
        )

    @staticmethod
    def _impact_words(track: picture_pb2.SystemTrack) -> str:
        if not track.impact.valid:
            return ""
        i, e = track.impact, track.impact.ellipse
        tti = (i.impact_time_ns - track.time_ns) / 1e9
        return (
            f" Impact {i.lat_deg:.3f}, {i.lon_deg:.3f} at {cot_time(i.impact_time_ns)} ({tti:.0f} s to impact);"
            f" 95% ellipse semi-axes {e.semi_major_m / 1e3:.1f} x {e.semi_minor_m / 1e3:.1f} km,"
            f" major axis {e.orientation_deg:.1f} deg clockwise from true north."
        )

    def _impact_events(
        self, view: str, track: picture_pb2.SystemTrack, level: str, warning_words: str, now_ns: int, stale_ns: int
    ) -> list[ET.Element]:
        uids = self.uids(view, track.track_id)
        i, e = track.impact, track.impact.ellipse
        argb = _ARGB.get(level, _ARGB["NONE"])
        convention = f"{ELLIPSE_CONVENTION}; confidence {e.confidence or 0.95:.2f}."
        when = f" Impact at {cot_time(i.impact_time_ns)}. {warning_words}"

        ellipse = _event(uids["impact"], ELLIPSE_TYPE, "m-p", now_ns, stale_ns, QOS.get(level))
        _point(ellipse, i.lat_deg, i.lon_deg, 0.0, max(e.semi_major_m, 0.0), UNKNOWN_ERROR_M)
        d = ET.SubElement(ellipse, "detail")
        shape = ET.SubElement(d, "shape")
        ET.SubElement(
            shape,
            "ellipse",
            major=f"{e.semi_major_m:.1f}",
            minor=f"{e.semi_minor_m:.1f}",
            angle=f"{e.orientation_deg:.2f}",
        )
        self._drawing(d, uids["track"], f"TW{track.track_id} impact 95%", argb)
        ET.SubElement(d, "remarks").text = f"95% impact ellipse of triwarn track {track.track_id}: {convention}{when}"

        polygon = _event(uids["impact-area"], POLYGON_TYPE, "m-p", now_ns, stale_ns, QOS.get(level))
        _point(polygon, i.lat_deg, i.lon_deg, 0.0, max(e.semi_major_m, 0.0), UNKNOWN_ERROR_M)
        d = ET.SubElement(polygon, "detail")
        vertices = ellipse_vertices_deg(
            i.lat_deg, i.lon_deg, e.semi_major_m, e.semi_minor_m, e.orientation_deg, self.options.ellipse_vertices
        )
        for lat, lon in vertices:
            ET.SubElement(d, "link", point=f"{lat:.7f},{lon:.7f}")
        self._drawing(d, uids["track"], f"TW{track.track_id} impact area", argb)
        ET.SubElement(d, "remarks").text = (
            f"95% impact ellipse of triwarn track {track.track_id} as a closed polygon "
            f"(semi-axes {e.semi_major_m:.0f} m x {e.semi_minor_m:.0f} m, major axis {e.orientation_deg:.1f} deg "
            f"clockwise from true north).{when}"
        )
        return [ellipse, polygon]

    @staticmethod
    def _drawing(detail: ET.Element, track_uid: str, callsign: str, argb: int) -> None:
        ET.SubElement(detail, "link", uid=track_uid, type=MISSILE_TYPE, relation="p-p")
        ET.SubElement(detail, "contact", callsign=callsign)
        ET.SubElement(detail, "strokeColor", value=str(_signed32(argb)))
        ET.SubElement(detail, "strokeWeight", value="3.0")
        ET.SubElement(detail, "fillColor", value=str(_signed32((argb & 0x00FFFFFF) | 0x40000000)))  # quarter opaque
        ET.SubElement(detail, "labels_on", value="true")

    def deleted_events(
        self, view: str, last: picture_pb2.SystemTrack | None, track_id: int, now_ns: int
    ) -> list[tuple[str, bytes]]:
        """A deleted track: its last state once more, stale at once, then a ``t-x-d-d`` for each of its uids
        (keyed ``delete:<uid>``)."""
        out = self.track_events(view, last, None, now_ns, stale_ns=now_ns) if last is not None else []
        for uid, cot_type in zip(
            self.uids(view, track_id).values(), (MISSILE_TYPE, ELLIPSE_TYPE, POLYGON_TYPE), strict=True
        ):
            ev = _event(f"{uid}.delete.{now_ns}", DELETE_TYPE, "m-g", now_ns, now_ns + int(self.options.stale_s * 1e9))
            _point(ev, 0.0, 0.0, 0.0, UNKNOWN_ERROR_M, UNKNOWN_ERROR_M)
            d = ET.SubElement(ev, "detail")
            ET.SubElement(d, "link", uid=uid, type=cot_type, relation="none")
            ET.SubElement(d, "__forcedelete")
            out.append((f"delete:{uid}", ET.tostring(ev, encoding="utf-8")))
        return out


# --- the bridge ----------------------------------------------------------------------------------------


class CotBridge:
    """A subscriber sink that turns picture updates into CoT events, and the TAK link that sends them.

    Events wait in a map from uid to the latest XML, so a fast picture (the fusion service may publish tens of
    deltas a second) costs the TAK link at most one event per uid every ``min_interval_s``, and the sink never
    waits for the network."""

    def __init__(self, options: CotOptions) -> None:
        self.options = options
        self.events = CotEvents(options)
        self.picture: ClientPicture | None = None
        self.view = "us"
        self._last: dict[int, picture_pb2.SystemTrack] = {}
        self._deleted: dict[int, tuple[picture_pb2.SystemTrack | None, int]] = {}  # id -> (last, wall ns)
        self._pending: dict[str, bytes] = {}
        self._wake = asyncio.Event()
        self.sent = 0
        self.connections = 0

    # the subscriber's Sink protocol
    def start(self, picture: ClientPicture) -> None:
        self.picture = picture

    def update(self, update: picture_pb2.PictureUpdate, picture: ClientPicture) -> None:
        self.view = PB_TO_NATION.get(update.view, self.view)
        now = time.time_ns()
        changed: Iterable[picture_pb2.SystemTrack]
        if update.kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT:
            gone = set(self._last) - set(picture.tracks)
            changed = picture.tracks.values()
        else:
            gone = {i for i in update.deleted_track_ids if i in self._last}
            touched = {t.track_id for t in update.tracks} | {w.track_id for w in update.warnings}
            changed = [t for i, t in picture.tracks.items() if i in touched]
        for track_id in sorted(gone):
            last = self._last.pop(track_id, None)
            self._deleted[track_id] = (last, now)
            self._post(self.events.deleted_events(self.view, last, track_id, now))
        for t in changed:
            self._last[t.track_id] = t
            self._deleted.pop(t.track_id, None)
            self._post(self.events.track_events(self.view, t, self._warning_of(t.track_id), now))

    def notice(self, text: str) -> None:
        log.info("%s", text)

    def stop(self) -> None:
        pass

    def _warning_of(self, track_id: int) -> picture_pb2.Warning | None:
        if self.picture is None:
            return None
        found = [w for w in self.picture.warnings.values() if w.track_id == track_id]
        return max(found, key=lambda w: w.updated_time_ns) if found else None

    def _post(self, events: list[tuple[str, bytes]]) -> None:
        for uid, data in events:
            self._pending.pop(uid, None)  # re-inserted at the end: sent in the order of the picture's changes
            self._pending[uid] = data
        if events:
            self._wake.set()

    def refresh_events(self, now_ns: int) -> list[tuple[str, bytes]]:
        """The whole picture with fresh times, and the deletes of the last ``stale_s``."""
        horizon = now_ns - int(self.options.stale_s * 1e9)
        self._deleted = {i: v for i, v in self._deleted.items() if v[1] >= horizon}
        out: list[tuple[str, bytes]] = []
        for track_id, (last, _) in sorted(self._deleted.items()):
            out += self.events.deleted_events(self.view, last, track_id, now_ns)
        for track_id, t in sorted(self._last.items()):
            out += self.events.track_events(self.view, t, self._warning_of(track_id), now_ns)
        return out

    async def link(self, stop: asyncio.Event) -> None:
        """Keep a link to the TAK server until ``stop``: connect, send the whole picture, then the changes
        and a refresh every ``refresh_s`` while the gRPC stream is live; reconnect when the link drops or the
        server stops reading for ``write_timeout_s``."""
        config = self.options.pytak_config()
        backoff = 0.2
        while not stop.is_set():
            try:
                reader, writer = await pytak.protocol_factory(config)
            except (SyntaxError, ValueError) as exc:  # pytak's words for a bad URL, certificate or key
                raise TakLinkError(f"cannot open the TAK link {self.options.tak_url}: {exc}") from exc
            except OSError as exc:  # refused, unreachable, TLS handshake failed: try again
                log.warning("TAK server %s unavailable (%s); retrying in %.1f s", self.options.tak_url, exc, backoff)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):
                        await stop.wait()
                backoff = min(self.options.max_backoff_s, backoff * 2)
                continue
            backoff = 0.2
            self.connections += 1
            log.info("connected to TAK server %s", self.options.tak_url)
            try:
                await self._serve(reader, writer, config, stop)
            except TimeoutError:
                log.warning(
                    "TAK link lost (TimeoutError: the server took over %.0f s to accept an event); reconnecting",
                    self.options.write_timeout_s,
                )
            except (ConnectionError, OSError) as exc:
                log.warning("TAK link lost (%s); reconnecting", str(exc) or type(exc).__name__)
            finally:
                writer.transport.abort()  # never wait on a server that stopped reading

    async def _serve(self, reader: Any, writer: Any, config: Any, stop: asyncio.Event) -> None:
        tx = pytak.TXWorker(asyncio.Queue(), config, writer)

        async def send(events: Iterable[tuple[str, bytes]]) -> None:
            for _, data in events:
                async with asyncio.timeout(self.options.write_timeout_s):
                    await tx.send_data(data)
                self.sent += 1

        async def drain() -> None:  # read and drop what the server sends (other clients' events)
            while await reader.read(65536):
                pass
            raise ConnectionResetError("the TAK server closed the connection")

        async def forward() -> None:
            self._pending.clear()  # the refresh below holds the latest of everything
            await send(self.refresh_events(time.time_ns()))
            next_refresh = time.monotonic() + self.options.refresh_s
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, next_refresh - time.monotonic())):
                        await self._wake.wait()
                self._wake.clear()
                if time.monotonic() >= next_refresh:
                    next_refresh = time.monotonic() + self.options.refresh_s
                    if self.picture is not None and self.picture.status == "live":
                        self._pending.clear()
                        await send(self.refresh_events(time.time_ns()))
                        continue
                batch, self._pending = self._pending, {}
                await send(batch.items())
                await asyncio.sleep(self.options.min_interval_s)  # at most one event per uid per interval

        tasks = [asyncio.create_task(drain()), asyncio.create_task(forward()), asyncio.create_task(stop.wait())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise a lost link
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def run(options: CotOptions, subscription: SubscribeOptions, stop: asyncio.Event | None = None) -> int:
    """Bridge the picture to the TAK server until ``stop`` (or the subscription's count or duration) ends it;
    returns the subscriber's exit code.

    Raises :class:`triwarn.services.subscriber.TargetUnavailable` when the fusion service does not answer, and
    :class:`TakLinkError` when the TAK link cannot be set up (bad URL, certificate or key)."""
    stop = stop or asyncio.Event()
    bridge = CotBridge(options)

    async def subscription_then_stop() -> int:
        try:
            return await subscribe(subscription, bridge, stop)
        finally:
            stop.set()

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(bridge.link(stop))
            result = tg.create_task(subscription_then_stop())
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None
    return result.result()
