"""A nation's command-and-control tracker: one track file fed by all of that nation's sensors.

Composition (one scan of one sensor at a time, in time order; Stone Soup's vocabulary):

- predictor: IMM over flight phases (:mod:`.imm`, motion model :mod:`.motion`), every live track to the scan
  time;
- hypothesiser: chi-square gate on the NIS of each (track, measurement) pair (:func:`ekf.gate_batch`),
  the union of the gates of the combined estimate and of each probable IMM model (``Tracker._gate``);
- data associator: global nearest neighbour, the assignment of least total NIS + ln det S (the negative
  log-likelihood: a wide track does not outbid a tight one; ``Tracker._gate``)
  (``scipy.optimize.linear_sum_assignment``) over the gated pairs;
- updater: IMM/EKF update of the assigned pairs (:func:`imm.imm_update_batch`);
- initiator: every radar measurement left over starts a tentative track (single-point initiation, zero
  velocity with a wide spread, or the range rate along the line of sight); infrared lines of sight left over
  wait up to ``ir_pair_max_dt_s`` for one of another satellite: where two cross (unambiguously) above the
  ground, a tentative boost-phase track starts; a tentative track is confirmed
  after ``m_confirm`` hits in the first ``n_confirm`` scans of the sensor that started it, the initiating
  scan included (M-of-N), else
  dropped without ever being reported;
- duplicate check: of two confirmed tracks that are statistically the same object (within ``merge_distance_m``
  and a χ² gate on the 6-D difference) the younger one is deleted;
- deleter: a confirmed track without an update for ``coast_after_s`` is COASTING; after ``delete_after_s``,
  when its position uncertainty exceeds ``max_pos_sigma_m``, or once it is predicted below the ground, it is
  DELETED: reported once more, then its slot is freed. Track numbers are given at confirmation, from
  ``first_track_number`` (1) upwards, and never reused;
- group count (:meth:`Tracker.objects`): an infrared line of sight that no track used but that lies in a
  confirmed track's gate counts for the track it lies nearest: a plume the track cannot resolve; a track
  reports 1 plus the most of them one satellite saw in its last scan (``TrackFile.objects``);
- divergence guard (:func:`diverged`): a live track whose state or covariance is not finite, whose state is
  outside any flight envelope (height, speed, or stalled low and slow long after it began) or whose
  covariance has exploded is dropped without being reported, not even as DELETED (its node's next batch
  simply lacks it), and counted per reason in ``Tracker.diverged``; measurements left over then start a new
  track.

The state is struct-of-arrays with a growing capacity; all arithmetic is in batch kernels, Python only
orchestrates per scan. No I/O, no logging. Time ``t_s`` is scenario seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from triwarn.core.tracking import ekf, imm, layout, motion, triangulation
from triwarn.core.tracks import Phase, Status
from triwarn.core.trajectory.frames import ecef_to_geodetic_batch

# slot states (internal)
FREE = 0
TENTATIVE = 1
CONFIRMED = 2
DELETED = 3


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker tuning. Every value is an engineering choice. # assumption: not a published figure"""

    m_confirm: int = 3
    n_confirm: int = 4
    gate_probability: float = 0.9995  # chi-square gate of the NIS
    coast_after_s: float = 5.0
    delete_after_s: float = 20.0
    max_pos_sigma_m: float = 30e3
    q_ballistic_m2_s3: float = 1e-4  # white acceleration density of the ballistic model above the air
    q_atmosphere_m2_s3: float = 1.0  # at least this below atmosphere_height_m (drag model error)
    atmosphere_height_m: float = 100e3
    q_boost_m2_s3: float = 10.0  # of the boost model
    q_jerk_boost_m2_s5: float = 4.0  # thrust acceleration random walk: ~2 m/s² per √s (steering, mass loss)
    sigma_a_init_m_s2: float = 30.0
    q_theta_1_s: float = 1e-5  # random walk density of ln β
    # below atmosphere_height_m, white acceleration q_drag_s·|a_D|² on top: the real air's density departs
    # from the tracker's model by tens of % over a few km of height
    q_drag_s: float = 0.05  # assumption: tuned on ballistic re-entries (terminal NEES ~3 below 20 km, was up to 25)
    rate_to_boost_1_s: float = 1e-6  # a coasting missile does not start thrusting again
    rate_to_ballistic_1_s: float = 1.0 / 60.0
    # descending in the air (below atmosphere_height_m) the accelerating model stands for an aerodynamic
    # manoeuvre (the lift of a quasi-ballistic glide, a KN-23-like pull-up): ballistic -> accelerating there
    rate_to_manoeuvre_1_s: float = 0.02  # assumption: one manoeuvre onset per ~50 s of re-entry
    q_manoeuvre_m2_s3: float = 1e-4  # its white acceleration there: the ballistic one (in the air: + drag error)
    q_jerk_manoeuvre_m2_s5: float = 0.5  # assumption: its acceleration (lift) turns with the path: ~0.7 m/s² per √s
    # thrust stays possible for a while after a track was last seen thrusting: while it ascends, within
    # mu_accel_floor_s of its last update with the accelerating model at least thrust_seen_mu, that model's
    # probability is kept at least mu_accel_floor before each mixing, so it keeps its own state (thrust
    # estimate) instead of being re-initialised from the ballistic one. A staging is a thrust drop (stage 2's
    # acceleration a fraction of stage 1's at burnout), which the IMM can take for the burnout; with
    # rate_to_boost_1_s alone the track then stays ballistic while the missile thrusts on, lags it and loses it.
    # A track first seen in mid-course is never seen thrusting and stays a plain ballistic filter; after a real
    # burnout the floor ends mu_accel_floor_s later, unless the floored model wins on noise to thrust_seen_mu
    # again (each time renews it; bounded by the ascent). # assumption: engineering values (the IMM took a
    # staging for the burnout for ~10 s in the families)
    # (2e-3: after mixing still at least gate_model_probability, so the boost model's gate is in the union and
    # reports that only it predicts still update the track)
    mu_accel_floor: float = 2e-3
    mu_accel_floor_s: float = 60.0
    thrust_seen_mu: float = 0.9
    mu_boost_init: float = 0.2  # a radar's first report: thrusting or not (0.5 made coasting tracks conservative)
    sigma_v_init_m_s: float = 3000.0
    beta_init_kg_m2: float = 5000.0
    sigma_ln_beta_init: float = 1.5
    terminal_height_m: float = 100e3  # descending below this: TERMINAL
    gate_model_probability: float = 1e-3  # IMM models at least this probable widen the gate (union)
    merge_distance_m: float = 2000.0  # two confirmed tracks closer than this and ...
    merge_probability: float = 0.99  # ... inside this χ² gate on their 6-D difference are one object
    max_step_s: float = 1.0
    # two-satellite infrared initiation
    ir_initiation: bool = True
    ir_pair_max_dt_s: float = 2.5  # lines of sight of two satellites at most this far apart in time ...
    ir_max_speed_m_s: float = 4000.0  # ... may miss each other by the target's motion in between
    ir_max_height_m: float = 1.0e6
    ir_sigma_pos_init_m: float = 3000.0  # only without ir_weighted_triangulation: fixed σ of the midpoint
    ir_weighted_triangulation: bool = True  # the start point and its covariance from triangulation.triangulate_los
    ir_init_speed_sigma_m_s: float = 1000.0  # motion between the two lines of sight (boost speeds)
    ir_mu_boost_init: float = 0.9  # an infrared sensor sees boosting missiles only
    ir_boost_memory_s: float = 5.0  # a track an infrared sensor saw this recently is in boost
    ir_depth_timeout_s: float = 6.0  # an infrared-only track needs two satellites' updates within this
    # flight envelope: a track outside it has diverged (or follows no missile) and is dropped unpublished
    envelope_max_height_m: float = 8.0e6  # above any lofted apogee (Hwasong-18, 2023-07-12: ~6,650 km)
    envelope_min_height_m: float = -100e3  # an impacted track is deleted within ~1 km below the ground
    envelope_max_speed_m_s: float = 9000.0  # ICBM burnout ~7 km/s; orbital 7.8 km/s
    diverged_pos_sigma_m: float = 1.0e6  # √tr P_rr: max_pos_sigma_m ends sane tracks far below this
    diverged_vel_sigma_m_s: float = 1.0e4  # √tr P_vv: a new track starts at √3 · sigma_v_init_m_s
    # a track this old, below stall_max_height_m and slower than stall_speed_m_s follows no missile: one sitting
    # on a launch site, fed by each new launch's plume in turn (a raid's ripple fire), is one (truth of the
    # families: no missile below 100 km is slower than 520 m/s 45 s after launch; 126 m/s only at a lofted apogee)
    stall_age_s: float = 45.0
    stall_speed_m_s: float = 150.0
    stall_max_height_m: float = 100e3


