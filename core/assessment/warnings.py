"""Warnings with a lifecycle, from the per-track assessments of :mod:`triwarn.core.assessment.assess`.

One :class:`WarningBook` per view. :meth:`WarningBook.update` is called once per picture update with that
update's assessments and deleted tracks, and returns the warnings that are new or changed (a delta). Lifecycle
of the one warning a track can have (``Warning.State`` in picture.proto):

- ``NEW``: first assessment of a track (every tracked launch gets a warning; ``level`` says how severe);
- ``IMPACT_EXPECTED``: the impact area lies in (or the path overflies) an area of the three nations; while
  boosting the impact area is the corridor the missile can still reach (it shrinks to the impact ellipse at
  burnout); re-issued when the set of areas changes;
- ``UPDATED``: level, areas or estimates changed materially (impact point moved by more than
  ``move_m``, or its ellipse changed by more than ``ellipse_frac``; not while boosting, when the
  instantaneous impact point races downrange), so subscribers are not flooded every cycle;
- ``ENDED``: the track was deleted at or after its predicted impact (minus ``impact_slack_s``), or after it
  was last seen in the terminal phase: the object impacted;
- ``CANCELLED``: the track was deleted well before any predicted impact and never reached the terminal phase,
  or the caller names it false: the track turned out to be false.

Ended and cancelled warnings leave the book; warning ids are never reused. Plain dataclasses here; the
protobuf converters (``warning_to_proto``, ``fill_track_assessment``) are the picture adapter's
(:mod:`triwarn.services.wire.picture`), and the fusion service wires both into its picture updates
(``FusionService.assessment_updates``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum

from triwarn.core.assessment.assess import AreaKind, Assessment, ThreatenedArea, WarningLevel
from triwarn.core.tracks import Phase

NS = 1_000_000_000


class WarningState(IntEnum):
    """Values match ``triwarn.v1.Warning.State``."""

    UNSPECIFIED = 0
    NEW = 1
    UPDATED = 2
    IMPACT_EXPECTED = 3
    ENDED = 4
    CANCELLED = 5


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


@dataclass
class _Active:
    warning: WarningChange
    last: Assessment
    area_kinds: frozenset[AreaKind]
    seen_terminal: bool = False
    announced: frozenset[AreaKind] = frozenset()  # areas of the last IMPACT_EXPECTED


@dataclass
class WarningBook:
    """Active warnings of one view, keyed by system track id."""

    move_m: float = 10_000.0
    ellipse_frac: float = 0.25
    impact_slack_s: float = 30.0
    _next_id: int = 1
    _active: dict[int, _Active] = field(default_factory=dict)

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
    ) -> list[WarningChange]:
        """New or changed warnings after this update (see the module docstring for the lifecycle)."""
        out: list[WarningChange] = []
        for tid, a in assessments.items():
            change = self._assess_one(int(tid), a, now_ns)
            if change is not None:
                out.append(change)
        false_ids = {int(t) for t in false_track_ids}
        for tid in [*deleted_track_ids, *false_ids]:
            act = self._active.pop(int(tid), None)
            if act is None:
                continue
            out.append(self._close(act, int(tid) in false_ids, now_ns))
        return out

    # ------------------------------------------------------------------------------------------------
    def _assess_one(self, tid: int, a: Assessment, now_ns: int) -> WarningChange | None:
        kinds = frozenset(x.kind for x in a.areas if x.probability > 0.0)
        # "impact expected" as soon as the impact area touches an area: while boosting the area is the corridor
        # the missile can still reach (assess.py), so an area in it is threatened from the first assessment
        threatening = a.impact.valid and a.level >= WarningLevel.WATCH
        act = self._active.get(tid)
        if act is None:
            w = WarningChange(
                warning_id=self._next_id,
                track_id=tid,
                level=a.level,
                state=WarningState.IMPACT_EXPECTED if threatening else WarningState.NEW,
                areas=a.areas,
                reasons=_reasons(a, "new launch track"),
                issued_time_ns=now_ns,
                updated_time_ns=now_ns,
            )
            self._next_id += 1
            self._active[tid] = _Active(w, a, kinds, a.phase == Phase.TERMINAL, kinds if threatening else frozenset())
            return w
        act.seen_terminal |= a.phase == Phase.TERMINAL
        prev = act.last
        state: WarningState | None = None
        why = ""
        announced = act.announced
        if threatening and kinds != act.announced:
            state, why = (
                WarningState.IMPACT_EXPECTED,
                "impact area determined" if not act.announced else ("threatened areas changed"),
            )
            announced = kinds
        if state is None and a.level != act.warning.level:
            state, why = WarningState.UPDATED, f"level {act.warning.level.name} -> {a.level.name}"
        boosting = a.phase == Phase.BOOST  # then only level changes are news
        if state is None and kinds != act.area_kinds and not boosting:
            state, why = WarningState.UPDATED, "threatened areas changed"
        if state is None and a.impact.valid != prev.impact.valid and not boosting:
            state, why = WarningState.UPDATED, "impact prediction " + ("available" if a.impact.valid else "lost")
        # while boosting the instantaneous impact point races downrange: only level and area changes count
        if state is None and a.impact.valid and prev.impact.valid and not boosting:
            moved = _distance_m(prev.impact.lat_deg, prev.impact.lon_deg, a.impact.lat_deg, a.impact.lon_deg)
            e0, e1 = prev.impact.ellipse.semi_major_m, a.impact.ellipse.semi_major_m
            if moved > self.move_m:
                state, why = WarningState.UPDATED, f"impact point moved {moved / 1e3:.0f} km"
            elif e0 > 0 and abs(e1 - e0) > self.ellipse_frac * e0:
                state, why = WarningState.UPDATED, f"impact ellipse now {e1 / 1e3:.1f} km"
        if state is None:
            return None
        w = replace(
            act.warning, level=a.level, state=state, areas=a.areas, reasons=_reasons(a, why), updated_time_ns=now_ns
        )
        self._active[tid] = _Active(w, a, kinds, act.seen_terminal, announced)
        return w

    def _close(self, act: _Active, named_false: bool, now_ns: int) -> WarningChange:
        a = act.last
        impacted = False
        if a.impact.valid:
            impacted = now_ns >= a.impact.time_ns - self.impact_slack_s * NS
        if named_false:
            state, why = WarningState.CANCELLED, "track judged false"
        elif impacted or act.seen_terminal:
            state, why = WarningState.ENDED, "object impacted; track ended"
        else:
            state, why = WarningState.CANCELLED, "track dropped before any predicted impact: judged false"
        return replace(act.warning, state=state, reasons=(why, *act.warning.reasons), updated_time_ns=now_ns)


def _reasons(a: Assessment, why: str) -> tuple[str, ...]:
    cls = a.missile_class.name + (" (provisional)" if a.class_provisional else "")
    return (why, *a.reasons, f"phase {a.phase.name.lower()}, class {cls}")


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean sphere (enough to decide whether a warning changed)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6_371_008.8 * math.acos(max(-1.0, min(1.0, c)))
