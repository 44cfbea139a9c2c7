"""Assessment of system tracks: phase, class, launch point, impact point, threatened areas, warning level.

:class:`Assessor` is called once per picture update of one view with the tracks that changed; it keeps a short
history per track (for the acceleration that tells boost from coast, and for the launch estimate) and returns a
frozen :class:`Assessment` per track. Everything heavy is batched over the tracks of the call: one metrics
kernel, one sigma-point impact propagation (:mod:`.impact`), one area-probability kernel and one ground-track
kernel (:mod:`.areas`); launch estimates (:mod:`.launch`) run only for young or boosting tracks and are then
frozen.

Warning level (proto ``WarningLevel``) and the areas a warning names (``Assessment.named_areas``):

- WARNING: P(impact on Japan land) or P(impact on ROK land) ≥ ``p_land``, after burnout, in every assessment
  of the last ``land_confirm_s`` (data time) of a track the assessor has held that long; it names that land;
- WATCH: the same while the path can still change (the track boosts, has just burnt out, or is new to the
  assessor: a first track after burnout or a track re-acquired after a gap, which the fusion service makes
  the assessor forget): it names Japan's EEZ (P(Japan land or EEZ) ≥ ``p_eez``), never the land; or
  P(impact in Japan's EEZ or land) ≥ ``p_eez``; or the predicted path overflies Japanese or ROK land above the
  re-entry interface (100 km);
- ADVISORY: a launch is tracked but no impact area yet (no valid prediction: boost far from burnout, an orbit);
- NONE: tracked, no area of the three nations threatened.

``Assessment.areas`` lists every area of probability ≥ ``p_report`` (the picture's evidence, with its
probabilities); a warning names only ``named_areas``, those past their threshold.

While boosting, the impact area is a corridor along the ground track, from the instantaneous impact point
(where it would fall if thrust stopped now) to the longest reach of the catalog classes whose nominal boost fits
the track (:func:`.impact.boost_corridor`, :func:`.classify.boost_range_bound_m`); it shrinks to the ballistic
ellipse at burnout, and the reasons say so. A short-range missile after its boost, and a track seen gliding,
are predicted over a span of lift-to-drag ratios (``lift_to_drag_span`` of :func:`.impact.predict_impacts`).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType

import numpy as np

from triwarn.core.assessment import areas as area_grid
from triwarn.core.assessment.classify import (
    M_A_ALONG,
    M_A_LIFT,
    M_A_SIGMA,
    M_ERANGE,
    M_H,
    M_SPEED,
    M_VUP,
    MissileClass,
    PhaseEstimate,
    boost_profiles,
    boost_range_bound_m,
    class_from_metrics,
    flight_metrics,
    phase_from_metrics,
    surely_descending,
)
from triwarn.core.assessment.impact import (
    CHI2_2DOF_95,
    ImpactPrediction,
    boost_corridor,
    ellipse_from_cov,
    ground_track_batch,
    ground_track_batch_parallel,
    mixture_of_predictions,
    predict_impacts,
)
from triwarn.core.assessment.launch import back_integrate, estimate_launch
from triwarn.core.assessment.launch_templates import earliest_time_at_height, template_launch
from triwarn.core.tracks import Phase, SystemTrack
from triwarn.core.trajectory.atmosphere import density_kg_m3
from triwarn.core.trajectory.constants import GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import ecef_to_geodetic, ecef_vec_to_enu, geodesic_inverse, ground_offset_en_m
from triwarn.core.trajectory.missiles import missile_classes

NS = 1_000_000_000

#: Prior of the re-entry ballistic coefficient when a track has not measured its drag: ln β ~ N(ln 7500, 0.35²)
BETA_PRIOR_KG_M2 = 7500.0  # assumption: not a published figure (spans the 5,000-10,000 kg/m² of missiles.toml)
SIGMA_LN_BETA = 0.35  # assumption: not a published figure


class WarningLevel(IntEnum):
    """Values match ``triwarn.v1.WarningLevel``."""

    UNSPECIFIED = 0
    NONE = 1
    ADVISORY = 2
    WATCH = 3
    WARNING = 4


class AreaKind(IntEnum):
    """Values match ``triwarn.v1.AreaKind``."""

    UNSPECIFIED = 0
    JP_LAND = 1
    KR_LAND = 2
    JP_EEZ = 3
    JP_OVERFLIGHT = 4
    KR_OVERFLIGHT = 5


AREA_NAMES: Mapping[AreaKind, str] = MappingProxyType(
    {
        AreaKind.JP_LAND: "Japan land",
        AreaKind.KR_LAND: "ROK land",
        AreaKind.JP_EEZ: "Japan EEZ (200 nmi approximation)",
        AreaKind.JP_OVERFLIGHT: "overflight of Japan",
        AreaKind.KR_OVERFLIGHT: "overflight of the ROK",
    }
)


@dataclass(frozen=True)
class Ellipse:
    """Error ellipse on the ground (local east-north plane at its centre)."""

    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float  # azimuth of the major axis, clockwise from north, [0, 180)
    confidence: float = 0.95


@dataclass(frozen=True)
class GroundPoint:
    """A point on the ground with its time and error ellipse: a launch point or an impact point."""

    valid: bool
    lat_deg: float = math.nan
    lon_deg: float = math.nan
    time_ns: int = 0
    time_sigma_s: float = math.nan
    ellipse: Ellipse = field(default_factory=lambda: Ellipse(math.nan, math.nan, math.nan))


class LaunchPoint(GroundPoint):
    """Estimated launch point and launch time."""


@dataclass(frozen=True)
class Corridor:
    """The ground a boosting missile can still reach: from its instantaneous impact point (``near``: where it
    falls if thrust stops now) to the far end of its reach along the ground track (``far``), degrees."""

    near_lat_deg: float
    near_lon_deg: float
    far_lat_deg: float
    far_lon_deg: float


@dataclass(frozen=True)
class ImpactPoint(GroundPoint):
    """Predicted impact point and time of impact. While boosting with a known heading the point is the middle
    of ``corridor`` (the ellipse covers it); ``corridor`` is None otherwise (after boost, or no heading yet)."""

    corridor: Corridor | None = None


@dataclass(frozen=True)
class ThreatenedArea:
    kind: AreaKind
    name: str
    probability: float


@dataclass(frozen=True)
class Assessment:
    """Everything the picture says about one system track beyond its state."""

    track_id: int
    time_ns: int
    phase: Phase
    phase_reasons: tuple[str, ...]
    missile_class: MissileClass
    class_provisional: bool
    class_reasons: tuple[str, ...]
    apogee_m: float  # osculating (Kepler) apogee height, for display
    launch: LaunchPoint
    impact: ImpactPoint
    areas: tuple[ThreatenedArea, ...]  # impact areas and overflights, probability ≥ p_report
    overflight: tuple[AreaKind, ...]  # JP_OVERFLIGHT / KR_OVERFLIGHT when the predicted path overflies
    level: WarningLevel
    reasons: tuple[str, ...]  # why this level
    #: the areas a warning names (past their threshold: see the module docstring); None: all of ``areas``
    named_areas: tuple[ThreatenedArea, ...] | None = None
    #: the track's newest sensor update (``SystemTrack.fresh_ns``, ns; 0: unknown, take ``time_ns``)
    fresh_ns: int = 0
    #: the track's fused ECEF state at ``time_ns`` (m, m/s; 6 floats), empty when not known
    state_ecef: tuple[float, ...] = ()

    @property
    def impact_area_known(self) -> bool:
        return self.impact.valid

    @property
    def warning_areas(self) -> tuple[ThreatenedArea, ...]:
        """The areas a warning about this track names."""
        return self.areas if self.named_areas is None else self.named_areas

    @property
    def sensor_time_ns(self) -> int:
        """When a sensor last updated the track (ns)."""
        return self.fresh_ns if self.fresh_ns > 0 else self.time_ns


@dataclass
class _TrackMemory:
    history: deque[tuple[int, np.ndarray, np.ndarray]]
    first_time_ns: int
    boost_seen_ns: int = 0  # time of the newest state seen boosting (0: never seen boosting)
    launch: LaunchPoint | None = None
    launch_frozen: bool = False
    launch_tried_ns: int | None = None
    launch_evidence: bool = False  # the kept estimate assumed a phase seen in the acceleration
    launch_time_boost: bool = False  # the kept launch time is the gravity-turn one of a boosting state
    launch_time_seen_boost: bool = False  # the kept launch time is from a state seen boosting (either model)
    launch_claimed: bool = False  # (dormant) its launch time went to a later track of the same launch
    launch_from: _TrackMemory | None = None  # the dormant memory whose launch time this track took
    end_ns: int = 0  # (dormant) the time of its track's last assessed state ...
    end_state: tuple[float, ...] = ()  # ... and that ECEF state (m, m/s; empty: none)
    lift_to_drag: float = 0.0  # > 0 once the track was seen gliding (lift in the atmosphere)
    ln_beta: float = math.log(BETA_PRIOR_KG_M2)
    var_ln_beta: float = SIGMA_LN_BETA**2
    corridor: str = ""  # while boosting: how the impact corridor was bounded (for the reasons)
    land_since_ns: int | None = None  # first assessment of the current run naming land after burnout
    land_warned: bool = False  # the last assessment was a land WARNING
    #: catalog classes whose boost fitted every boost assessment since the track last stood for a group
    boost_fit: frozenset[str] | None = None
    #: the latest the object can have been launched (ns): its first state's time less the least time any class
    #: needs to climb to that state's height (3σ below it); None: not yet known
    launch_latest_ns: int | None = None
    #: the track stood for an unresolved group: its first state may be another missile's, no bound
    launch_bound_off: bool = False
    #: recent impact predictions after boost (time_ns, glide span?, lat, lon, impact time s after first_time_ns,
    #: its σ, east-north covariance, from an updated state?): combined by :func:`impact.mixture_of_predictions`
    ipp_history: deque[tuple[int, bool, float, float, float, float, np.ndarray, bool]] = field(default_factory=deque)
    #: the area of the newest updated state's window, kept across a coverage gap (an ``ipp_history`` entry): see
    #: Assessor._mixed
    ipp_anchor: tuple[int, bool, float, float, float, float, np.ndarray, bool] | None = None
    last: Assessment | None = None

    def facts(self, time_ns: int) -> _TrackMemory:
        """A new memory, first held at ``time_ns``, that keeps what this one learnt about the object itself
        (its launch estimate, seen boost, drag and lift, boost-class fit, the area where it lands: ``ipp_anchor``)
        and none of its track's recent history (states, predictions, land confirmation, last assessment): for a
        track that comes back under its number after it went dormant (a coverage gap, a hand-over between
        nations). Its launch estimate is open again (not frozen): the number may have come back on the other
        missile of an unresolved pair, whose boost then gives a better time."""
        anchor = self.ipp_anchor
        if anchor is not None:  # its impact time on the new memory's clock
            shift_s = (self.first_time_ns - time_ns) / NS
            anchor = (*anchor[:4], anchor[4] + shift_s, *anchor[5:])
        return _TrackMemory(
            deque(),
            time_ns,
            boost_seen_ns=self.boost_seen_ns,
            launch=self.launch,
            launch_evidence=self.launch_evidence,
            launch_time_boost=self.launch_time_boost,
            launch_time_seen_boost=self.launch_time_seen_boost,
            launch_latest_ns=self.launch_latest_ns,
            launch_bound_off=self.launch_bound_off,
            lift_to_drag=self.lift_to_drag,
            ln_beta=self.ln_beta,
            var_ln_beta=self.var_ln_beta,
            boost_fit=self.boost_fit,
            ipp_anchor=anchor,
        )


@dataclass
class Assessor:
    """Stateful assessor of one view's tracks (keeps short histories per track id)."""

    area_map: area_grid.AreaMap = field(default_factory=area_grid.AreaMap.load)
    # probability of impact on a nation's land from which a warning names it (a design choice: below it a
    # land warning cries wolf on impacts off the coast whose ellipse reaches the land; docs/assessment.md)
    p_land: float = 0.3
    # probability of impact in Japan's EEZ or on its land from which a WATCH names the EEZ (a design choice)
    p_eez: float = 0.2
    # a land WARNING needs land named in every assessment of this long after burnout, and the track held this
    # long by the assessor (new or re-acquired tracks); a WATCH meanwhile (a design choice: a few assessments)
    land_confirm_s: float = 10.0
    land_keep_frac: float = 0.5  # a WARNING's land stays named down to this fraction of p_land (hysteresis)
    p_report: float = 0.01  # areas below this probability are not listed
    accel_min_dt_s: float = 2.0  # use an earlier state at least this old for the acceleration
    accel_max_dt_s: float = 10.0  # ... and at most this old
    accel_sigma_goal_m_s2: float = 2.0
    history_s: float = 30.0
    launch_window_s: float = 20.0  # launch estimates are refreshed this long after a track appears, and in boost
    launch_every_s: float = 4.0  # ... at most this often
    # after boost, the launch templates also fit the track's oldest remembered state after boost when it is at
    # least this much older (a design choice: two states closer than that hardly differ beyond their errors)
    launch_earlier_min_s: float = 4.0
    # a descent ends the launch estimates when the vertical speed is below -descent_k_sigma times its 1-σ
    descent_k_sigma: float = 3.0
    n_area_samples: int = 400
    track_dt_s: float = 10.0  # ground-track step for overflight
    overflight_min_h_m: float = 100_000.0
    reentry_interface_m: float = 100_000.0
    lift_min_m_s2: float = 2.0  # upward acceleration across the velocity that counts as lift
    lift_to_drag_max: float = 5.0  # cap of the measured L/D (assumption: not a published figure)
    ld_margin: float = 1.2  # the L/D span reaches the catalog's largest L/D times this (assumption)
    glide_class_range_m: float = 1_000e3  # energy-equivalent range below which a missile may glide (SRBM band)
    # floor added to the fused covariance for the impact prediction (assumption, calibrated on the catalog's
    # fused tracks: their midcourse errors are 40-75 m and 1.1-1.6 m/s (median, 3-D), NEES 3-19 for 3)
    state_floor_pos_m: float = 50.0
    state_floor_vel_m_s: float = 1.0
    seed: int = 20221004
    corridor_tau_slack_s: float = 15.0  # time-since-launch slack of the boost-class fit (launch-time error)
    corridor_min_hspeed_m_s: float = 100.0  # horizontal speed from which the boost heading counts as known
    # after boost, the impact area is the mixture of the predictions of this many seconds (0: the latest only)
    ipp_window_s: float = 40.0  # assumption: several times the correlation time of a manoeuvring track's errors
    # the area from before a gap joins the mixture while the predictions from updated states agree with it: χ²₂ at
    # 99% (a design choice: a number stitched to another missile, or a manoeuvre, drops it)
    anchor_chi2: float = 9.21
    # a state at most this long after its track's newest sensor update (SystemTrack.fresh_ns) counts as updated;
    # later ones are coasted and their predictions are left out of the mixture while updated ones are in the
    # window (assumption: one revisit of the catalog's slower sensors, 2 s, for the nodes' report times; fresh_ns
    # is the nodes' last measurement update where they report it, else their last state not reported COASTING,
    # which lags the last measurement by up to their coast_after_s = 5 s)
    coast_tolerance_s: float = 2.0
    # memories of deleted tracks kept for their return under the same number (the fusion engine keeps a
    # deleted track dormant and reacquirable): at most this many, the oldest dropped first
    dormant_kept: int = 4096
    # launch points this close (plus 3σ of both ellipses) count as one pad for the launch time of a track seen
    # only after burnout (``_time_from_lost_boost``; assumption: a launch area's extent, not a published figure)
    launch_same_pad_m: float = 5_000.0
    # ... and its path must pass the deleted track's last state within 3σ, with this much of σ in position
    # (the deleted track may have ended a few seconds before burnout, or coasted: assumption), for a gap of at
    # most this long
    lost_boost_pos_m: float = 3_000.0
    lost_boost_max_s: float = 120.0
    # a deleted track's memory comes back with its number when its path passes the same test, for a gap of at
    # most this long (a number the fusion engine handed over within a salvo may be another missile's)
    restore_max_s: float = 3600.0
    _mem: dict[int, _TrackMemory] = field(default_factory=dict, repr=False)
    _dormant: OrderedDict[int, _TrackMemory] = field(default_factory=OrderedDict, repr=False)
    _orphans: int = field(default=0, repr=False)  # keys (< 0) of dormant records whose number went elsewhere
    _z: np.ndarray = field(init=False, repr=False)
    _profiles: tuple = field(init=False, repr=False)  # type: ignore[type-arg]
    _ld_max: float = field(init=False, repr=False)
    _gliders: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._z = np.random.default_rng(self.seed).standard_normal((self.n_area_samples, 2))
        self._profiles = boost_profiles()  # the catalog's nominal boosts, flown once per process
        self._ld_max = self.ld_margin * max(mc.vehicle.rv_lift_to_drag for mc in missile_classes().values())
        self._gliders = frozenset(name for name, mc in missile_classes().items() if mc.vehicle.rv_lift_to_drag > 0.0)

    # ------------------------------------------------------------------------------------------------
    def beta_estimate(self, track_id: int) -> tuple[float, float]:
        """(β kg/m², σ of ln β) used for a track's re-entry: the prior until the track measured its drag."""
        mem = self._mem.get(int(track_id))
        if mem is None:
            return BETA_PRIOR_KG_M2, SIGMA_LN_BETA
        return math.exp(mem.ln_beta), math.sqrt(mem.var_ln_beta)

    def last(self, track_id: int) -> Assessment | None:
        """The latest assessment of a track (None if it was never assessed or was forgotten)."""
        mem = self._mem.get(int(track_id))
        return None if mem is None else mem.last

    def forget(self, track_ids: list[int] | tuple[int, ...]) -> None:
        """Drop the memory of deleted tracks. What it learnt about each object is kept aside (at most
        ``dormant_kept`` of them): a track that comes back under its number (reacquired or handed over after a
        gap) gets its launch estimate, drag and lift back if its path passes where it was lost (``_path_z``: a
        number handed over within a salvo may be on another missile), but starts its history (and land
        confirmation) anew."""
        for tid in track_ids:
            mem = self._mem.pop(int(tid), None)
            if mem is not None:
                rec = mem.facts(mem.first_time_ns)
                if mem.last is not None:
                    rec.end_ns, rec.end_state = mem.last.time_ns, mem.last.state_ecef
                self._dormant[int(tid)] = rec
                self._dormant.move_to_end(int(tid))
        while len(self._dormant) > self.dormant_kept:
            self._dormant.popitem(last=False)

    def assess(self, tracks: list[SystemTrack], now_ns: int) -> dict[int, Assessment]:
        """Assess the given tracks (typically those that changed in this update). ``now_ns`` is not used for
        the physics (each track is assessed at its own time of validity) but kept for the record."""
        del now_ns
        n = len(tracks)
        if n == 0:
            return {}
        X = np.array([np.asarray(t.x, dtype=np.float64) for t in tracks])
        Pm = np.array([np.asarray(t.P, dtype=np.float64) for t in tracks])
        Xp = np.zeros((n, 6))
        Pp = np.tile(np.eye(6), (n, 1, 1))
        dt = np.full(n, np.nan)
        mems = []
        for k, t in enumerate(tracks):
            mem = self._mem.get(t.track_id)
            if mem is None:
                # a track back under its number: the same object again if its path passes where it was lost
                back = self._dormant.pop(t.track_id, None)
                same = back is not None and self._path_z(back, X[k], Pm[k], t.time_ns, self.restore_max_s) <= 3.0
                if back is not None and not same:  # another object: the record stays for its own missile
                    self._orphans -= 1
                    self._dormant[self._orphans] = back
                mem = back.facts(t.time_ns) if same else _TrackMemory(deque(), t.time_ns)  # type: ignore[union-attr]
                # the launch was before this first state (and before the object's earlier first state, when the
                # path test says the number came back on the same object)
                latest = _latest_launch_ns(t.time_ns, X[k], Pm[k])
                if mem.launch_latest_ns is not None:
                    latest = min(latest, mem.launch_latest_ns)
                mem.launch_latest_ns = latest
                self._mem[t.track_id] = mem
            if t.objects > 1:
                mem.launch_bound_off = True
            mems.append(mem)
            # the earlier state for the acceleration: the newest one at least accel_min_dt_s old whose velocity
            # difference resolves accel_sigma_goal; noisy tracks (e.g. infrared in boost) use up to accel_max_dt_s
            prev = None
            for tn, xh, ph in reversed(mem.history):
                age = (t.time_ns - tn) / NS
                if age < self.accel_min_dt_s:
                    continue
                if age > self.accel_max_dt_s:
                    break
                prev = (tn, xh, ph)
                sig_a = math.sqrt(max(np.trace(ph[3:, 3:]) + np.trace(Pm[k][3:, 3:]), 0.0) / 3.0) / age
                if sig_a <= self.accel_sigma_goal_m_s2:
                    break
            if prev is not None:
                Xp[k], Pp[k], dt[k] = prev[1], prev[2], (t.time_ns - prev[0]) / NS
            if not mem.history or t.time_ns > mem.history[-1][0]:
                mem.history.append((t.time_ns, X[k].copy(), Pm[k].copy()))
            while mem.history and (t.time_ns - mem.history[0][0]) / NS > self.history_s:
                mem.history.popleft()

        metrics = flight_metrics(X, Pm, Xp, Pp, dt)
        phases = [phase_from_metrics(metrics[k], Phase(int(tracks[k].phase))) for k in range(n)]

        # drag-measured ballistic coefficient (terminal phase): β = ρ v² / (2 |a_drag|), combined with the prior
        for k in range(n):
            m = metrics[k]
            a_al, a_sig = m[M_A_ALONG], m[M_A_SIGMA]
            if phases[k].phase == Phase.TERMINAL and math.isfinite(a_al) and a_al < -max(2.0, 3.0 * a_sig):
                # the acceleration is the mean over [t - dt, t]: use the log-mean density and mean v² there
                h0 = ecef_to_geodetic(Xp[k, 0], Xp[k, 1], Xp[k, 2])[2]
                r0 = float(density_kg_m3(max(h0, 0.0)))
                r1 = float(density_kg_m3(max(float(m[M_H]), 0.0)))
                rho = (r1 - r0) / math.log(r1 / r0) if r0 > 0.0 and r1 > 0.0 and abs(r1 - r0) > 1e-12 * r1 else r1
                v2 = 0.5 * (m[M_SPEED] ** 2 + float(Xp[k, 3] ** 2 + Xp[k, 4] ** 2 + Xp[k, 5] ** 2))
                beta = rho * v2 / (2.0 * -a_al)
                var = (a_sig / -a_al) ** 2 + 0.05**2  # + 5% for the density model
                mem = mems[k]
                w = 1.0 / var + 1.0 / mem.var_ln_beta
                mem.ln_beta = (math.log(beta) / var + mem.ln_beta / mem.var_ln_beta) / w
                mem.var_ln_beta = 1.0 / w

        # lift (a quasi-ballistic glide): upward acceleration across the velocity while descending in the air
        for k in range(n):
            m = metrics[k]
            a_al, a_sig, a_lift = m[M_A_ALONG], m[M_A_SIGMA], m[M_A_LIFT]
            if (
                m[M_VUP] < 0.0
                and m[M_H] < self.reentry_interface_m
                and math.isfinite(a_lift)
                and a_lift > max(self.lift_min_m_s2, 3.0 * a_sig)
                and a_al < -max(1.0, 3.0 * a_sig)
            ):
                # in an equilibrium glide the lift only holds the path level, so the seen ratio is a lower bound
                # of the vehicle's L/D
                seen = min(a_lift / -a_al, self.lift_to_drag_max)
                mems[k].lift_to_drag = max(mems[k].lift_to_drag, seen)

        # the L/D is not known: a vehicle seen gliding has at least the L/D seen, at most the catalog's largest
        # (or what was seen, if more); a short-range missile after its boost may be a quasi-ballistic one that
        # has not pulled up yet: 0 (ballistic) up to the catalog's largest. Elsewhere ballistic (no span).
        span = np.full((n, 2), np.nan)
        for k in range(n):
            seen = mems[k].lift_to_drag
            if seen > 0.0:
                span[k] = (seen, max(seen, self._ld_max))
            elif self._may_glide(phases[k].phase, metrics[k], mems[k]):
                span[k] = (0.0, self._ld_max)
        # the fused covariance plus a floor: the state's errors it leaves out (sensor bias residuals, filter lag)
        floor = np.diag([self.state_floor_pos_m**2] * 3 + [self.state_floor_vel_m_s**2] * 3)
        preds = predict_impacts(
            X,
            Pm + floor,
            np.array([m.ln_beta for m in mems]),
            np.array([m.var_ln_beta for m in mems]),
            lift_to_drag_span=span if np.isfinite(span).any() else None,
        )

        # launch estimates for young, ascending tracks (frozen afterwards)
        todo = [
            k
            for k in range(n)
            if not mems[k].launch_frozen
            and metrics[k][M_VUP] > 0.0
            and (
                mems[k].launch_tried_ns is None
                or (tracks[k].time_ns - mems[k].launch_tried_ns) / NS >= self.launch_every_s
            )
        ]
        for k in todo:
            # without an acceleration history the phase is a guess: try again at the next update
            if math.isfinite(metrics[k][M_A_ALONG]):
                mems[k].launch_tried_ns = tracks[k].time_ns
        if todo:
            hc = np.array(
                [0.0 if phases[k].phase == Phase.BOOST else _burnout_height_guess_m(metrics[k][M_ERANGE]) for k in todo]
            )
            for k, gt in zip(todo, estimate_launch(X[todo], Pm[todo], hc), strict=True):
                mem = mems[k]
                boosting = phases[k].phase == Phase.BOOST
                # after boost, the track's oldest remembered state (up to history_s back) not seen boosting as
                # well: see time_since_launch (a state seen boosting may be an infrared track's, whose speed lags)
                earlier = None
                if not boosting:
                    t0, x0, p0 = next(
                        (h for h in mem.history if h[0] > mem.boost_seen_ns), (tracks[k].time_ns, X[k], Pm[k])
                    )
                    back_s = (tracks[k].time_ns - t0) / NS
                    earlier = (x0, p0, back_s) if back_s >= self.launch_earlier_min_s else None
                est = template_launch(X[k], Pm[k], gt, boosting, earlier=earlier)
                if not est.valid:
                    continue
                evidence = bool(math.isfinite(metrics[k][M_A_ALONG]))
                if evidence and not mem.launch_evidence:
                    mem.launch = None  # estimates that guessed the phase give way to one that saw it
                    if mem.launch_from is not None:  # (and a launch time taken for it is free again)
                        mem.launch_from.launch_claimed = False
                        mem.launch_from = None
                    mem.launch_time_boost = False
                    mem.launch_time_seen_boost = False
                mem.launch_evidence |= evidence
                # Keep the tightest position and, apart, the tightest time. The point: the gravity-turn one
                # (best close to the pad; the templates cannot tell the pitch program), or where that model finds
                # none for a state seen coasting (its acceleration measured, no thrust), the templates'. The
                # time is ranked: a boosting state's gravity-turn time that the classes' flights agree with
                # (template_launch returned it) above the templates' times (early infrared tracks place the pad
                # well but their speed is poor: the templates replace their time); across ranks the sigmas do
                # not compare.
                src = gt if gt.valid or boosting or not evidence else est
                time_boost = boosting and est is gt
                cur = mem.launch
                take_pos = src.valid and (cur is None or src.semi_major_m < cur.ellipse.semi_major_m)
                take_time = cur is None
                if cur is not None:
                    take_time = (time_boost and not mem.launch_time_boost) or (
                        time_boost == mem.launch_time_boost and est.t_sigma_s < cur.time_sigma_s
                    )
                if cur is None and not take_pos:
                    continue  # no point yet, and none from this state
                if take_pos or take_time:
                    old = cur if cur is not None else LaunchPoint(False)  # (both taken when there is none)
                    ell = Ellipse(src.semi_major_m, src.semi_minor_m, src.orientation_deg, src.confidence)
                    mem.launch = LaunchPoint(
                        True,
                        src.lat_deg if take_pos else old.lat_deg,
                        src.lon_deg if take_pos else old.lon_deg,
                        int(tracks[k].time_ns + round(est.t_s * NS)) if take_time else old.time_ns,
                        est.t_sigma_s if take_time else old.time_sigma_s,
                        ell if take_pos else old.ellipse,
                    )
                    mem.launch_time_boost = time_boost if take_time else mem.launch_time_boost
                    mem.launch_time_seen_boost = boosting if take_time else mem.launch_time_seen_boost
                if not mem.launch_time_seen_boost and mem.launch is not None:
                    self._time_from_lost_boost(mem, X[k], Pm[k], tracks[k].time_ns)
        # while boosting, the impact lies anywhere from the instantaneous impact point to the longest range the
        # missile can still reach: a corridor along the ground track (see impact.boost_corridor)
        for k in range(n):
            mems[k].corridor = ""
            if phases[k].phase == Phase.BOOST and preds[k].valid:
                preds[k] = self._corridor(tracks[k], X[k], Pm[k], metrics[k], preds[k], mems[k])
        # after boost: the mixture of the track's recent predictions (impact.mixture_of_predictions)
        for k in range(n):
            if phases[k].phase != Phase.BOOST and preds[k].valid:
                t = tracks[k]
                fresh = t.fresh_ns == 0 or (t.time_ns - t.fresh_ns) / NS <= self.coast_tolerance_s
                preds[k] = self._mixed(t.time_ns, preds[k], bool(np.isfinite(span[k]).all()), fresh, mems[k])
            else:
                mems[k].ipp_history.clear()
                if phases[k].phase == Phase.BOOST:  # (an area from a state wrongly seen coasting mid-boost)
                    mems[k].ipp_anchor = None
        for k in range(n):
            mem = mems[k]
            if phases[k].phase == Phase.BOOST:
                mem.boost_seen_ns = tracks[k].time_ns
            age_s = (tracks[k].time_ns - mem.first_time_ns) / NS
            # refreshed while the track boosts: radar tracks that join later are better than a first infrared one
            if mem.launch is not None and age_s >= self.launch_window_s and phases[k].phase != Phase.BOOST:
                mem.launch_frozen = True
            if (
                not mem.launch_frozen
                and (mem.launch is not None or age_s >= self.launch_window_s)
                and surely_descending(metrics[k], self.descent_k_sigma)
            ):
                mem.launch_frozen = True  # descending beyond the state's noise: no launch estimate from here on

        # areas: impact probabilities and overflight
        valid = np.array([p.valid for p in preds])
        probs = np.zeros((n, 4))
        if valid.any():
            idx = np.flatnonzero(valid)
            probs[idx] = self.area_map.probabilities(
                np.array([preds[k].lat_deg for k in idx]),
                np.array([preds[k].lon_deg for k in idx]),
                np.array([preds[k].cov_en_m2 for k in idx]),
                self._z,
            )
        over = np.zeros(n, dtype=np.uint8)
        if valid.any():
            idx = np.flatnonzero(valid)
            max_pts = int(min(max(np.nanmax([preds[k].t_s for k in idx]) / self.track_dt_s + 3, 3), 2000))
            track_fn = ground_track_batch_parallel if idx.size >= 8 else ground_track_batch
            path = track_fn(X[idx], np.array([GM_M3_S2, RE_J2_M, J2, OMEGA_E_RAD_S]), self.track_dt_s, max_pts)
            high = path[:, :, 2] >= self.overflight_min_h_m
            lat = np.where(high, path[:, :, 0], np.nan)
            lon = np.where(high, path[:, :, 1], np.nan)
            # NaN points are skipped by splitting: flag every high point and every high-high segment
            over[idx] = _high_path_flags(self.area_map, lat, lon)

        out: dict[int, Assessment] = {}
        for k, t in enumerate(tracks):
            out[t.track_id] = mems[k].last = self._assessment(
                t, metrics[k], phases[k], preds[k], probs[k], int(over[k]), mems[k]
            )
        return out

    # ------------------------------------------------------------------------------------------------
    def _path_z(self, old: _TrackMemory, x: np.ndarray, P: np.ndarray, time_ns: int, max_s: float) -> float:
        """How far (in σ) the state ``x`` (covariance ``P`` at ``time_ns``), coasted back under gravity to the last
        state of a deleted track (``old``), passes from it: σ² = (σ_v Δt)² + ``lost_boost_pos_m``². Infinite
        when that is not known or not a coast: no last state, a gap of more than ``max_s``, or the
        path back meets the ground (the object was still thrusting then, or is another one)."""
        back_s = (time_ns - old.end_ns) / NS
        if len(old.end_state) != 6 or not 0.0 < back_s <= max_s:
            return math.inf
        there = coast_back(x, back_s)
        if there is None:
            return math.inf
        s_v = math.sqrt(max(float(np.trace(P[3:, 3:])) / 3.0, 0.0))
        d = float(np.linalg.norm(there[:3] - np.asarray(old.end_state[:3])))
        return d / math.hypot(s_v * back_s, self.lost_boost_pos_m)

    def _time_from_lost_boost(self, mem: _TrackMemory, x: np.ndarray, P: np.ndarray, time_ns: int) -> None:
        """A track seen only after burnout (ECEF state ``x``, covariance ``P`` at ``time_ns``) takes the launch
        time of a deleted track of the same missile that was seen boosting (a space infrared track that ended at
        burnout, before a radar track began). The deleted track must be the same missile by two tests:

        - its launch point agrees with this one (3σ of both ellipses plus ``launch_same_pad_m``), and its launch
          time lies within 3σ of this track's own (template) time (3σ: after burnout the templates' σ is too
          small; about 60% of their errors lie within 2σ on the catalog classes);
        - this track, coasted back (gravity only) to the deleted track's last state, passes within 3σ of it,
          σ² = (σ_v Δt)² + ``lost_boost_pos_m``²: the launchers of one site fire seconds to minutes apart, and
          only this test tells their missiles apart (the templates' times are tens of seconds wide).

        Only a time surer than this track's own is taken. Of several, the closest on its path; a deleted track's
        time goes to one track only."""
        cur = mem.launch
        assert cur is not None
        la, lo = math.radians(cur.lat_deg), math.radians(cur.lon_deg)
        s_cur = cur.ellipse.semi_major_m / math.sqrt(CHI2_2DOF_95)
        best: _TrackMemory | None = None
        best_z = math.inf
        oldest_ns = time_ns - round(self.lost_boost_max_s * NS)
        for old in self._dormant.values():
            lp = old.launch
            # cheap tests first: the path test needs a lost state at most lost_boost_max_s old
            if not oldest_ns <= old.end_ns < time_ns or lp is None or old.launch_claimed:
                continue
            if not old.launch_time_seen_boost:
                continue
            if not lp.time_sigma_s < cur.time_sigma_s:  # only a surer time (a lagging first track's is not)
                continue
            s_old = lp.ellipse.semi_major_m / math.sqrt(CHI2_2DOF_95)
            d = geodesic_inverse(la, lo, math.radians(lp.lat_deg), math.radians(lp.lon_deg))[0]
            if not d <= 3.0 * math.hypot(s_cur, s_old) + self.launch_same_pad_m:  # (NaN: no)
                continue
            if not abs(lp.time_ns - cur.time_ns) / NS <= 3.0 * math.hypot(cur.time_sigma_s, lp.time_sigma_s):
                continue
            z = self._path_z(old, x, P, time_ns, self.lost_boost_max_s)
            if z <= 3.0 and z < best_z:
                best, best_z = old, z
        if best is None or best.launch is None:
            return
        best.launch_claimed = True
        mem.launch_from = best
        mem.launch = LaunchPoint(
            True, cur.lat_deg, cur.lon_deg, best.launch.time_ns, best.launch.time_sigma_s, cur.ellipse
        )
        mem.launch_time_boost = best.launch_time_boost
        mem.launch_time_seen_boost = True

    def _corridor(self, t: SystemTrack, x: np.ndarray, P: np.ndarray, m: np.ndarray, iip, mem):  # type: ignore[no-untyped-def]
        """The boost-phase impact corridor of one track (see :func:`impact.boost_corridor`).

        The far end: the longest range of the catalog classes whose nominal boost fits the track's speed at
        its time since launch (from the launch estimate, ± 3σ + ``corridor_tau_slack_s``; without one, from
        the track's age to ``corridor_tau_slack_s`` × 4 more). The direction: the horizontal velocity's
        azimuth, once it is resolved (≥ ``corridor_min_hspeed_m_s`` and 3σ); before that, a disc."""
        sig_v = math.sqrt(max(float(np.trace(P[3:, 3:])) / 3.0, 0.0))
        age_s = (t.time_ns - mem.first_time_ns) / NS
        lp = mem.launch
        if lp is not None and lp.valid:
            tau = (t.time_ns - lp.time_ns) / NS
            slack = 3.0 * (lp.time_sigma_s if math.isfinite(lp.time_sigma_s) else 10.0) + self.corridor_tau_slack_s
            tau_lo, tau_hi = tau - slack, tau + slack
            o_lat, o_lon = lp.lat_deg, lp.lon_deg
        else:
            tau_lo, tau_hi = age_s, age_s + 4.0 * self.corridor_tau_slack_s
            la, lo, _ = ecef_to_geodetic(x[0], x[1], x[2])
            o_lat, o_lon = math.degrees(la), math.degrees(lo)
        r_max, names = boost_range_bound_m(tau_lo, tau_hi, float(m[M_SPEED]), sig_v, self._profiles)
        if t.objects > 1:
            # an unresolved group's state is no one missile's (a track on a launch site takes each new launch's
            # plume in turn, its age no missile's time since launch): it narrows no class for after the boost,
            # and what was fitted so far may have been another missile's (this corridor still reaches as far as
            # the classes that fit the group's state)
            mem.boost_fit = None
        elif names:
            both = mem.boost_fit & set(names) if mem.boost_fit is not None else frozenset(names)
            mem.boost_fit = both if both else frozenset(names)
        la, lo, _ = ecef_to_geodetic(x[0], x[1], x[2])
        e, nn, _ = ecef_vec_to_enu(x[3], x[4], x[5], la, lo)
        h_speed = math.hypot(e, nn)
        az = math.degrees(math.atan2(e, nn)) if h_speed >= max(self.corridor_min_hspeed_m_s, 3.0 * sig_v) else math.nan
        out = boost_corridor(iip, o_lat, o_lon, az, r_max)
        fit = ", ".join(names) if names else "no catalog class fits: any"
        shape = "along the ground track" if math.isfinite(az) else "in any direction (no heading yet)"
        mem.corridor = f"boosting: impact anywhere up to {r_max / 1e3:,.0f} km {shape} (classes that fit: {fit})"
        return out

    def _mixed(
        self, time_ns: int, pred: ImpactPrediction, glide: bool, fresh: bool, mem: _TrackMemory
    ) -> ImpactPrediction:
        """The impact area of a track after boost: the mixture of its predictions of the last
        ``ipp_window_s`` made under the same model (with or without a glide span; a change starts afresh).

        For a track seen gliding (lift), predictions from coasted states (``fresh`` False: more than
        ``coast_tolerance_s`` after the track's newest sensor update) are left out while the window holds
        predictions from updated states: they add no measurement, only the drift of the node trackers'
        ballistic coasting model, which a gliding missile leaves. With no updated state in the window, all of
        them are used (a coasting track keeps an impact area). A track not seen gliding keeps them: the
        ballistic model is the right one for it, and its coasted predictions are as good as the last update's
        (docs/assessment.md, "Models and choices")."""
        hist = mem.ipp_history
        t0_s = (time_ns - mem.first_time_ns) / NS
        if hist and (hist[-1][1] != glide or time_ns < hist[-1][0]):
            hist.clear()
        if hist and hist[-1][0] == time_ns:
            hist.pop()
        hist.append(
            (time_ns, glide, pred.lat_deg, pred.lon_deg, t0_s + pred.t_s, pred.t_sigma_s, pred.cov_en_m2, fresh)
        )
        while hist and (time_ns - hist[0][0]) / NS > self.ipp_window_s:
            hist.popleft()
        # a track seen gliding leaves the trackers' ballistic coasting model: its coasted predictions drift
        use = [h for h in hist if h[7]] if mem.lift_to_drag > 0.0 else []
        use = use or list(hist)
        single = len(use) < 2 and use[-1] is hist[-1]
        if single:
            own = (time_ns, glide, pred.lat_deg, pred.lon_deg, t0_s + pred.t_s, pred.t_sigma_s, pred.cov_en_m2, fresh)
        else:
            own = (time_ns, glide, *_mixture(use), fresh)
        # the anchor: the area from the newest updated state's window, kept across a coverage gap (a missile
        # re-acquired after a mid-course gap: the new track's first states are poor, the area from before the
        # gap is not, and it still holds where a ballistic missile lands). After a gap (no updated state for
        # longer than the window) it stays until the new track's area is as tight; it is dropped when the
        # window's predictions from updated states disagree with it, or the model changes.
        anchor = mem.ipp_anchor
        if anchor is not None and anchor[1] != glide:
            anchor = mem.ipp_anchor = None
        updated = [h for h in use if h[7]]
        if anchor is not None and updated:
            if len(updated) == len(use):  # (the window's predictions are all from updated states: own)
                now = own
            else:
                now = updated[0] if len(updated) == 1 else (time_ns, glide, *_mixture(updated), True)
            if not _agree(anchor, now, self.anchor_chi2):
                anchor = mem.ipp_anchor = None
        if fresh and (
            anchor is None
            or (time_ns - anchor[0]) / NS <= self.ipp_window_s
            or np.linalg.det(own[6]) <= np.linalg.det(anchor[6])
        ):
            anchor = mem.ipp_anchor = own
        out = own
        if anchor is not None and anchor[0] < use[0][0]:  # its information is no longer in the window
            out = (time_ns, glide, *_mixture([anchor, *use]), fresh)
        if out is own and single:
            return pred
        cov = out[6]
        a, b, o = ellipse_from_cov(cov[0, 0], cov[0, 1], cov[1, 1], -2.0 * math.log(1.0 - pred.confidence))
        return ImpactPrediction(True, out[2], out[3], out[4] - t0_s, out[5], cov, a, b, o, pred.confidence)

    def _may_glide(self, phase: Phase, m: np.ndarray, mem: _TrackMemory) -> bool:
        """After its boost, a short-range missile (energy below ``glide_class_range_m``) may be quasi-ballistic,
        unless its boost was seen and fitted only classes that do not glide."""
        if phase == Phase.BOOST or not (m[M_ERANGE] < self.glide_class_range_m):
            return False
        return mem.boost_fit is None or bool(mem.boost_fit & self._gliders)

    def _assessment(
        self,
        track: SystemTrack,
        metrics: np.ndarray,
        phase_est: PhaseEstimate,
        pred: ImpactPrediction,
        area_probs: np.ndarray,
        overflight_flags: int,
        mem: _TrackMemory,
    ) -> Assessment:
        """The assessment of one system ``track`` from its flight ``metrics`` (M_* row of
        :func:`classify.flight_metrics`), its phase estimate, impact prediction ``pred``, impact probabilities
        ``area_probs`` (4,: per bit of :data:`.areas.AREA_BITS`: any land, JP land, KR land, JP EEZ), the
        area flags its predicted path flies over (``overflight_flags``, :mod:`.areas` bits) and its memory
        ``mem``."""
        launch = LaunchPoint(False)
        if mem.launch is not None:
            launch = bounded_launch(mem.launch, None if mem.launch_bound_off else mem.launch_latest_ns)
        ground_range = math.nan
        if pred.valid and launch.valid:
            ground_range = geodesic_inverse(
                math.radians(launch.lat_deg),
                math.radians(launch.lon_deg),
                math.radians(pred.lat_deg),
                math.radians(pred.lon_deg),
            )[0]
        cls = class_from_metrics(metrics, phase_est.phase, ground_range)
        if pred.valid:
            impact = ImpactPoint(
                True,
                pred.lat_deg,
                pred.lon_deg,
                int(track.time_ns + round(pred.t_s * NS)),
                pred.t_sigma_s,
                Ellipse(pred.semi_major_m, pred.semi_minor_m, pred.orientation_deg, pred.confidence),
                None if pred.corridor is None else Corridor(*pred.corridor),
            )
        else:
            impact = ImpactPoint(False)
        p_jp, p_kr, p_sea = float(area_probs[1]), float(area_probs[2]), float(area_probs[3])
        areas: list[ThreatenedArea] = []
        for kind, p in ((AreaKind.JP_LAND, p_jp), (AreaKind.KR_LAND, p_kr), (AreaKind.JP_EEZ, p_sea)):
            if p >= self.p_report:
                areas.append(ThreatenedArea(kind, AREA_NAMES[kind], p))
        overflight: list[AreaKind] = []
        if overflight_flags & area_grid.JP_LAND:
            overflight.append(AreaKind.JP_OVERFLIGHT)
        if overflight_flags & area_grid.KR_LAND:
            overflight.append(AreaKind.KR_OVERFLIGHT)
        over_areas = [ThreatenedArea(kind, AREA_NAMES[kind], 1.0) for kind in overflight]
        areas += over_areas

        boosting = phase_est.phase == Phase.BOOST
        # hysteresis: land that a WARNING names stays named down to land_keep_frac of p_land
        p_land = self.p_land * (self.land_keep_frac if mem.land_warned else 1.0)
        lands = [(k, p) for k, p in ((AreaKind.JP_LAND, p_jp), (AreaKind.KR_LAND, p_kr)) if p >= p_land]
        if pred.valid and lands and not boosting:
            if mem.land_since_ns is None:
                mem.land_since_ns = track.time_ns
        else:
            mem.land_since_ns = None
        level = WarningLevel.ADVISORY
        held_s = 0.0 if mem.land_since_ns is None else (track.time_ns - mem.land_since_ns) / NS
        reasons: list[str] = []
        named: list[ThreatenedArea] = []
        if not pred.valid:
            reasons.append("launch tracked; impact area not yet determined")
        else:
            where = f"impact predicted at {pred.lat_deg:.2f}°N {pred.lon_deg:.2f}°E"
            if pred.corridor is not None:
                c = pred.corridor
                where = f"impact corridor from {c[0]:.2f}°N {c[1]:.2f}°E to {c[2]:.2f}°N {c[3]:.2f}°E"
            size = f"95% ellipse {pred.semi_major_m / 1e3:.0f} x {pred.semi_minor_m / 1e3:.0f} km"
            level, named, reasons = warning_level(
                p_jp, p_kr, p_sea, over_areas, boosting, held_s, p_land, self.p_eez, self.land_confirm_s
            )
            for kind in overflight:
                reasons.append(f"predicted path: {AREA_NAMES[kind]}")
            reasons.append(f"{where}, {size}")
            if phase_est.phase == Phase.BOOST:
                reasons.append(mem.corridor or "boosting: instantaneous impact point, moves downrange until burnout")
            if mem.lift_to_drag > 0.0:
                reasons.append(
                    f"gliding (lift seen, L/D >= {mem.lift_to_drag:.1f}): predicted with an L/D of "
                    f"{mem.lift_to_drag:.1f}-{max(mem.lift_to_drag, self._ld_max):.1f}"
                )
            elif self._may_glide(phase_est.phase, metrics, mem):
                reasons.append(
                    "short range: may be quasi-ballistic, the area spans ballistic to gliding "
                    f"(L/D 0-{self._ld_max:.1f})"
                )
        mem.land_warned = level == WarningLevel.WARNING
        return Assessment(
            track_id=track.track_id,
            time_ns=track.time_ns,
            phase=phase_est.phase,
            phase_reasons=phase_est.reasons,
            missile_class=cls.missile_class,
            class_provisional=cls.provisional,
            class_reasons=cls.reasons,
            apogee_m=cls.apogee_m,
            launch=launch,
            impact=impact,
            areas=tuple(areas),
            overflight=tuple(overflight),
            level=level,
            reasons=tuple(reasons),
            named_areas=tuple(named),
            fresh_ns=track.fresh_ns,
            state_ecef=tuple(float(v) for v in track.x[:6]),
        )


