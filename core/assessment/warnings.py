"""Warnings with a lifecycle, from the per-track assessments of :mod:`triwarn.core.assessment.assess`.

One :class:`WarningBook` per view. :meth:`WarningBook.update` is called once per picture update with that
update's assessments and deleted tracks, and returns the warnings that are new or changed (a delta). Lifecycle
of the one warning a track can have (``Warning.State`` in picture.proto):

- ``NEW``: first assessment of a track (every tracked launch gets a warning; ``level`` says how severe);
- ``IMPACT_EXPECTED``: the warning names areas (:attr:`.assess.Assessment.warning_areas`: the impact area lies
  in, or the path overflies, an area of the three nations, past its threshold); while boosting the impact
  area is the corridor the missile can still reach (it shrinks to the impact ellipse at burnout); re-issued
  when the set of areas changes;
- ``UPDATED``: level, areas, phase or estimates changed materially (impact point moved by more than
  ``move_m``, or its ellipse changed by more than ``ellipse_frac``; not while boosting, when the
  instantaneous impact point races downrange), so subscribers are not flooded every cycle, and the reasons
  always describe the current phase; also when a coasting track is updated by a sensor again (re-acquired);
- ``COASTING``: no sensor holds the object (its track was last updated more than ``coast_after_s`` ago, or
  it was deleted before its predicted impact: out of coverage). The warning stands, under the same id, on its
  last prediction; ``sensor_time_ns`` says when a sensor last saw it. Assessments of a coasted state may
  narrow it but never escalate it past its last sensor-backed warning (:func:`_no_escalation`); so too, before
  it coasts, an assessment without a sensor update for ``escalate_stale_s`` or since the track's previous one.
  It continues (``UPDATED``, same id) when the track is assessed again (the fusion service keeps the number
  of a re-acquired track), and ends
  (``ENDED``) ``coast_end_s`` after its predicted impact, or ``lost_after_s`` after its last sensor update
  when it has no predicted impact time (none, or a boosting track's: a lower bound);
- ``ENDED``: the track was deleted at or after its predicted impact (minus ``impact_slack_s``; not in boost),
  or a coasting warning ran out (above): the object impacted;
- ``CANCELLED``: the caller names the track false, or a track held less than ``min_held_s`` is not
  re-acquired within ``false_after_s`` of its deletion (judged false), or a duplicate of another track (merged
  into it, or a
  deleted track whose object a live track holds: :meth:`WarningBook._continued`; when the deleted track's
  warning is the older one it continues on the live track, under its id, and the live track's newer warning is
  the one cancelled): only a track found false, or a second warning about one object, is cancelled.

Ended and cancelled warnings leave the book; warning ids are never reused. Coasting warnings are checked for
their end at every :meth:`WarningBook.update`. Plain dataclasses here; the protobuf converters
(``warning_to_proto``, ``fill_track_assessment``) are the picture adapter's (:mod:`triwarn.services.wire.picture`),
and the fusion service wires both into its picture updates (``FusionService.assessment_updates``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np

from triwarn.core.assessment.assess import AreaKind, Assessment, ThreatenedArea, WarningLevel
from triwarn.core.assessment.impact import ground_track_one
from triwarn.core.tracks import Phase
from triwarn.core.trajectory.constants import GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import geodetic_to_ecef

NS = 1_000_000_000


class WarningState(IntEnum):
    """Values match ``triwarn.v1.Warning.State``."""

    UNSPECIFIED = 0
    NEW = 1
    UPDATED = 2
    IMPACT_EXPECTED = 3
    ENDED = 4
    CANCELLED = 5
    COASTING = 6


@dataclass(frozen=True)
class WarningChange:
    """A warning as it is now (mirrors ``triwarn.v1.Warning``)."""

    warning_id: int
    track_id: int
    level: WarningLevel
    state: WarningState
    areas: tuple[ThreatenedArea, ...]
    reasons: tuple[str, ...]
    issued_time_ns: int
    updated_time_ns: int
    sensor_time_ns: int = 0  # when a sensor last updated the track (ns; 0: unknown)


@dataclass
class _Active:
    warning: WarningChange
    last: Assessment  # the assessment of the last published change
    area_kinds: frozenset[AreaKind]
    seen_terminal: bool = False
    announced: frozenset[AreaKind] = frozenset()  # areas of the last IMPACT_EXPECTED
    coasting: bool = False
    deleted: bool = False  # the track was deleted (out of coverage) and its warning coasts
    deleted_ns: int = 0  # when
    #: level and areas of the last warning published from a sensor-backed assessment (a sensor update within
    #: escalate_stale_s, and a new one since the assessment before: see WarningBook._assess_one)
    backed: tuple[WarningLevel, tuple[ThreatenedArea, ...]] | None = None
    last_sensor_ns: int = 0  # the sensor time of the track's last assessment, published or not (ns; 0: none)


@dataclass
class WarningBook:
    """Active warnings of one view, keyed by system track id. Times in seconds of data time."""

    move_m: float = 10_000.0
    ellipse_frac: float = 0.25
    impact_slack_s: float = 30.0
    #: a track without a sensor update for this long coasts (the node trackers report a track they no longer
    #: update for coast_after_s = 5 s before they delete it; assumption: twice that)
    coast_after_s: float = 10.0
    #: an assessment of a track without a sensor update for this long may narrow its warning but not escalate
    #: it (:func:`_no_escalation`): its state is a prediction, e.g. of a node's track that lost a missile in
    #: boost and coasts on ballistically (assumption: the nodes report a track CONFIRMED for 5 s after its last
    #: measurement; 2.5 revisits of the slowest radar)
    escalate_stale_s: float = 5.0
    coast_end_s: float = 60.0  # a coasting warning ends this long after its predicted impact
    lost_after_s: float = 300.0  # ... or, without a predicted impact, this long after its last sensor update
    #: a track held less than min_held_s (from its warning's issue to its deletion) and not re-acquired within
    #: false_after_s of its deletion is judged false: its warning is CANCELLED (assumption: a missile is held
    #: for longer than a spurious track lives; a dropout of a briefly held one is re-acquired within seconds)
    min_held_s: float = 30.0
    false_after_s: float = 30.0
    #: a coasting warning is about the object of a live track when their impact points are closer than the sum
    #: of their ellipses' semi-major axes plus this, and (both after boost) their impact times closer than
    #: 3 σ of each plus same_gate_s (assumption: a generous gate; a tighter one leaves duplicates coasting)
    same_gate_m: float = 10_000.0
    same_gate_s: float = 20.0
    #: ... or when the coasting track's last state, coasted (drag-free) to the live track's time, lies within
    #: same_path_m + same_path_m_per_s per second coasted of the live track's position, both after boost: the
    #: impact predicted from a track's last states can be far off (a lost track's state just after burnout)
    #: while its path is still the object's (assumption: ~50 m/s of velocity error in such a state)
    same_path_m: float = 20_000.0
    same_path_m_per_s: float = 50.0
    _next_id: int = 1
    _active: dict[int, _Active] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.escalate_stale_s <= self.coast_after_s:
            raise ValueError("escalate_stale_s must be in [0, coast_after_s]: a coasting track never escalates")

    @property
    def active(self) -> list[WarningChange]:
        """Every active warning (for a snapshot)."""
        return [a.warning for a in self._active.values()]

    @property
    def next_warning_id(self) -> int:
        """The id the next new warning gets."""
        return self._next_id

    def reserve_ids(self, first: int) -> None:
        """Never give an id below ``first`` to a new warning (ids issued before a restart)."""
        self._next_id = max(self._next_id, int(first))

    def update(
        self,
        assessments: Mapping[int, Assessment],
        deleted_track_ids: Iterable[int],
        now_ns: int,
        false_track_ids: Iterable[int] = (),
        merged_track_ids: Iterable[int] = (),
    ) -> list[WarningChange]:
        """New or changed warnings after this update (see the module docstring for the lifecycle).
        ``merged_track_ids``: deleted tracks that were duplicates of another track (merged into it)."""
        out: list[WarningChange] = []
        for tid, a in assessments.items():
            change = self._assess_one(int(tid), a, now_ns)
            if change is not None:
                out.append(change)
        false_ids = {int(t) for t in false_track_ids}
        merged_ids = {int(t) for t in merged_track_ids}
        lost: list[int] = []
        for tid in dict.fromkeys([*map(int, deleted_track_ids), *false_ids]):
            act = self._active.get(tid)
            if act is None:
                continue
            if tid in false_ids:
                out.append(self._close(tid, WarningState.CANCELLED, "track judged false", now_ns))
            elif tid in merged_ids:
                out.append(self._close(tid, WarningState.CANCELLED, "duplicate track, merged into another", now_ns))
            elif _timed(act.last) and now_ns >= act.last.impact.time_ns - self.impact_slack_s * NS:
                out.append(self._close(tid, WarningState.ENDED, "object impacted; track ended", now_ns))
            elif act.seen_terminal and not act.last.impact.valid:
                out.append(self._close(tid, WarningState.ENDED, "track ended in the terminal phase", now_ns))
            elif not act.deleted:
                act.deleted, act.deleted_ns = True, now_ns  # coasts, unless another track holds its object
                lost.append(tid)
        out += self._continued(now_ns)
        for tid in lost:
            act = self._active.get(tid)
            if act is not None and act.deleted:
                out.append(self._coast(act, now_ns, "track out of coverage (deleted)"))
        out += self._expire(now_ns)
        return out

    # ------------------------------------------------------------------------------------------------
    def _assess_one(self, tid: int, a: Assessment, now_ns: int) -> WarningChange | None:
        named = a.warning_areas
        kinds = frozenset(x.kind for x in named if x.probability > 0.0)
        # "impact expected" as soon as the impact area touches an area: while boosting the area is the corridor
        # the missile can still reach (assess.py), so an area in it is threatened from the first assessment
        threatening = a.impact.valid and a.level >= WarningLevel.WATCH and bool(kinds)
        stale_s = (a.time_ns - a.sensor_time_ns) / NS
        coasting = stale_s > self.coast_after_s
        act = self._active.get(tid)
        if act is None:
            w = WarningChange(
                warning_id=self._next_id,
                track_id=tid,
                level=a.level,
                state=WarningState.IMPACT_EXPECTED if threatening else WarningState.NEW,
                areas=named,
                reasons=_reasons(a, "new launch track"),
                issued_time_ns=now_ns,
                updated_time_ns=now_ns,
                sensor_time_ns=a.sensor_time_ns,
            )
            self._next_id += 1
            announced = kinds if threatening else frozenset()
            backed = None if coasting or stale_s > self.escalate_stale_s else (w.level, w.areas)
            self._active[tid] = _Active(
                w, a, kinds, a.phase == Phase.TERMINAL, announced, coasting, backed=backed,
                last_sensor_ns=a.sensor_time_ns,
            )  # fmt: skip
            return w
        act.seen_terminal |= a.phase == Phase.TERMINAL
        prev = act.last
        if act.coasting and prev.impact.valid and not a.impact.valid:
            return None  # re-acquired, no prediction yet: the warning coasts on its last one meanwhile
        # no recent sensor update (coasting, or none for escalate_stale_s), or none since the track's previous
        # assessment (the same or an older sensor time: e.g. the freshest member left the track): the assessment
        # is of a prediction (a node's track that lost its object, a state between two scans), which may narrow
        # the warning but never escalate it
        unbacked = coasting or stale_s > self.escalate_stale_s or 0 < a.sensor_time_ns <= act.last_sensor_ns
        act.last_sensor_ns = a.sensor_time_ns
        if unbacked:
            named, a = _no_escalation(a, named, act.backed)
            kinds = frozenset(x.kind for x in named if x.probability > 0.0)
            threatening = a.impact.valid and a.level >= WarningLevel.WATCH and bool(kinds)
        whys: list[str] = []
        state: WarningState | None = None
        announced = act.announced
        if act.coasting and not coasting:
            gap_s = (a.sensor_time_ns - act.warning.sensor_time_ns) / NS
            state = WarningState.UPDATED
            whys.append(f"track re-acquired after {gap_s:.0f} s without a sensor update")
        elif coasting and not act.coasting:
            state = WarningState.COASTING
            whys.append(f"no sensor update for {stale_s:.0f} s: coasting on the prediction")
        if threatening and kinds != act.announced:
            whys.append("impact area determined" if not act.announced else "threatened areas changed")
            state, announced = WarningState.IMPACT_EXPECTED, kinds
        if a.level != act.warning.level:
            whys.append(f"level {act.warning.level.name} -> {a.level.name}")
        if a.phase != prev.phase and a.phase != Phase.UNKNOWN:
            whys.append(f"phase {prev.phase.name.lower()} -> {a.phase.name.lower()}")
        boosting = a.phase == Phase.BOOST  # then only level, area and phase changes are news
        if kinds != act.area_kinds and not boosting and state != WarningState.IMPACT_EXPECTED:
            whys.append("threatened areas changed")
        if a.impact.valid != prev.impact.valid and not boosting:
            whys.append("impact prediction " + ("available" if a.impact.valid else "lost"))
        # while boosting the instantaneous impact point races downrange: only level and area changes count
        if a.impact.valid and prev.impact.valid and not boosting:
            moved = _distance_m(prev.impact.lat_deg, prev.impact.lon_deg, a.impact.lat_deg, a.impact.lon_deg)
            e0, e1 = prev.impact.ellipse.semi_major_m, a.impact.ellipse.semi_major_m
            if moved > self.move_m:
                whys.append(f"impact point moved {moved / 1e3:.0f} km")
            elif e0 > 0 and abs(e1 - e0) > self.ellipse_frac * e0:
                whys.append(f"impact ellipse now {e1 / 1e3:.1f} km")
        if not whys:
            return None
        if coasting:
            state = WarningState.COASTING  # whatever changed, the warning stands on a prediction
        elif state is None:
            state = WarningState.UPDATED
        w = replace(
            act.warning,
            level=a.level,
            state=state,
            areas=named,
            reasons=_reasons(a, "; ".join(whys)),
            updated_time_ns=now_ns,
            sensor_time_ns=a.sensor_time_ns,
        )
        backed = act.backed if unbacked else (w.level, w.areas)
        self._active[tid] = _Active(
            w, a, kinds, act.seen_terminal, announced, coasting, backed=backed, last_sensor_ns=a.sensor_time_ns
        )
        return w

    def _coast(self, act: _Active, now_ns: int, why: str) -> WarningChange:
        """The warning of ``act`` coasts from now (its track out of coverage)."""
        a = act.last
        since_s = (now_ns - act.warning.sensor_time_ns) / NS
        until = "its predicted impact" if _timed(a) else f"{self.lost_after_s:.0f} s after the last update"
        head = f"{why}: no sensor update for {since_s:.0f} s; the warning stands until {until}"
        w = replace(
            act.warning,
            state=WarningState.COASTING,
            reasons=(head, *act.warning.reasons[1:]),
            updated_time_ns=now_ns,
        )
        act.warning, act.coasting = w, True
        return w

    def _continued(self, now_ns: int) -> list[WarningChange]:
        """One warning per object: the coasting warning of a deleted track whose object a live track holds
        (:func:`_same_object`: the same impact point and time, both after boost) is a duplicate. When the
        coasting warning is the older one, it continues on the live track (its id kept: the object was
        re-acquired under a new track number) and the live track's own warning is cancelled as its duplicate;
        else the coasting warning is cancelled as the duplicate."""
        out: list[WarningChange] = []
        for tid, act in list(self._active.items()):
            if not act.deleted:
                continue
            live = [
                (_distance_m(act.last.impact.lat_deg, act.last.impact.lon_deg, b.last.impact.lat_deg,
                             b.last.impact.lon_deg), t)
                for t, b in self._active.items()
                if not b.deleted and (
                    _same_object(act.last, b.last, self.same_gate_m, self.same_gate_s)
                    or _same_path(act.last, b.last, self.same_path_m, self.same_path_m_per_s)
                )
            ]  # fmt: skip
            if not live:
                continue
            other = self._active[min(live)[1]]
            ltid, lw = other.warning.track_id, other.warning
            if act.warning.warning_id < lw.warning_id:
                why = f"duplicate of warning {act.warning.warning_id} (the same object)"
                out.append(self._close(ltid, WarningState.CANCELLED, why, now_ns))
                self._active.pop(tid)
                w = replace(
                    act.warning,
                    track_id=ltid,
                    level=lw.level,
                    state=WarningState.UPDATED,
                    areas=lw.areas,
                    reasons=(f"track {tid} re-acquired as track {ltid}", *lw.reasons[1:]),
                    updated_time_ns=now_ns,
                    sensor_time_ns=lw.sensor_time_ns,
                )
                seen_terminal = other.seen_terminal or act.seen_terminal
                self._active[ltid] = _Active(
                    w,
                    other.last,
                    other.area_kinds,
                    seen_terminal,
                    other.announced,
                    backed=other.backed,
                    last_sensor_ns=other.last_sensor_ns,
                )
                self._active[ltid].coasting = other.coasting
                out.append(w)
            else:
                why = f"duplicate of warning {lw.warning_id} on track {ltid} (the same object)"
                out.append(self._close(tid, WarningState.CANCELLED, why, now_ns))
        return out

    def _expire(self, now_ns: int) -> list[WarningChange]:
        """End the coasting warnings of deleted tracks past their predicted impact (+ ``coast_end_s``) or,
        without one, lost ``lost_after_s`` ago. (The warning of a live track ends when the track is deleted.)"""
        out = []
        for tid, act in list(self._active.items()):
            if not act.deleted:
                continue
            impact = act.last.impact
            held_s = (act.deleted_ns - act.warning.issued_time_ns) / NS
            if held_s < self.min_held_s and now_ns >= act.deleted_ns + self.false_after_s * NS:
                why = f"track held {held_s:.0f} s, not seen again for {self.false_after_s:.0f} s: judged false"
                out.append(self._close(tid, WarningState.CANCELLED, why, now_ns))
            elif _timed(act.last) and now_ns >= impact.time_ns + self.coast_end_s * NS:
                out.append(self._close(tid, WarningState.ENDED, "predicted impact time passed (not observed)", now_ns))
            elif not _timed(act.last) and now_ns >= act.warning.sensor_time_ns + self.lost_after_s * NS:
                why = f"track lost {self.lost_after_s:.0f} s ago without a predicted impact time"
                out.append(self._close(tid, WarningState.ENDED, why, now_ns))
        return out

    def _close(self, tid: int, state: WarningState, why: str, now_ns: int) -> WarningChange:
        act = self._active.pop(tid)
        return replace(act.warning, state=state, reasons=(why, *act.warning.reasons[1:]), updated_time_ns=now_ns)


def _same_object(lost: Assessment, live: Assessment, gate_m: float, gate_s: float) -> bool:
    """Whether the live track of ``live`` may hold the object of the lost track of ``lost``: the same impact
    point and time (see ``WarningBook.same_gate_m``), both after boost."""
    if not (_timed(lost) and _timed(live)):
        return False  # a boosting track's corridor reaches over its neighbours': it tells missiles apart poorly
    reach_m = _finite(lost.impact.ellipse.semi_major_m) + _finite(live.impact.ellipse.semi_major_m) + gate_m
    d_m = _distance_m(lost.impact.lat_deg, lost.impact.lon_deg, live.impact.lat_deg, live.impact.lon_deg)
    if d_m > reach_m:
        return False
    dt_s = abs(lost.impact.time_ns - live.impact.time_ns) / NS
    return dt_s <= 3.0 * (_finite(lost.impact.time_sigma_s) + _finite(live.impact.time_sigma_s)) + gate_s


_EARTH = np.array([GM_M3_S2, RE_J2_M, J2, OMEGA_E_RAD_S])


def _same_path(lost: Assessment, live: Assessment, gate_m: float, gate_m_per_s: float) -> bool:
    """Whether the live track of ``live`` may hold the object of the lost track of ``lost`` by their paths: the
    older of the two states coasted (drag-free, J2, rotating Earth, steps of at most 5 s) to the newer one's
    time lies within ``gate_m + gate_m_per_s · |Δt|`` of it; both after boost and above the ground."""
    if lost.phase == Phase.BOOST or live.phase == Phase.BOOST or len(lost.state_ecef) != 6 or len(live.state_ecef) != 6:
        return False
    old, new = (lost, live) if lost.time_ns <= live.time_ns else (live, lost)
    dt_s = (new.time_ns - old.time_ns) / NS
    n = max(1, math.ceil(dt_s / 5.0))
    out = np.full((n + 1, 3), np.nan)
    ground_track_one(np.asarray(old.state_ecef, dtype=np.float64), _EARTH, dt_s / n, out)
    la, lo, h = out[n]
    if not math.isfinite(h):
        return False  # it came down before
    p = np.array(geodetic_to_ecef(math.radians(la), math.radians(lo), h))
    return float(np.linalg.norm(p - np.asarray(new.state_ecef[:3]))) <= gate_m + gate_m_per_s * dt_s


def _no_escalation(
    a: Assessment, named: tuple[ThreatenedArea, ...], backed: tuple[WarningLevel, tuple[ThreatenedArea, ...]] | None
) -> tuple[tuple[ThreatenedArea, ...], Assessment]:
    """What a track's warning says from an assessment on a predicted state (no sensor update for
    ``escalate_stale_s``, coasting after ``coast_after_s``, or none since the track's previous assessment), given
    ``backed``: the level and areas of its last warning published from a sensor-backed assessment (None: none
    yet; then the assessment as it is). A coasted state extrapolates the
    last measured motion (a boost that has since ended, a manoeuvre), so it may narrow the warning (an area
    dropped, a lower level; and raise it back up to ``backed``) but not escalate it: an assessment with a level
    above ``backed``'s or an area ``backed`` does not name leaves the warning standing on ``backed`` (a higher
    level names other areas: Japan's land at WARNING where WATCH named its EEZ)."""
    if backed is None:
        return named, a
    level, areas = backed
    had = {x.kind for x in areas}
    if a.level <= level and all(x.kind in had for x in named):
        return named, a
    why = (
        f"no sensor update: the warning stands at {level.name} on its areas from the last sensor update "
        f"(the coasted state's prediction, {a.level.name}, is not acted on)"
    )
    return areas, replace(a, level=level, reasons=(why,))


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def _timed(a: Assessment) -> bool:
    """Whether ``a`` predicts when the object impacts (not while boosting: the instantaneous impact point's time
    is only a lower bound)."""
    return a.impact.valid and a.phase != Phase.BOOST


def _reasons(a: Assessment, why: str) -> tuple[str, ...]:
    """The reasons of a warning: why it changed first, then the assessment's (which follow its phase)."""
    cls = a.missile_class.name + (" (provisional)" if a.class_provisional else "")
    return (why, *a.reasons, f"phase {a.phase.name.lower()}, class {cls}")


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean sphere (enough to decide whether a warning changed)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6_371_008.8 * math.acos(max(-1.0, min(1.0, c)))
