"""Stored tracks predicted by the ballistic model (:mod:`.align`) for the fusion engine: to one time, as
member groups aligned to each group's newest time, and widened by the manoeuvre allowance.

Times are int64 nanoseconds; differences are taken in integer nanoseconds and only then turned into float
seconds. Each prediction's kernel time is added to ``timings_s["align"]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from triwarn.core.fusion.align import drag_context, predict_many
from triwarn.core.fusion.config import FusionConfig
from triwarn.core.fusion.store import TrackStore, group_starts, in_slots, sorted_slots
from triwarn.core.tracks import FloatArray, IntArray

NS = 1e-9  # seconds per nanosecond


@dataclass(frozen=True)
class MemberGroups:
    """Members of some system tracks, grouped by system track and aligned to each group's newest time."""

    requested: IntArray  # the system track slots asked for
    sel: IntArray  # (m,) local track slots, grouped by system track
    slots: IntArray  # (g,) system track slots that have members, ascending
    offsets: IntArray  # (g + 1,) group g is sel[offsets[g]:offsets[g + 1]]
    t_f: IntArray  # (g,) each group's newest member time, ns
    x: FloatArray  # (m, 6) members' states aligned to their group's t_f
    P: FloatArray  # (m, 6, 6)
    size_of_member: IntArray  # (m,) size of each member's group


class Predictor:
    """The ballistic prediction of ``config.model`` with the white-noise acceleration of each flight phase
    (``config.q_by_phase_m2_s3``); kernel time is added to ``timings_s["align"]``."""

    def __init__(self, config: FusionConfig, timings_s: dict[str, float]) -> None:
        self.config = config
        self.timings_s = timings_s
        self._q = np.asarray(config.q_by_phase_m2_s3, dtype=np.float64)
        self._drag = drag_context(config.model)

    def predict(
        self, x: FloatArray, P: FloatArray, dt_s: FloatArray, phase: IntArray, beta: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """States ``x`` (k, 6), ``P`` (k, 6, 6) predicted by ``dt_s`` (k,) seconds; ``phase`` (k,) picks the
        process noise, ``beta`` (k,) is the ballistic coefficient, kg/m² (0: no drag)."""
        m = self.config.model
        x_out = np.empty_like(x)
        P_out = np.empty_like(P)
        t_k = time.perf_counter()
        predict_many(
            np.ascontiguousarray(x),
            np.ascontiguousarray(P),
            np.ascontiguousarray(dt_s, dtype=np.float64),
            np.ascontiguousarray(self._q[phase]),
            np.ascontiguousarray(beta, dtype=np.float64),
            m.gm_m3_s2,
            m.re_m,
            m.j2,
            m.omega_rad_s,
            m.max_step_s,
            m.max_substeps,
            self._drag,
            x_out,
            P_out,
        )
        self.timings_s["align"] += time.perf_counter() - t_k
        return x_out, P_out

    def systems(self, store: TrackStore, slots: IntArray, time_ns: int) -> tuple[FloatArray, FloatArray]:
        """System tracks ``slots`` predicted to ``time_ns``."""
        st = store.st
        dt = (time_ns - st.t_ns[slots]).astype(np.float64) * NS
        return self.predict(st.x[slots], st.P[slots], dt, st.phase[slots], st.beta[slots])

    def groups(self, store: TrackStore, sys_slots: set[int]) -> MemberGroups:
        """Members of the system tracks ``sys_slots``, grouped, each aligned to its group's newest time."""
        lt = store.lt
        n = store.lt_n
        sys_arr = sorted_slots(sys_slots)
        sel = np.nonzero(lt.alive[:n] & in_slots(lt.sys[:n], sys_arr, store.st_n))[0]
        sel = sel[np.argsort(lt.sys[sel], kind="stable")]
        slots, starts = group_starts(lt.sys[sel])
        offsets = np.append(starts, sel.size).astype(np.int64)
        counts = np.diff(offsets)
        if sel.size:
            t_f = np.maximum.reduceat(lt.t_ns[sel], starts)
            dt = (np.repeat(t_f, counts) - lt.t_ns[sel]).astype(np.float64) * NS
            x, P = self.predict(lt.x[sel], lt.P[sel], dt, lt.phase[sel], lt.beta[sel])
        else:
            t_f = np.empty(0, dtype=np.int64)
            x, P = np.empty((0, 6)), np.empty((0, 6, 6))
        return MemberGroups(sys_arr, sel, slots, offsets, t_f, x, P, np.repeat(counts, counts))

    def widened(self, store: TrackStore, slots: IntArray, t_c: int) -> tuple[FloatArray, FloatArray]:
        """System tracks ``slots`` predicted to ``t_c``, their covariance widened by the manoeuvre allowance
        over ``duplicate_manoeuvre_s`` plus the time since a sensor last updated them (:func:`widen`)."""
        cfg = self.config
        x, P = self.systems(store, slots, t_c)
        widen(cfg, P, cfg.duplicate_manoeuvre_s + np.maximum(t_c - store.st.fresh_ns[slots], 0).astype(np.float64) * NS)
        return x, P


def widen(config: FusionConfig, P: FloatArray, tau: FloatArray) -> None:
    """The manoeuvre allowance, added to covariances ``P`` (k, 6, 6) in place: an unknown acceleration
    (1-sigma ``config.duplicate_accel_m_s2`` per axis) over ``tau`` (k,) seconds, dr = a tau²/2, dv = a tau,
    added uncorrelated (wider than the rank-one constant-acceleration form: the acceleration varies)."""
    s2 = config.duplicate_accel_m_s2**2
    eye = np.eye(3)[None, :, :]
    P[:, 0:3, 0:3] += eye * (s2 * tau**4 / 4.0)[:, None, None]
    P[:, 3:6, 3:6] += eye * (s2 * tau**2)[:, None, None]


def reach_bound(
    config: FusionConfig, store: TrackStore, slots: IntArray, t_c: int, extra_var_m2: FloatArray | float = 0.0
) -> FloatArray:
    """A coarse bound on how far from its stored position system track ``slots`` can be gated at ``t_c``
    (to pick candidate pairs before predicting): the gate's reach on its position variance (plus
    ``extra_var_m2``), the distance flown since its time at up to 10 m/s² more, and 1 km for the process
    noise of the prediction."""
    st = store.st
    dt = np.abs(t_c - st.t_ns[slots]).astype(np.float64) * NS
    rho = np.sqrt(config.gate_chi2 * (st.P[slots, 0, 0] + st.P[slots, 1, 1] + st.P[slots, 2, 2] + extra_var_m2))
    return rho + dt * (np.linalg.norm(st.x[slots, 3:], axis=1) + 10.0 * dt) + 1000.0


@dataclass(frozen=True)
class EngineStep:
    """What every step of the engine (:mod:`.membership`, :mod:`.lifecycle`) works on: the tuning ``cfg``, the
    slot ``store``, the predictions ``pred`` and the stage timers ``timings_s`` (seconds per stage, added to)."""

    cfg: FusionConfig
    store: TrackStore
    pred: Predictor
    timings_s: dict[str, float]