def _mixture(preds: list[tuple]) -> tuple[float, float, float, float, np.ndarray]:  # type: ignore[type-arg]
    """(lat_deg, lon_deg, impact time s, its σ, east-north covariance) of :func:`impact.mixture_of_predictions`
    over ``_TrackMemory.ipp_history``-like entries."""
    lat, lon, t_imp, t_sig, cov, *_ = mixture_of_predictions(
        np.array([h[2] for h in preds]),
        np.array([h[3] for h in preds]),
        np.array([h[4] for h in preds]),
        np.array([h[5] for h in preds]),
        np.array([h[6] for h in preds]),
    )
    return lat, lon, t_imp, t_sig, cov


def _agree(a: tuple, b: tuple, chi2: float) -> bool:  # type: ignore[type-arg]
    """Whether two impact areas (``ipp_history``-like entries) hold one point: the Mahalanobis distance of their
    centres, on the sum of their east-north covariances, within ``chi2`` (2 degrees of freedom)."""
    d = np.array(ground_offset_en_m(a[2], a[3], b[2], b[3]))
    s = np.asarray(a[6]) + np.asarray(b[6]) + 1e-6 * np.eye(2)
    return float(d @ np.linalg.solve(s, d)) <= chi2


def warning_level(
    p_jp: float,
    p_kr: float,
    p_sea: float,
    overflight: list[ThreatenedArea],
    boosting: bool,
    land_held_s: float,
    p_land: float,
    p_eez: float,
    land_confirm_s: float,
) -> tuple[WarningLevel, list[ThreatenedArea], list[str]]:
    """The level of a track with a valid impact prediction, the areas its warning names and the reasons (the
    rules of the module docstring). ``p_jp``, ``p_kr``, ``p_sea``: probabilities of impact on Japan's land, the
    ROK's land and Japan's EEZ waters; ``overflight``: the overflight areas of its predicted path;
    ``land_held_s``: for how long (s) every assessment after burnout has named land (0 when this one is the
    first, or it does not)."""
    lands = [(k, p) for k, p in ((AreaKind.JP_LAND, p_jp), (AreaKind.KR_LAND, p_kr)) if p >= p_land]
    p_japan = p_jp + p_sea  # the EEZ grid holds water only: Japan's land or EEZ
    named: list[ThreatenedArea] = []
    reasons: list[str] = []
    if lands and not boosting and land_held_s >= land_confirm_s:
        level = WarningLevel.WARNING
        named += [ThreatenedArea(k, AREA_NAMES[k], p) for k, p in lands]
        reasons += [f"impact expected on {AREA_NAMES[k]} (p = {p:.2f})" for k, p in lands]
    elif lands:
        # a path that can still change: a watch (naming Japan's EEZ, never the land) before a warning
        level = WarningLevel.WATCH
        on_land = ", ".join(f"{AREA_NAMES[k]} (p = {p:.2f})" for k, p in lands)
        if boosting:
            why = "boosting, the path changes until burnout"
        else:
            why = f"a warning once every assessment names it for {land_confirm_s:.0f} s (now {land_held_s:.0f} s)"
        reasons.append(f"impact possible on {on_land}: {why}")
    elif p_japan >= p_eez or overflight:
        level = WarningLevel.WATCH
    else:
        level = WarningLevel.NONE
        reasons.append("impact outside the land and EEZ of Japan and the ROK")
    if level == WarningLevel.WATCH and p_japan >= p_eez:
        named.append(ThreatenedArea(AreaKind.JP_EEZ, AREA_NAMES[AreaKind.JP_EEZ], p_japan))
        reasons.append(f"impact expected in Japan's EEZ or on its land (p = {p_japan:.2f})")
    named += overflight
    return level, named, reasons