@dataclass(frozen=True)
class TrackFile:
    """A snapshot of the reportable tracks (confirmed, coasting and just deleted), n rows."""

    track_numbers: np.ndarray  # (n,) int64
    t_s: np.ndarray  # (n,) float64
    x: np.ndarray  # (n, 6) ECEF state
    P: np.ndarray  # (n, 6, 6)
    phase: np.ndarray  # (n,) int64 Phase
    status: np.ndarray  # (n,) int64 Status
    quality: np.ndarray  # (n,) float64 in [0, 1]
    beta_kg_m2: np.ndarray  # (n,) float64, 0 when unknown
    sensor_mask: np.ndarray  # (n,) int64 bit i: sensor i of the tracker contributed
    slot: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (n,) internal slot
    last_hit_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n,) time of the last measurement update
    #: (n,) int64 objects each track may stand for (1; more for an unresolved group: Tracker.objects); empty:
    #: not estimated
    objects: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


#: reasons of :func:`diverged` (0: sane)
DIVERGED_REASONS = ("non-finite", "height", "speed", "covariance", "stalled")


def diverged(x: np.ndarray, P: np.ndarray, cfg: TrackerConfig, age_s: np.ndarray | None = None) -> np.ndarray:
    """Why each state x (n, ≥6) ECEF (m, m/s) with covariance P (n, ≥6, ≥6) is not a track of anything that
    flies: (n,) int64, 0 sane, else 1 + the index in :data:`DIVERGED_REASONS`: a non-finite state or
    covariance; a height (along the radius, against the polar radius above and the equatorial one below: a
    coarse bound) outside [``envelope_min_height_m``, ``envelope_max_height_m``]; a speed above
    ``envelope_max_speed_m_s``; a covariance with a negative position or velocity variance or whose
    √tr P_rr or √tr P_vv exceeds ``diverged_pos_sigma_m`` or ``diverged_vel_sigma_m_s``; with the tracks' ages
    ``age_s`` (n,) (seconds since each began), a track at least ``stall_age_s`` old, below
    ``stall_max_height_m`` and slower than ``stall_speed_m_s`` (stalled). The first reason that applies, in
    that order."""
    n = x.shape[0]
    out = np.zeros(n, np.int64)
    if n == 0:
        return out
    finite = np.isfinite(x).all(axis=1) & np.isfinite(P.reshape(n, -1)).all(axis=1)
    xs = np.where(finite[:, None], x[:, :6], 0.0)
    Ps = np.where(finite[:, None, None], P[:, :6, :6], 0.0)
    r_m = np.linalg.norm(xs[:, :3], axis=1)
    height = (r_m - 6_356_752.3 > cfg.envelope_max_height_m) | (r_m - 6_378_137.0 < cfg.envelope_min_height_m)
    speed = np.linalg.norm(xs[:, 3:6], axis=1) > cfg.envelope_max_speed_m_s
    var = np.diagonal(Ps, axis1=1, axis2=2)
    cov = (var < 0.0).any(axis=1)
    cov |= var[:, :3].sum(axis=1) > cfg.diverged_pos_sigma_m**2
    cov |= var[:, 3:6].sum(axis=1) > cfg.diverged_vel_sigma_m_s**2
    stalled = np.zeros(n, np.bool_)
    if age_s is not None:
        stalled = (
            (age_s >= cfg.stall_age_s)
            & (r_m - 6_356_752.3 < cfg.stall_max_height_m)
            & (np.linalg.norm(xs[:, 3:6], axis=1) < cfg.stall_speed_m_s)
        )
    for code, bad in ((5, stalled), (4, cov), (3, speed), (2, height), (1, ~finite)):  # the first reason wins
        out[bad] = code
    return out


