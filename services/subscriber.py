"""The subscriber: a WarningService client that keeps its own copy of a view's picture and shows it.

``run(options, sink)`` connects, subscribes (snapshot first, or resuming after ``from_seq``), applies every
update to a :class:`ClientPicture`, and hands each update to a sink: :class:`JsonSink` (one JSON object per
update on stdout, for scripts), :class:`LiveSink` (a live ``rich`` view) or :class:`LineSink` (one line per
update, when stdout is not a terminal). On a dropped connection it reconnects and resumes after the last seq
it holds; when the server answers OUT_OF_RANGE (the resume point left the retention window) it takes a new
snapshot and says so. Notices go to stderr so that ``--json`` output stays one object per line.

Releasability (docs/coalition.md): every update carries a label (``PictureUpdate.label``). The subscriber
refuses, counts (``ClientPicture.refused``) and reports once per reason any update whose label does not release
it to its own nation (its certificate's, else its ``--view``, else the update's view), or whose label signature
is not the fusion service's (checked with ``SubscribeOptions.label_public_key``); it never applies or shows
one. The sinks show the label's classification and releasable-to nations at the top and whenever they change.

Time to impact is counted down between updates on the *picture clock*: the fusion service stamps every update
with its clock (which the demo runs faster than real time), and the subscriber extrapolates it from the last
update at the rate it observes between updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from triwarn.services.distribution.keepalive import CLIENT_OPTIONS
from triwarn.services.runtime.tls import TlsFiles
from triwarn.services.trust import labels
from triwarn.services.trust.topology import fusion_identity
from triwarn.services.wire.nations import NATION_TO_PB, PB_TO_NATION
from triwarn.v1 import picture_pb2, release_pb2, tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

PU = picture_pb2.PictureUpdate

#: what the view says under the tracks while one boosts
BOOST_NOTE = (
    "boosting: the impact lies in the corridor shown, from where the missile would fall if its thrust stopped now "
    "to the farthest its class can reach; the time to impact (≥) is the shortest; both change until burnout"
)

NOT_RUNNING_HINT = "is the fusion service running? start it with `triwarn fusion` or `triwarn demo`"


class TargetUnavailable(Exception):
    """The target did not answer the first connection."""


@dataclass(frozen=True)
class SubscribeOptions:
    target: str = "127.0.0.1:50051"
    view: str | None = None  # None: the server's default view
    from_seq: int | None = None  # resume after this seq instead of taking a snapshot
    filter: warning_service_pb2.Filter = field(default_factory=warning_service_pb2.Filter)
    count: int | None = None  # stop after this many updates (snapshots included)
    duration_s: float | None = None  # stop after this many seconds
    connect_timeout_s: float = 5.0  # how long the first connection may take
    max_backoff_s: float = 5.0  # longest wait between reconnection attempts
    tls: TlsFiles | None = None  # mutual TLS (a console's certificate, docs/coalition.md); None: plain text
    nation: str | None = None  # the console's own nation (None: its certificate's, else `view`, else each update's)
    label_public_key: str = ""  # the fusion service's label public key: check label signatures ("": do not)


class LabelGate:
    """Decides whether the console may show an update: its label must release it to ``nation`` (None: the
    update's own view), and its signature, if it has one and ``public_key`` is given, must verify."""

    def __init__(self, nation: str | None, public_key: Any = None) -> None:
        self.nation = nation
        self._public_key = public_key
        self._key_id = fusion_identity()

    @classmethod
    def for_options(cls, options: SubscribeOptions) -> LabelGate:
        nation = options.nation or (options.tls.nation() if options.tls is not None else None) or options.view
        key = labels.load_public_key(options.label_public_key) if options.label_public_key else None
        return cls(nation, key)

    def refusal(self, update: picture_pb2.PictureUpdate) -> tuple[str, str] | None:
        """(reason, text) when ``update`` must not be shown; None when it may."""
        refused = labels.refusal(update, self.nation or PB_TO_NATION.get(update.view, "?"))
        if refused is not None:
            return refused
        if (
            self._public_key is not None
            and update.HasField("label_signature")
            and not labels.verify_label(update.label, update.label_signature, self._key_id, self._public_key)
        ):
            return "bad_signature", f"the label of update {update.seq} is not signed by {self._key_id}"
        return None


# --- the client's picture ------------------------------------------------------------------------------


class ClientPicture:
    """What the subscriber holds: the view's tracks and active warnings, the last seq, rates and clocks."""

    def __init__(self) -> None:
        self.tracks: dict[int, picture_pb2.SystemTrack] = {}
        self.warnings: dict[int, picture_pb2.Warning] = {}
        self.view: tracks_pb2.Nation = tracks_pb2.NATION_UNSPECIFIED
        self.last_seq: int | None = None
        self.updates = 0
        self.snapshots = 0
        self.gaps = 0  # updates missing in the sequence (never expected: the server guarantees none)
        self.duplicates = 0
        self.status = "connecting"
        #: the releasability label of the last update shown, and whether it came signed
        self.label: release_pb2.ReleaseLabel | None = None
        self.label_signed = False
        #: updates refused (never shown), by reason: not_released, unlabelled, bad_signature
        self.refused: dict[str, int] = {}
        self._arrivals: deque[float] = deque(maxlen=200)
        self._clock_ref: tuple[int, float] | None = None  # (picture time_ns, local monotonic s) of the last update
        self._clock_first: tuple[int, float] | None = None
        self.clock_rate = 1.0  # picture-clock seconds per local second, estimated

    def apply(self, update: picture_pb2.PictureUpdate) -> None:
        now = time.monotonic()
        self.updates += 1
        self._arrivals.append(now)
        self.view = update.view
        if update.HasField("label"):
            self.label = update.label
            self.label_signed = update.HasField("label_signature")
        if update.kind == PU.KIND_SNAPSHOT:
            self.snapshots += 1
            self.tracks = {t.track_id: t for t in update.tracks}
            self.warnings = {w.warning_id: w for w in update.warnings}
        else:
            if self.last_seq is not None:
                if update.seq <= self.last_seq:
                    self.duplicates += 1
                    return
                self.gaps += update.seq - self.last_seq - 1
            for t in update.tracks:
                self.tracks[t.track_id] = t
            for track_id in update.deleted_track_ids:
                self.tracks.pop(track_id, None)
            for w in update.warnings:
                if w.state in (picture_pb2.Warning.STATE_ENDED, picture_pb2.Warning.STATE_CANCELLED):
                    self.warnings.pop(w.warning_id, None)
                else:
                    self.warnings[w.warning_id] = w
        self.last_seq = update.seq
        if update.time_ns and update.kind == PU.KIND_SNAPSHOT:
            if self._clock_ref is None:  # the picture as of its last update: a first, rough clock
                self._clock_ref = (update.time_ns, now)
        elif update.time_ns:
            if self._clock_first is None:
                self._clock_first = (update.time_ns, now)
            else:
                t0, m0 = self._clock_first
                if now - m0 > 1.0:
                    self.clock_rate = min(1000.0, max(0.001, (update.time_ns - t0) * 1e-9 / (now - m0)))
            self._clock_ref = (update.time_ns, now)

    def marking(self) -> str:
        """The label as the consoles show it: classification, releasable-to nations, policy, signed or not."""
        if self.label is None:
            return "no releasability label yet"
        signed = "signed by the fusion service" if self.label_signed else "unsigned"
        return f"{labels.describe(self.label)}, {signed}"

    def picture_now_ns(self) -> int:
        """The fusion service's clock now, extrapolated from the last update (wall clock before any)."""
        if self._clock_ref is None:
            return time.time_ns()
        t_ns, m = self._clock_ref
        return t_ns + int((time.monotonic() - m) * self.clock_rate * 1e9)

    def time_to_impact_s(self, track: picture_pb2.SystemTrack) -> float | None:
        if not track.impact.valid or not track.impact.impact_time_ns:
            return None
        return (track.impact.impact_time_ns - self.picture_now_ns()) * 1e-9

    def rate_per_s(self, window_s: float = 5.0) -> float:
        now = time.monotonic()
        recent = [t for t in self._arrivals if now - t <= window_s]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(now - recent[0], 1e-6)


# --- sinks ---------------------------------------------------------------------------------------------


class Sink(Protocol):
    def start(self, picture: ClientPicture) -> None: ...
    def update(self, update: picture_pb2.PictureUpdate, picture: ClientPicture) -> None: ...
    def notice(self, text: str) -> None: ...
    def stop(self) -> None: ...


def update_to_dict(update: picture_pb2.PictureUpdate) -> dict[str, Any]:
    """One update as a JSON-ready dict: proto field names, enum names, every scalar present (seq included),
    64-bit integers as numbers."""
    d = json_format.MessageToDict(update, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    _int64_to_numbers(d, update.DESCRIPTOR)
    return d


def _int64_to_numbers(d: Any, descriptor: Any) -> None:
    """json_format writes 64-bit integers as strings (JSON numbers lose precision past 2**53); ours are seqs,
    ids and nanosecond times, which scripts compare as numbers. Python's json keeps them exact."""
    fd = FieldDescriptor
    big = {fd.TYPE_INT64, fd.TYPE_UINT64, fd.TYPE_SINT64, fd.TYPE_FIXED64, fd.TYPE_SFIXED64}
    for f in descriptor.fields:
        if f.name not in d:
            continue
        value = d[f.name]
        if f.type in big:
            d[f.name] = [int(v) for v in value] if isinstance(value, list) else int(value)
        elif f.message_type is not None:
            for item in value if isinstance(value, list) else [value]:
                _int64_to_numbers(item, f.message_type)


class JsonSink:
    """One JSON object per update (with its seq) on ``out``; notices on ``err``."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._marking = ""

    def start(self, picture: ClientPicture) -> None:
        pass

    def update(self, update: picture_pb2.PictureUpdate, picture: ClientPicture) -> None:
        """The update (its ``label`` included); the label's marking on ``err`` first and when it changes."""
        if picture.label is not None and picture.marking() != self._marking:
            self._marking = picture.marking()
            self.notice(f"label: {self._marking}")
        self._out.write(json.dumps(update_to_dict(update), separators=(",", ":")) + "\n")
        self._out.flush()

    def notice(self, text: str) -> None:
        print(f"triwarn subscribe: {text}", file=self._err, flush=True)

    def stop(self) -> None:
        pass


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix).lower().replace("_", " ")
    except ValueError:
        return str(value)


def _nations(values: Any) -> str:
    return ",".join(PB_TO_NATION.get(v, "?") for v in values)


def _fmt_tti(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds <= 0:
        return "impact"
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def warning_counts(picture: ClientPicture) -> str:
    """The active warnings counted by level, highest first ("1 warning, 2 watch"); a warning whose level
    fell to none is not counted, so the header never says "2 warnings" while no level is raised."""
    counts: dict[int, int] = {}
    for w in picture.warnings.values():
        if w.level > picture_pb2.WARNING_LEVEL_NONE:
            counts[w.level] = counts.get(w.level, 0) + 1
    if not counts:
        return "no warnings"
    return ", ".join(
        f"{n} {_enum_name(picture_pb2.WarningLevel, level, 'WARNING_LEVEL_')}"
        for level, n in sorted(counts.items(), reverse=True)
    )


class LineSink:
    """One line per change of substance, for a pipe or a log (stdout is not a terminal): a track appears or
    goes, or its phase, class, warning level or contributing nations change, or its impact point moves by more
    than ``impact_step_km``; a warning is issued, changes level or state, or ends. A track's line holds its
    impact point (or, while boosting, that the impact is not yet known) and its level, so a reader needs no
    earlier line to act on it."""

    def __init__(self, out: IO[str] | None = None, impact_step_km: float = 10.0) -> None:
        self._out = out or sys.stdout
        self._impact_step_m = impact_step_km * 1e3
        self._tracks: dict[int, tuple[Any, ...]] = {}  # track id -> (substance, impact lat, impact lon)
        self._warnings: dict[int, tuple[int, int]] = {}  # warning id -> (level, state)
        self._marking = ""

    def start(self, picture: ClientPicture) -> None:
        pass

    def update(self, update: picture_pb2.PictureUpdate, picture: ClientPicture) -> None:
        lines = []
        if picture.label is not None and picture.marking() != self._marking:  # the label: first, and on change
            self._marking = picture.marking()
            lines.append(f"label {self._marking}")
        for track_id in sorted(set(self._tracks) - set(picture.tracks)):
            del self._tracks[track_id]
            lines.append(f"track {track_id} dropped")
        for t in sorted(picture.tracks.values(), key=lambda t: t.track_id):
            corridor = _corridor(t)
            nations = tuple(t.contributing_nations)
            substance = (t.phase, t.missile_class, t.warning_level, nations, t.impact.valid, corridor)
            # the point that must move to make news: the corridor's far end while boosting (its near end, the
            # instantaneous impact point, races downrange until burnout), else the impact point
            c = t.impact.corridor
            lat, lon = (c.far_lat_deg, c.far_lon_deg) if corridor else (t.impact.lat_deg, t.impact.lon_deg)
            shown = self._tracks.get(t.track_id)
            moved = (
                shown is not None
                and t.impact.valid
                and shown[1] is not None
                and (_ground_distance_m(shown[1], shown[2], lat, lon) > self._impact_step_m)
            )
            if shown is None or shown[0] != substance or moved:
                self._tracks[t.track_id] = (
                    substance,
                    lat if t.impact.valid else None,
                    lon if t.impact.valid else None,
                )
                lines.append(_track_line(t, picture, "new" if shown is None else "update"))
        for w in sorted(picture.warnings.values(), key=lambda w: w.warning_id):
            if self._warnings.get(w.warning_id) != (w.level, w.state):
                self._warnings[w.warning_id] = (w.level, w.state)
                lines.append(_warning_line(w, picture))
        closed = {w.warning_id: w for w in update.warnings if w.warning_id not in picture.warnings}
        for warning_id in sorted(set(self._warnings) - set(picture.warnings)):
            del self._warnings[warning_id]
            ended = closed.get(warning_id)
            lines.append(_warning_line(ended) if ended is not None else f"warning {warning_id} ended")
        if update.kind == PU.KIND_SNAPSHOT:
            at = 1 if lines and lines[0].startswith("label ") else 0
            lines.insert(at, f"snapshot of view {PB_TO_NATION.get(update.view, '?')}: {len(picture.tracks)} track(s)")
        for line in lines:
            print(f"seq {update.seq} {line}", file=self._out)
        if lines:
            self._out.flush()

    def notice(self, text: str) -> None:
        print(f"triwarn subscribe: {text}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        pass


def _ground_distance_m(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Great-circle distance on a sphere of the Earth's mean radius (for "did it move", not for navigation)."""
    la1, la2 = math.radians(lat1_deg), math.radians(lat2_deg)
    dla, dlo = la2 - la1, math.radians(lon2_deg - lon1_deg)
    h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2.0 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))


def _corridor(t: picture_pb2.SystemTrack) -> bool:
    """Whether the track's impact is a boost corridor (near and far ends) rather than a point."""
    return t.impact.valid and t.impact.corridor.valid


def _corridor_text(t: picture_pb2.SystemTrack) -> str:
    """ "corridor A → B" (near end: the instantaneous impact point; far end: the longest reach)."""
    c = t.impact.corridor
    return f"corridor {c.near_lat_deg:.2f},{c.near_lon_deg:.2f} → {c.far_lat_deg:.2f},{c.far_lon_deg:.2f}"


def track_time_to_impact(t: picture_pb2.SystemTrack, picture: ClientPicture) -> str:
    """Time to impact; while boosting, the instantaneous impact point's (a lower bound: "≥")."""
    tti = _fmt_tti(picture.time_to_impact_s(t))
    return f"≥ {tti}" if t.phase == tracks_pb2.FLIGHT_PHASE_BOOST and tti not in ("-", "impact") else tti


def _impact_text(t: picture_pb2.SystemTrack, picture: ClientPicture) -> str:
    if not t.impact.valid:
        return "impact not predicted yet"
    e = t.impact.ellipse
    where = f"impact {t.impact.lat_deg:.2f},{t.impact.lon_deg:.2f} ±{e.semi_major_m / 1e3:.0f} km"
    if _corridor(t):
        where = f"boosting: impact in the {_corridor_text(t)} (narrows until burnout)"
    elif t.phase == tracks_pb2.FLIGHT_PHASE_BOOST:
        where = f"boosting, no heading yet: impact within {e.semi_major_m / 1e3:.0f} km of {t.impact.lat_deg:.2f},"
        where += f"{t.impact.lon_deg:.2f}"
    tti = track_time_to_impact(t, picture)
    if t.phase == tracks_pb2.FLIGHT_PHASE_BOOST:
        return f"{where}, in {tti} (if thrust stopped now; later if it burns on)"
    return f"{where}, in {tti}"


def _track_line(t: picture_pb2.SystemTrack, picture: ClientPicture, what: str) -> str:
    phase = _enum_name(tracks_pb2.FlightPhase, t.phase, "FLIGHT_PHASE_")
    klass = _enum_name(picture_pb2.MissileClass, t.missile_class, "MISSILE_CLASS_")
    level = _enum_name(picture_pb2.WarningLevel, t.warning_level, "WARNING_LEVEL_")
    group = f", {t.estimated_objects} objects not yet resolved" if t.estimated_objects > 1 else ""
    return (
        f"track {t.track_id} {what}: {phase}, {klass}{group}, {t.altitude_m / 1e3:.0f} km up, "
        f"[{_nations(t.contributing_nations)}]; {_impact_text(t, picture)}; level {level}"
    )


def _warning_state(w: picture_pb2.Warning, picture: ClientPicture | None) -> str:
    """The warning's state; a coasting one with the time since a sensor last updated its track."""
    state = _enum_name(picture_pb2.Warning.State, w.state, "STATE_")
    if w.state == picture_pb2.Warning.STATE_COASTING and w.last_sensor_update_ns and picture is not None:
        state += f" (no sensor update for {max(picture.picture_now_ns() - w.last_sensor_update_ns, 0) / 1e9:.0f} s)"
    return state


def _warning_line(w: picture_pb2.Warning, picture: ClientPicture | None = None) -> str:
    level = _enum_name(picture_pb2.WarningLevel, w.level, "WARNING_LEVEL_")
    state = _warning_state(w, picture)
    areas = ", ".join(a.name or str(a.kind) for a in w.areas) or "no area"
    return f"warning {w.warning_id} (track {w.track_id}) {state}, {level}: {areas}; {'; '.join(w.reasons)}"


class LiveSink:
    """A live terminal view with rich: tracks, impact points, countdowns, warnings, seq and update rate."""

    def __init__(self, target: str, console: Any = None) -> None:
        self._target = target
        self._console = console or Console()
        self._live: Any = None
        self._picture: ClientPicture | None = None
        self._notices: deque[str] = deque(maxlen=3)

    def start(self, picture: ClientPicture) -> None:
        self._picture = picture
        self._live = Live(get_renderable=self._render, console=self._console, refresh_per_second=4, screen=False)
        self._live.start()

    def update(self, update: picture_pb2.PictureUpdate, picture: ClientPicture) -> None:
        pass  # the live view re-renders from the picture four times a second

    def notice(self, text: str) -> None:
        self._notices.append(f"{time.strftime('%H:%M:%S')} {text}")
        if self._live is None:
            self._console.print(f"triwarn subscribe: {text}")

    def stop(self) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.stop()

    def _render(self) -> Any:
        p = self._picture
        assert p is not None
        banner = Text(p.marking(), style="bold white on dark_green" if p.label is not None else "bold yellow")
        if p.refused:
            refused = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(p.refused.items()))
            banner.append(f"   refused (not shown): {refused}", style="bold red")
        header = Text()
        header.append("triwarn shared warning picture", style="bold")
        header.append(f"   view {PB_TO_NATION.get(p.view, '?')}   target {self._target}   ")
        header.append(p.status, style="green" if p.status == "live" else "yellow")
        header.append(
            f"   seq {p.last_seq if p.last_seq is not None else '-'}   {p.rate_per_s():.1f} updates/s"
            f"   {len(p.tracks)} tracks   {warning_counts(p)}"
        )
        if p.gaps or p.duplicates:  # never expected: the server guarantees a gap-free sequence
            header.append(f"   {p.gaps} missing, {p.duplicates} duplicate updates", style="bold red")
        if p.clock_rate > 1.05 or p.clock_rate < 0.95:
            header.append(f"   (clock x{p.clock_rate:.0f})")

        tracks = Table(expand=True, title="system tracks", title_justify="left")
        for col in ("id", "phase", "class", "level", "nations", "alt km", "lat, lon", "impact", "ellipse km",
                    "to impact", "areas"):  # fmt: skip
            tracks.add_column(col, no_wrap=col not in ("areas",))
        level_style = {4: "bold red", 3: "yellow", 2: "cyan", 1: "dim"}
        for t in sorted(p.tracks.values(), key=lambda t: (-t.warning_level, t.track_id)):
            impact = "-"
            ellipse = "-"
            if _corridor(t):  # the ellipse only wraps the corridor: its width across is what it adds
                impact = _corridor_text(t)
                ellipse = f"± {t.impact.ellipse.semi_minor_m / 1e3:.1f} across"
            elif t.impact.valid:
                impact = f"{t.impact.lat_deg:.2f}, {t.impact.lon_deg:.2f}"
                e = t.impact.ellipse
                ellipse = f"{e.semi_major_m / 1e3:.1f} x {e.semi_minor_m / 1e3:.1f} @ {e.orientation_deg:.0f}°"
            tracks.add_row(
                str(t.track_id),
                _enum_name(tracks_pb2.FlightPhase, t.phase, "FLIGHT_PHASE_"),
                _enum_name(picture_pb2.MissileClass, t.missile_class, "MISSILE_CLASS_"),
                Text(
                    _enum_name(picture_pb2.WarningLevel, t.warning_level, "WARNING_LEVEL_"),
                    style=level_style.get(t.warning_level, ""),
                ),
                _nations(t.contributing_nations),
                f"{t.altitude_m / 1e3:.1f}",
                f"{t.lat_deg:.2f}, {t.lon_deg:.2f}",
                impact,
                ellipse,
                track_time_to_impact(t, p),
                ", ".join(f"{a.name or a.kind} {a.probability:.0%}" for a in t.threatened_areas) or "-",
            )
        warnings = Table(expand=True, title="warnings", title_justify="left")
        for col in ("id", "track", "level", "state", "areas", "reasons"):
            warnings.add_column(col)
        for w in sorted(p.warnings.values(), key=lambda w: (-w.level, w.warning_id)):
            warnings.add_row(
                str(w.warning_id),
                str(w.track_id),
                Text(
                    _enum_name(picture_pb2.WarningLevel, w.level, "WARNING_LEVEL_"),
                    style=level_style.get(w.level, ""),
                ),
                _warning_state(w, p),
                ", ".join(a.name or str(a.kind) for a in w.areas) or "-",
                "; ".join(w.reasons) or "-",
            )
        parts: list[Any] = [banner, header, tracks]
        if any(t.phase == tracks_pb2.FLIGHT_PHASE_BOOST for t in p.tracks.values()):
            parts.append(Text(BOOST_NOTE, style="dim"))
        parts.append(warnings)
        parts += [Text(n, style="dim") for n in self._notices]
        return Group(*parts)


# --- the client loop -----------------------------------------------------------------------------------


def _channel(options: SubscribeOptions) -> grpc.aio.Channel:
    """A channel to the target: mutual TLS with ``options.tls`` (the server is checked against its CA and
    host name; our certificate names our nation, hence our view), plain text without."""
    if options.tls is None:
        return grpc.aio.insecure_channel(options.target, options=CLIENT_OPTIONS)
    return grpc.aio.secure_channel(options.target, options.tls.grpc_channel_credentials(), options=CLIENT_OPTIONS)


async def run(options: SubscribeOptions, sink: Sink, stop: asyncio.Event | None = None) -> int:
    """Subscribe until ``stop`` is set, ``count`` updates arrived or ``duration_s`` passed; 0 on a normal end.

    Raises :class:`TargetUnavailable` when the first connection does not succeed within
    ``connect_timeout_s``."""
    stop = stop or asyncio.Event()
    picture = ClientPicture()
    request = warning_service_pb2.SubscribeRequest(filter=options.filter)
    if options.view:
        request.view = NATION_TO_PB[options.view]
    resume = options.from_seq
    deadline = None if options.duration_s is None else time.monotonic() + options.duration_s
    connected_once = False
    backoff = 0.1
    gate = LabelGate.for_options(options)
    sink.start(picture)
    try:
        while not stop.is_set():
            if resume is None:
                request.ClearField("resume_after_seq")
            else:
                request.resume_after_seq = resume
            async with _channel(options) as channel:
                if not connected_once:
                    try:
                        async with asyncio.timeout(options.connect_timeout_s):
                            await channel.channel_ready()
                    except TimeoutError:
                        raise TargetUnavailable(
                            f"no answer from {options.target} within {options.connect_timeout_s:g} s: "
                            f"{NOT_RUNNING_HINT}"
                        ) from None
                call = warning_service_pb2_grpc.WarningServiceStub(channel).Subscribe(request)
                outcome = await _consume(call, picture, sink, options, stop, deadline, gate)
            if outcome == "done":
                return 0
            if outcome == "ok":
                connected_once = True
                backoff = 0.1
                continue
            code, details, got_any = outcome
            connected_once = connected_once or got_any
            if got_any:
                backoff = 0.1
            if code == grpc.StatusCode.OUT_OF_RANGE:
                sink.notice(f"cannot resume after seq {resume}: {details} -> taking a new snapshot")
                resume = None
                continue
            if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED):
                sink.notice(f"the server refused the subscription: {code.name}: {details}")
                return 2
            if not connected_once:
                raise TargetUnavailable(f"{options.target} answered {code.name} ({details}): {NOT_RUNNING_HINT}")
            resume = picture.last_seq if picture.last_seq is not None else resume
            if got_any or picture.status != "reconnecting":  # one notice per outage
                picture.status = "reconnecting"
                sink.notice(
                    f"stream ended ({code.name}: {details}); reconnecting and resuming after seq {resume}"
                    if resume is not None
                    else f"stream ended ({code.name}: {details}); reconnecting"
                )
            wait = backoff if deadline is None else min(backoff, max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await stop.wait()
            if deadline is not None and time.monotonic() >= deadline:
                return 0
            backoff = min(options.max_backoff_s, backoff * 2)
        return 0
    finally:
        sink.stop()


async def _consume(
    call: Any,
    picture: ClientPicture,
    sink: Sink,
    options: SubscribeOptions,
    stop: asyncio.Event,
    deadline: float | None,
    gate: LabelGate,
) -> Any:
    """Read one call until it ends: "done" (count, duration or stop reached), "ok" (server closed it
    cleanly), or (status code, details, whether anything arrived). An update ``gate`` refuses is counted,
    reported once per reason, and neither applied nor shown."""
    got_any = False
    stopper = asyncio.create_task(stop.wait())
    try:
        while True:
            reader = asyncio.ensure_future(call.read())
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, _ = await asyncio.wait({reader, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if reader not in done:
                reader.cancel()
                call.cancel()
                return "done"
            try:
                update = reader.result()
            except grpc.aio.AioRpcError as exc:
                return (exc.code(), exc.details() or "", got_any)
            if update is grpc.aio.EOF:  # type: ignore[attr-defined]
                return "ok"
            got_any = True
            picture.status = "live"
            refused = gate.refusal(update)
            if refused is not None:
                reason, text = refused
                picture.refused[reason] = picture.refused.get(reason, 0) + 1
                if picture.refused[reason] == 1:
                    sink.notice(f"refused an update, not shown ({reason}): {text}; further ones are only counted")
                continue
            picture.apply(update)
            sink.update(update, picture)
            if options.count is not None and picture.updates >= options.count:
                call.cancel()
                return "done"
    finally:
        stopper.cancel()


def main(options: SubscribeOptions, json_output: bool, target_source: str = "") -> int:
    """Run the subscriber in this process (the ``triwarn subscribe`` command). Ctrl-C ends it with exit code
    130 ("interrupted" on stderr), SIGTERM with 0; an unreachable target is exit code 1, with the address tried
    and where it came from (``target_source``, e.g. "--target")."""
    if json_output:
        sink: Sink = JsonSink()
    else:
        console = Console()
        sink = LiveSink(options.target, console) if console.is_terminal else LineSink()
    got: list[int] = []

    async def go() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: int) -> None:
            got.append(sig)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            return await run(options, sink, stop)
        except TargetUnavailable as exc:
            origin = f" (address from {target_source})" if target_source else ""
            print(
                f"triwarn subscribe: {exc}{origin}; or give the address with --target HOST:PORT",
                file=sys.stderr,
            )
            return 1

    code = asyncio.run(go())
    if signal.SIGINT in got:
        print("triwarn subscribe: interrupted", file=sys.stderr)
        return 130
    return code