def _latest_launch_ns(time_ns: int, x: np.ndarray, P: np.ndarray) -> int:
    """The latest launch time (ns) of an object in ECEF state ``x`` (covariance ``P``) at ``time_ns``: it was
    launched at least :func:`.launch_templates.earliest_time_at_height` of its height before, taken 3σ low
    (an infrared track's first height can be kilometres off)."""
    la, lo, h = ecef_to_geodetic(float(x[0]), float(x[1]), float(x[2]))
    up = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    sig_h = math.sqrt(max(float(up @ P[:3, :3] @ up), 0.0))
    h_low = h - 3.0 * sig_h if math.isfinite(sig_h) else 0.0
    return int(time_ns - round(earliest_time_at_height(h_low) * NS))


def bounded_launch(launch: LaunchPoint, latest_ns: int | None) -> LaunchPoint:
    """``launch`` with its time no later than ``latest_ns`` (None: unchanged). An estimate past the bound (the
    back-propagation and the templates can give one from noisy states read as a younger missile) is moved to
    it; its σ stays (docs/assessment.md, "Launch, no later than the first sighting")."""
    if latest_ns is None or not launch.valid or launch.time_ns <= latest_ns:
        return launch
    return LaunchPoint(True, launch.lat_deg, launch.lon_deg, latest_ns, launch.time_sigma_s, launch.ellipse)