class Tracker:
    """One nation's tracker over ``sensor_rows`` (s, SP_LEN) (see :func:`measurement.radar_row`, ``ir_row``)."""

    def __init__(
        self,
        sensor_rows: np.ndarray,
        config: TrackerConfig | None = None,
        capacity: int = 64,
        first_track_number: int = 1,
    ):
        self.cfg = config or TrackerConfig()
        self.sp = np.ascontiguousarray(sensor_rows, dtype=np.float64)
        if self.sp.ndim != 2 or self.sp.shape[1] != layout.SP_LEN:
            raise ValueError(f"sensor_rows must have shape (s, {layout.SP_LEN}), got {self.sp.shape}")
        if self.sp.shape[0] > 63:
            raise ValueError("a tracker handles at most 63 sensors (bit mask of contributors)")
        self.params = motion.model_params(
            self.cfg.max_step_s,
            self.cfg.atmosphere_height_m,
            self.cfg.q_atmosphere_m2_s3,
            self.cfg.q_drag_s,
        )
        self.atm = motion.VALLADO_EXP_ATMOSPHERE
        self.q = np.array([self.cfg.q_ballistic_m2_s3, self.cfg.q_boost_m2_s3, self.cfg.q_manoeuvre_m2_s3])
        self.q_jerk = np.array([0.0, self.cfg.q_jerk_boost_m2_s5, self.cfg.q_jerk_manoeuvre_m2_s5])
        self.rates = np.array(
            [self.cfg.rate_to_boost_1_s, self.cfg.rate_to_ballistic_1_s, self.cfg.rate_to_manoeuvre_1_s]
        )
        self.gates = {m: float(chi2.ppf(self.cfg.gate_probability, m)) for m in (2, 3, 4)}
        self.merge_gate = float(chi2.ppf(self.cfg.merge_probability, 6))
        if first_track_number < 1:
            raise ValueError(f"first_track_number must be >= 1, got {first_track_number}")
        self.next_number = int(first_track_number)
        #: unassigned infrared lines of sight waiting for a partner: (sensor, t_s, z (k, 2), explained (k,)):
        #: explained = the line of sight was inside the gate of a confirmed track when it was taken
        self._los: list[tuple[int, float, np.ndarray, np.ndarray]] = []
        self._ir = np.flatnonzero(self.sp[:, 0] == layout.KIND_IR)
        self._radar_bits = int(sum(1 << int(i) for i in np.flatnonzero(self.sp[:, 0] == layout.KIND_RADAR)))
        #: tracks dropped unpublished by the divergence guard since construction, per reason
        self.diverged: dict[str, int] = dict.fromkeys(DIVERGED_REASONS, 0)
        self._alloc(capacity)

    # --- storage ----------------------------------------------------------------------------------------

    def _alloc(self, cap: int) -> None:
        nx = layout.NX
        self.xm = np.zeros((cap, 2, nx))
        self.Pm = np.zeros((cap, 2, nx, nx))
        #: cross-covariance of each model's state error with each sensor's registration bias (considered)
        self.Cm = np.zeros((cap, 2, self.sp.shape[0], nx, layout.MAX_Z))
        self.mu = np.zeros((cap, 2))
        self.t = np.zeros(cap)
        self.state = np.zeros(cap, np.int64)
        self.number = np.zeros(cap, np.int64)
        self.hits = np.zeros(cap, np.int64)
        self.scans = np.zeros(cap, np.int64)
        self.origin = np.zeros(cap, np.int64)
        self.last_hit_t = np.zeros(cap)
        self.first_t = np.zeros(cap)
        self.mask = np.zeros(cap, np.int64)
        self.n_updates = np.zeros(cap, np.int64)
        self.last_ir_t = np.full(cap, -np.inf)
        self.sensor_t = np.full((cap, self.sp.shape[0]), -np.inf)  # last update by each sensor
        self.fell = np.zeros(cap, np.bool_)  # the track was once reported clearly falling
        self.thrust_t = np.full(cap, -np.inf)  # last update with the accelerating model >= thrust_seen_mu
        #: per infrared sensor, at its last scan: the lines of sight beyond the one a track updates with that lay
        #: in its gate (nearest it) and that no track used: plumes it cannot resolve (an unresolved group)
        self.extra_los = np.zeros((cap, self.sp.shape[0]), np.int64)
        self.extra_los_t = np.full((cap, self.sp.shape[0]), -np.inf)

    def _grow(self, need: int) -> None:
        cap = self.t.shape[0]
        if need <= cap:
            return
        new = max(need, 2 * cap)
        old = {
            k: getattr(self, k)
            for k in (
                "xm",
                "Pm",
                "Cm",
                "mu",
                "t",
                "state",
                "number",
                "hits",
                "scans",
                "origin",
                "last_hit_t",
                "first_t",
                "mask",
                "n_updates",
                "last_ir_t",
                "sensor_t",
                "fell",
                "thrust_t",
                "extra_los",
                "extra_los_t",
            )
        }
        self._alloc(new)
        for k, v in old.items():
            getattr(self, k)[:cap] = v

    @property
    def live(self) -> np.ndarray:
        return (self.state == TENTATIVE) | (self.state == CONFIRMED)

    def combined(self) -> tuple[np.ndarray, np.ndarray]:
        """Combined IMM estimate of every slot: x (cap, 10), P (cap, 10, 10)."""
        cap = self.t.shape[0]
        x = np.empty((cap, layout.NX))
        P = np.empty((cap, layout.NX, layout.NX))
        imm.imm_combine(self.xm, self.Pm, self.mu, x, P)
        return x, P

    # --- one scan ----------------------------------------------------------------------------------------

    def predict(self, t_s: float) -> None:
        self._keep_thrust_possible(t_s)
        imm.imm_predict_batch(
            self.xm,
            self.Pm,
            self.Cm,
            self.mu,
            self.t,
            self.live,
            float(t_s),
            self.q,
            self.q_jerk,
            self.cfg.q_theta_1_s,
            self.rates,
            self.params,
            self.atm,
        )

    def _keep_thrust_possible(self, t_s: float) -> None:
        """Before mixing: the accelerating model's probability of every live track seen thrusting within
        ``mu_accel_floor_s`` before ``t_s`` whose ballistic-model state ascends (radial velocity > 0) is at least
        ``mu_accel_floor`` (see TrackerConfig). Only tracks that :func:`imm.imm_predict_batch` mixes (time of
        validity before ``t_s``): a second scan at the same time leaves the probabilities of the last update. After
        mixing the floored model is a little under ``mu_accel_floor``, still above ``gate_model_probability``:
        its gate is in the union (:meth:`_gate`)."""
        floor = self.cfg.mu_accel_floor
        if floor <= 0.0:
            return
        xb = self.xm[:, 0]
        ascending = np.einsum("ij,ij->i", xb[:, :3], xb[:, 3:6]) > 0.0
        recent = t_s - self.thrust_t <= self.cfg.mu_accel_floor_s
        sel = self.live & (self.t < t_s) & recent & ascending & (self.mu[:, 1] < floor)
        if sel.any():
            self.mu[sel, 1] = floor
            self.mu[sel, 0] = 1.0 - floor

    def process_scan(self, sensor: int, t_s: float, zm: np.ndarray) -> np.ndarray:
        """Process one scan of sensor ``sensor`` at ``t_s``: zm (k, m) measurements in the sensor's
        measurement order. Returns, per measurement, the slot it updated or started (−1: none)."""
        sp = self.sp[sensor]
        m = int(sp[6])
        k = zm.shape[0]
        z = np.zeros((k, layout.MAX_Z))
        z[:, :m] = zm[:, :m]
        self.predict(t_s)
        live = self.live
        used = np.full(k, -1, np.int64)
        explained = np.zeros(k, np.bool_)
        if k and live.any():
            x, P = self.combined()
            C = np.empty_like(self.Cm[:, 0])
            imm.imm_combine_bias(self.Cm, self.mu, C)
            d2, cost = self._gate(x, P, C, live, z, sp, sensor, self.gates[m])
            explained = np.isfinite(d2[self.state == CONFIRMED]).any(axis=0)
            # confirmed tracks first, then tentative ones get what is left (no tentative track steals a
            # measurement from a confirmed one)
            for tier in (CONFIRMED, TENTATIVE):
                rows = np.flatnonzero((self.state == tier) & np.isfinite(d2).any(axis=1))
                free_cols = np.flatnonzero(used < 0)
                if not rows.size or not free_cols.size:
                    continue
                sub = cost[np.ix_(rows, free_cols)]
                cols_any = np.flatnonzero(np.isfinite(sub).any(axis=0))
                if not cols_any.size:
                    continue
                sub = sub[:, cols_any]
                big = 1e9
                r, c = linear_sum_assignment(np.where(np.isfinite(sub), sub, big))
                ok = sub[r, c] < big
                slots = rows[r[ok]]
                meas = free_cols[cols_any[c[ok]]]
                if slots.size:
                    imm.imm_update_batch(self.xm, self.Pm, self.Cm, self.mu, slots, z[meas], sp, sensor)
                    self.thrust_t[slots[self.mu[slots, 1] >= self.cfg.thrust_seen_mu]] = t_s
                    if tier == TENTATIVE:
                        self.hits[slots] += 1
                    self.last_hit_t[slots] = t_s
                    self.mask[slots] |= 1 << sensor
                    self.sensor_t[slots, sensor] = t_s
                    self.n_updates[slots] += 1
                    if sp[0] == layout.KIND_IR:
                        self.last_ir_t[slots] = t_s
                    used[meas] = slots
        if sp[0] == layout.KIND_IR and k and live.any():
            self._count_extra_los(sensor, t_s, d2, used, explained)
        # M-of-N over the scans of the originating sensor
        tent = np.flatnonzero((self.state == TENTATIVE) & (self.origin == sensor) & (self.first_t < t_s))
        if tent.size:
            self.scans[tent] += 1
            ok = self.hits[tent] >= self.cfg.m_confirm
            for s in tent[ok]:  # in slot order: deterministic numbering
                self.state[s] = CONFIRMED
                self.number[s] = self.next_number
                self.next_number += 1
            drop = tent[~ok & (self.scans[tent] + 1 >= self.cfg.n_confirm)]
            self.state[drop] = FREE
        # initiation from the radar measurements left over, or from two satellites' lines of sight
        new = np.flatnonzero(used < 0)
        if new.size and sp[0] == layout.KIND_RADAR:
            used[new] = self._initiate(sensor, t_s, z[new], sp)
        elif sp[0] == layout.KIND_IR and self.cfg.ir_initiation:
            self._los = [e for e in self._los if t_s - e[1] <= self.cfg.ir_pair_max_dt_s]
            if new.size:
                used[new] = self._triangulate(sensor, t_s, zm[new, :2], explained[new])
        return used

    def _gate(
        self,
        x: np.ndarray,
        P: np.ndarray,
        C: np.ndarray,
        live: np.ndarray,
        z: np.ndarray,
        sp: np.ndarray,
        sensor: int,
        d2_max: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """NIS of every (track, measurement) pair, +inf outside the gate (:func:`ekf.gate_batch`), and the
        assignment cost of each pair, NIS + ln det S (the negative log-likelihood up to a constant of the
        sensor; +inf outside the gate). The gate of a track is the union of the gates of its combined estimate
        and of each IMM model whose probability is at least ``gate_model_probability``, the NIS and the cost
        the least of them. The models' costs are not weighted by their probabilities (− ln μ_j, the mixture's
        largest term): at a burnout the barely probable ballistic model is the one that predicts the radar's
        reports, and weighted so, the families' raids lost completeness and spuriousness (docs/quality.md,
        "Session 17"). The combined
        estimate alone is a moment-matched Gaussian dominated by the likelier model: at burnout the boost
        model (μ ≈ 0.98) still predicts the last thrust acceleration, and a radar's reports, which the
        ballistic model predicts within its gate, fall outside the combined one (NIS 55-330 against a gate
        of 20 on the Hwasong-17 at T+268 s): the track coasts on with thrust, runs ahead of the missile and
        a second track starts on it. With the union the reports update the track and the IMM's likelihoods
        move it to the ballistic model (Bar-Shalom, Li & Kirubarajan 2001, §11.7: the validation region of
        an IMM is the union of the model-conditioned ones).

        Why the cost is not the NIS alone: a track that coasted for seconds has a wide S, so every measurement in
        its wide gate has a small NIS, and with the NIS as cost it outbid the tight track of the measurement's
        own object. In a ripple-fired train (raid seed 17, US tracker at T+144 s) a track updated once every
        10 s took each time a report of the next missile that the next missile's own track (updated 0.5 s
        before) also gated, and walked down the train. The likelihood N(ν; 0, S) weighs the NIS against the
        spread: ln det S of the coasted track is the larger by ln of its volume ratio (Blackman & Popoli 1999,
        §6.2: the generalised statistical distance d² + ln|S| as GNN cost)."""
        logdet = np.empty(x.shape[0])

        def nll(d2: np.ndarray) -> np.ndarray:  # NIS + ln det S inside the gate (logdet: NaN outside it)
            return np.where(np.isfinite(d2), d2 + logdet[:, None], np.inf)

        d2 = ekf.gate_batch(x, P, C, live, z, sp, sensor, d2_max, logdet)
        cost = nll(d2)
        for j in range(2):
            use = live & (self.mu[:, j] >= self.cfg.gate_model_probability)
            if not use.any():
                continue
            d2j = ekf.gate_batch(
                np.ascontiguousarray(self.xm[:, j]),
                np.ascontiguousarray(self.Pm[:, j]),
                np.ascontiguousarray(self.Cm[:, j]),
                use,
                z,
                sp,
                sensor,
                d2_max,
                logdet,
            )
            np.minimum(cost, nll(d2j), out=cost)
            np.minimum(d2, d2j, out=d2)
        return d2, cost

    def _count_extra_los(
        self, sensor: int, t_s: float, d2: np.ndarray, used: np.ndarray, explained: np.ndarray
    ) -> None:
        """After an infrared scan's association: per confirmed track, how many of the scan's lines of sight that
        no track used lie in its gate nearer it than any other track's (``d2`` (cap, k) NIS, inf outside the
        gates; ``used`` (k,) the slot each measurement updated, -1 none; ``explained`` (k,) in some confirmed
        track's gate): the plumes beyond the one it updates with, which it cannot resolve."""
        conf = np.flatnonzero(self.state == CONFIRMED)
        if not conf.size:
            return
        counts = np.zeros(conf.size, np.int64)
        left = np.flatnonzero((used < 0) & explained)
        if left.size:
            nearest = np.argmin(d2[np.ix_(conf, left)], axis=0)
            np.add.at(counts, nearest, 1)
        self.extra_los[conf, sensor] = counts
        self.extra_los_t[conf, sensor] = t_s

    def objects(self, slots: np.ndarray, t_now_s: float) -> np.ndarray:
        """(n,) int64: how many objects each track of ``slots`` may stand for: 1 plus the most lines of sight
        beyond its own that one infrared sensor saw in its gate, unused, in its last scan within
        ``ir_depth_timeout_s`` of ``t_now_s`` (:meth:`_count_extra_los`); 1 for a track no infrared sensor
        sees."""
        if not slots.size or not self._ir.size:
            return np.ones(slots.size, np.int64)
        recent = t_now_s - self.extra_los_t[np.ix_(slots, self._ir)] <= self.cfg.ir_depth_timeout_s
        extra = np.where(recent, self.extra_los[np.ix_(slots, self._ir)], 0)
        return 1 + extra.max(axis=1)

    def _triangulate(self, sensor: int, t_s: float, z: np.ndarray, explained: np.ndarray) -> np.ndarray:
        """Start tentative tracks where a line of sight of ``sensor`` and a waiting one of another satellite
        cross (:func:`triangulation.los_crossings`); only pairs that are each other's unique candidate (a salvo
        seen by two satellites has ghost crossings), and not where both lines of sight lie in the gates of
        confirmed tracks (``explained``): that crossing is where the ray of one known object meets the ray of
        another, the ghost of two objects already tracked. Lines of sight left over wait for a partner."""
        cfg = self.cfg
        out = np.full(z.shape[0], -1, np.int64)
        free = np.ones(z.shape[0], np.bool_)
        for e, (other, t_o, z_o, expl_o) in enumerate(self._los):
            if other == sensor or not z_o.shape[0] or not free.any():
                continue
            rows = np.flatnonzero(free)
            gate_extra = cfg.ir_max_speed_m_s * abs(t_s - t_o)
            mid, ok = triangulation.los_crossings(
                z[rows], self.sp[sensor], z_o, self.sp[other], gate_extra, 3.0, cfg.ir_max_height_m
            )
            unique = ok & (ok.sum(axis=1, keepdims=True) == 1) & (ok.sum(axis=0, keepdims=True) == 1)
            unique &= ~(explained[rows][:, None] & expl_o[None, :])
            ia, ib = np.nonzero(unique)
            if not ia.size:
                continue
            x0 = np.zeros((ia.size, layout.NX))
            x0[:, :3] = mid[ia, ib]
            x0[:, 6] = math.log(cfg.beta_init_kg_m2)
            P0 = np.zeros((ia.size, layout.NX, layout.NX))
            C0 = np.zeros((ia.size, 2, layout.NX, layout.MAX_Z))
            for a in range(3):
                P0[:, a, a] = cfg.ir_sigma_pos_init_m**2
                P0[:, 3 + a, 3 + a] = cfg.sigma_v_init_m_s**2
                P0[:, 7 + a, 7 + a] = cfg.sigma_a_init_m_s2**2
            P0[:, 6, 6] = cfg.sigma_ln_beta_init**2
            if cfg.ir_weighted_triangulation:
                motion = (cfg.ir_init_speed_sigma_m_s * abs(t_s - t_o)) ** 2 * np.eye(3)
                for n, (i, j) in enumerate(zip(ia.tolist(), ib.tolist(), strict=True)):
                    X, Ptri, C0[n] = self._triangulate_pair(z[rows[i]], sensor, z_o[j], other)
                    x0[n, :3] = X
                    P0[n, :3, :3] = Ptri + motion
            slots = self._start(sensor, t_s, x0, P0, cfg.ir_mu_boost_init)
            if cfg.ir_weighted_triangulation:
                self.Cm[slots, :, sensor] = C0[:, None, 0]
                self.Cm[slots, :, other] = C0[:, None, 1]
            self.hits[slots] = 2  # two sensors saw it
            self.last_ir_t[slots] = t_s
            self.mask[slots] |= 1 << other
            self.sensor_t[slots, other] = t_o
            out[rows[ia]] = slots
            free[rows[ia]] = False
            keep = np.ones(z_o.shape[0], np.bool_)
            keep[ib] = False
            self._los[e] = (other, t_o, z_o[keep], expl_o[keep])
        if free.any():
            self._los.append((sensor, t_s, z[free].copy(), explained[free].copy()))
        return out

    def _triangulate_pair(
        self, za: np.ndarray, a: int, zb: np.ndarray, b: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted triangulation of the lines of sight za of sensor a and zb of sensor b
        (:func:`triangulation.triangulate_los`): point X (3,), covariance (3, 3), and the cross-covariances of its
        error with the two sensors' registration biases (2, NX, MAX_Z): −J B, J = ∂X/∂angles by central
        differences."""
        spa, spb = self.sp[a], self.sp[b]
        X, P, _ = triangulation.triangulate_los(za, spa, zb, spb)
        C = np.zeros((2, layout.NX, layout.MAX_Z))
        h = 1e-6
        for k, (zz, sp) in enumerate(((za, spa), (zb, spb))):
            vb = sp[layout.I_BIAS] ** 2
            if vb == 0.0:
                continue
            for c in range(2):
                zp, zn = zz.copy(), zz.copy()
                zp[c] += h
                zn[c] -= h
                if k == 0:
                    Xp, Xn = (
                        triangulation.triangulate_los(zp, spa, zb, spb)[0],
                        triangulation.triangulate_los(zn, spa, zb, spb)[0],
                    )
                else:
                    Xp, Xn = (
                        triangulation.triangulate_los(za, spa, zp, spb)[0],
                        triangulation.triangulate_los(za, spa, zn, spb)[0],
                    )
                C[k, :3, c] = -(Xp - Xn) / (2 * h) * vb
        return X, P, C

    def _initiate(self, sensor: int, t_s: float, z: np.ndarray, sp: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        x0, P0, C0 = ekf.init_from_radar(
            z, sp, math.log(cfg.beta_init_kg_m2), cfg.sigma_v_init_m_s, cfg.sigma_ln_beta_init, cfg.sigma_a_init_m_s2
        )
        slots = self._start(sensor, t_s, x0, P0, cfg.mu_boost_init)
        self.Cm[slots, :, sensor] = C0[:, None]
        return slots

    def _start(self, sensor: int, t_s: float, x0: np.ndarray, P0: np.ndarray, mu_boost: float) -> np.ndarray:
        """Tentative tracks in free slots from initial states x0 (k, NX) and covariances P0 (k, NX, NX)."""
        free = np.flatnonzero(self.state == FREE)
        n = x0.shape[0]
        if free.size < n:
            start = self.t.shape[0]
            self._grow(start + n - free.size)
            free = np.concatenate([free, np.arange(start, start + n - free.size)])
        slots = free[:n]
        self.xm[slots, 0] = x0
        self.xm[slots, 1] = x0
        self.Pm[slots, 0] = P0
        self.Pm[slots, 1] = P0
        self.xm[slots, 0, layout.I_ACC :] = 0.0  # the ballistic model has no thrust
        self.Pm[slots, 0, layout.I_ACC :, :] = 0.0
        self.Pm[slots, 0, :, layout.I_ACC :] = 0.0
        self.Cm[slots] = 0.0
        self.mu[slots, 0] = 1.0 - mu_boost
        self.mu[slots, 1] = mu_boost
        self.t[slots] = t_s
        self.state[slots] = TENTATIVE
        self.number[slots] = 0
        self.hits[slots] = 1
        self.scans[slots] = 0
        self.origin[slots] = sensor
        self.last_hit_t[slots] = t_s
        self.first_t[slots] = t_s
        self.mask[slots] = 1 << sensor
        self.n_updates[slots] = 1
        self.last_ir_t[slots] = -np.inf
        self.sensor_t[slots] = -np.inf
        self.sensor_t[slots, sensor] = t_s
        self.fell[slots] = False
        self.thrust_t[slots] = t_s if mu_boost >= self.cfg.thrust_seen_mu else -np.inf  # infrared: thrusting
        self.extra_los[slots] = 0
        self.extra_los_t[slots] = -np.inf
        return slots

    # --- maintenance and reports -------------------------------------------------------------------------

    def _duplicates(self, xs: np.ndarray, Ps: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        """(n,) bool: the younger track (higher number) of every pair of confirmed tracks that are the same
        object: positions within ``merge_distance_m`` and the 6-D difference inside the χ² gate
        (Δᵀ(Pa + Pb)⁻¹Δ ≤ χ²₆(merge_probability)). Two objects of a salvo are kilometres apart."""
        n = xs.shape[0]
        dup = np.zeros(n, np.bool_)
        if n < 2:
            return dup
        d = np.linalg.norm(xs[:, None, :3] - xs[None, :, :3], axis=2)
        ia, ib = np.nonzero(np.triu(d < self.cfg.merge_distance_m, 1))
        for a, b in zip(ia.tolist(), ib.tolist(), strict=True):
            diff = xs[a, :6] - xs[b, :6]
            S = Ps[a, :6, :6] + Ps[b, :6, :6]
            try:
                d2 = float(diff @ np.linalg.solve(S, diff))
            except np.linalg.LinAlgError:
                continue
            if d2 <= self.merge_gate:
                dup[b if numbers[b] > numbers[a] else a] = True
        return dup

    def _lost_depth(self, conf: np.ndarray, t_now_s: float) -> np.ndarray:
        """(n,) bool: confirmed tracks that only infrared sensors ever updated and that exactly one satellite
        updated in the last ``ir_depth_timeout_s``: one line of sight fixes a direction, not a point, so such
        a track no longer has a position along it. In a dense salvo this is how a ghost (one object's ray
        from one satellite, crossing another object's ray from the other) shows itself: once the objects'
        rays part, only one satellite's reports still fit it. (When no satellite sees a track any more, at
        burnout, it coasts as any other track until a radar finds it or it is deleted.)"""
        out = np.zeros(conf.size, np.bool_)
        if self._ir.size < 2 or not conf.size:
            return out
        ir_only = (self.mask[conf] & self._radar_bits) == 0
        recent = (t_now_s - self.sensor_t[np.ix_(conf, self._ir)] <= self.cfg.ir_depth_timeout_s).sum(axis=1)
        return ir_only & (recent == 1)

    def _drop_diverged(self, x: np.ndarray, P: np.ndarray, t_now_s: float) -> None:
        """Free the slots of live tracks that :func:`diverged` (combined estimate x, P of every slot, or any
        IMM model's state not finite; ages at ``t_now_s``), unreported, and count them per reason."""
        live = np.flatnonzero(self.live)
        if not live.size:
            return
        why = diverged(x[live], P[live], self.cfg, t_now_s - self.first_t[live])
        models_finite = np.isfinite(self.xm[live].reshape(live.size, -1)).all(axis=1)
        why[(why == 0) & ~models_finite] = 1
        bad = why > 0
        if not bad.any():
            return
        for code in why[bad].tolist():
            self.diverged[DIVERGED_REASONS[code - 1]] += 1
        self.state[live[bad]] = FREE

    def report(self, t_now_s: float) -> TrackFile:
        """Apply the deletion rules at ``t_now_s`` and return the reportable tracks; tracks deleted now are
        included once with status DELETED, and their slots are freed."""
        cfg = self.cfg
        x, P = self.combined()
        self._drop_diverged(x, P, t_now_s)
        conf = np.flatnonzero(self.state == CONFIRMED)
        xs, Ps = x[conf], P[conf]
        lla = ecef_to_geodetic_batch(np.ascontiguousarray(xs[:, :3])) if conf.size else np.zeros((0, 3))
        pos_sigma = np.sqrt(np.clip(np.trace(Ps[:, :3, :3], axis1=1, axis2=2), 0.0, None))
        age = t_now_s - self.last_hit_t[conf]
        up = xs[:, :3] / np.linalg.norm(xs[:, :3], axis=1, keepdims=True) if conf.size else np.zeros((0, 3))
        v_up = np.einsum("ij,ij->i", up, xs[:, 3:6])
        sig_v_up = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", up, Ps[:, 3:6, 3:6], up), 0.0))
        # impacted: descending and below the ground by more than its uncertainty (not a fresh launch track)
        impacted = (v_up < 0.0) & (lla[:, 2] < -1000.0 - 3.0 * pos_sigma)
        # ... or below the ground and no longer seen (the drag model's uncertainty near the ground is large)
        impacted |= (v_up < 0.0) & (lla[:, 2] < 0.0) & (age > cfg.coast_after_s)
        gone = (age > cfg.delete_after_s) | (pos_sigma > cfg.max_pos_sigma_m) | impacted
        gone |= self._duplicates(xs, Ps, self.number[conf])
        gone |= self._lost_depth(conf, t_now_s)
        status = np.where(gone, Status.DELETED, np.where(age > cfg.coast_after_s, Status.COASTING, Status.CONFIRMED))
        # phase: boost while an infrared sensor sees the plume, or while the boost model dominates and the
        # track is not clearly falling; terminal when descending below terminal_height_m; midcourse otherwise
        # (a track once clearly falling is not boosting again: there the accelerating model is a manoeuvre)
        falling = v_up < -2.0 * sig_v_up
        self.fell[conf] |= falling
        boost = (self.mu[conf, 1] > 0.5) & ~falling & ~self.fell[conf]
        boost |= t_now_s - self.last_ir_t[conf] <= cfg.ir_boost_memory_s
        terminal = ~boost & (v_up < 0.0) & (lla[:, 2] < cfg.terminal_height_m)
        phase = np.where(boost, Phase.BOOST, np.where(terminal, Phase.TERMINAL, Phase.MIDCOURSE))
        # quality: 1 when fresh and tight, falling with staleness and position uncertainty
        quality = np.clip(np.exp(-np.maximum(age, 0.0) / 10.0) / (1.0 + pos_sigma / 1000.0), 0.0, 1.0)
        # β is reported only when drag made it observable (σ(ln β) below 0.5)
        sig_theta = np.sqrt(np.maximum(Ps[:, 6, 6], 0.0))
        beta = np.where(sig_theta < 0.5, np.exp(xs[:, 6]), 0.0)
        out = TrackFile(
            track_numbers=self.number[conf].copy(),
            t_s=self.t[conf].copy(),
            x=np.ascontiguousarray(xs[:, :6]),
            P=np.ascontiguousarray(Ps[:, :6, :6]),
            phase=phase.astype(np.int64),
            status=status.astype(np.int64),
            quality=quality,
            beta_kg_m2=beta,
            sensor_mask=self.mask[conf].copy(),
            slot=conf,
            last_hit_s=self.last_hit_t[conf].copy(),
            objects=self.objects(conf, t_now_s),
        )
        self.state[conf[gone]] = FREE
        # tentative tracks that lost their sensor's scans are dropped by M-of-N; stale ones here
        stale = np.flatnonzero((self.state == TENTATIVE) & (t_now_s - self.last_hit_t > cfg.delete_after_s))
        self.state[stale] = FREE
        return out