def _burnout_height_guess_m(energy_range_m: float) -> float:
    """Height (m) to coast back to before the boost model takes over, for a track first seen after burnout:
    5% of the energy-equivalent range, within 40-400 km. # assumption: not a published figure"""
    if not math.isfinite(energy_range_m):
        return 200_000.0
    return float(min(max(0.05 * energy_range_m, 40_000.0), 400_000.0))


def _high_path_flags(amap: area_grid.AreaMap, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """OR of flags under the runs of finite points of each row (NaN points break the polyline)."""
    n = lat.shape[0]
    out = np.zeros(n, dtype=np.uint8)
    for i in range(n):
        ok = np.isfinite(lat[i])
        if not ok.any():
            continue
        # split into runs of consecutive finite points
        edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            la = np.ascontiguousarray(lat[i, a:b][None])
            lo = np.ascontiguousarray(lon[i, a:b][None])
            out[i] |= amap.path_flags(la, lo, np.array([b - a]))[0]
    return out


def coast_back(x: np.ndarray, dt_s: float, step_s: float = 0.5) -> np.ndarray | None:
    """The ECEF state ``x`` (6,) coasted back ``dt_s`` seconds (> 0) under gravity alone (J2, rotating Earth;
    no drag: for states above the dense air), or None if that path meets the ground."""
    n = max(1, math.ceil(dt_s / step_s))
    out = np.empty(7)
    earth = np.array([GM_M3_S2, RE_J2_M, J2, OMEGA_E_RAD_S])
    # exactly n steps: the loop runs while the time is below its end, and n sums of dt/n can fall just short
    ds = dt_s / n
    miss = back_integrate(np.ascontiguousarray(x, dtype=np.float64), 0.0, 0.0, 0.0, earth, ds, dt_s - 0.5 * ds, out)
    if math.isfinite(miss):  # reached the ground (or rest) first
        return None
    return out[:6].copy()
