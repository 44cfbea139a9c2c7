"""Launch point and launch time estimation (LPE) by back-propagation through a gravity-turn boost model.

Model (textbook gravity turn, e.g. Wiesel, "Spaceflight Dynamics", ch. 7): in boost the thrust acceleration
``a_T`` acts along the velocity, so the path bends from the vertical under gravity alone; run backwards in
time, the speed falls and the path turns back to the vertical, ending at rest on the pad. Given one track
state (ECEF ``x``), we integrate backwards (RK4, step ``ds``) the rotating-Earth equations

    dr/ds = −v,   dv/ds = −(g_J2(r) − 2ω×v − ω×(ω×r)) − a_T v/|v|

first coasting (``a_T = 0``) while the height is above ``h_coast_m`` (a state seen after burnout: back to
the burnout height), then with a constant ``a_T`` found by bisection so that the speed reaches zero exactly at
the ground (height 0). The end point is the launch point; the elapsed backward time gives the launch time.
A constant thrust acceleration is the model's simplification (a real stack accelerates harder as it burns):
its error grows with the distance flown in boost, so the earliest boost-phase state gives the best estimate.

Measured on the trajectory core's missile classes (tests/core/assessment/test_launch.py): from a state in the
first 40 s of boost the launch point is within ~6 km and the launch time within a few seconds; from mid-boost
within ~5 km; late in a multi-stage boost the one-stage model degrades (tens of km, minutes): the caller
should keep the earliest estimate.

The uncertainty comes from sigma points of the state (2·6 + 1, κ = 1) each run through the same model, plus
a model error of ``model_frac`` of the boost ground distance (assumption: not a published figure); the
launch time's 1-σ likewise gets ``time_frac`` of the time flown back (assumption), so that of several
estimates of one track the tightest is one made close to the launch *or* from a better state (a fused
radar track rather than a first infrared one, whose velocity lags the accelerating missile by 100-300 m/s,
which alone put launch times 5-20 s early).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from triwarn.core.assessment.impact import CHI2_2DOF_95, cholesky_lower, ellipse_from_cov
from triwarn.core.jit import kernel
from triwarn.core.trajectory.constants import G0_M_S2, GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import ecef_to_enu, ecef_to_geodetic, geodetic_to_ecef
from triwarn.core.trajectory.gravity import accel_j2_ecef_rotating

#: speed (m/s) at which the backward integration counts as "at rest on the pad"
V_REST_M_S = 20.0


@kernel
def _back_deriv(y: np.ndarray, a_t: float, earth: np.ndarray, dy: np.ndarray) -> None:
    gx, gy, gz = accel_j2_ecef_rotating(y[0], y[1], y[2], y[3], y[4], y[5], earth[0], earth[1], earth[2], earth[3])
    v = math.sqrt(y[3] * y[3] + y[4] * y[4] + y[5] * y[5])
    k = a_t / v if v > 0.0 else 0.0
    dy[0] = -y[3]
    dy[1] = -y[4]
    dy[2] = -y[5]
    dy[3] = -(gx + k * y[3])
    dy[4] = -(gy + k * y[4])
    dy[5] = -(gz + k * y[5])


@kernel
def back_integrate(
    x0: np.ndarray,
    a_t: float,
    ve_m_s: float,
    h_coast_m: float,
    earth: np.ndarray,
    ds_s: float,
    s_max_s: float,
    out: np.ndarray,
) -> float:
    """Integrate one state backwards (see module docstring). Writes the end state into ``out`` (6,) and returns
    the miss: the speed (m/s, > 0) when the ground is reached still moving, or minus the height (m, < 0) when
    the speed fell to rest above the ground. ``out`` also gets the backward elapsed time in out[6]."""
    y = np.empty(6)
    k1 = np.empty(6)
    k2 = np.empty(6)
    k3 = np.empty(6)
    k4 = np.empty(6)
    yt = np.empty(6)
    for i in range(6):
        y[i] = x0[i]
    s = 0.0
    coasting = h_coast_m > 0.0 and ecef_to_geodetic(y[0], y[1], y[2])[2] > h_coast_m
    s_thrust = 0.0  # backward time under thrust
    while s < s_max_s:
        # thrust acceleration a_T / (1 + s a_T / v_e): the mass grows backwards at the rate T / v_e
        a = 0.0 if coasting else (a_t / (1.0 + s_thrust * a_t / ve_m_s) if ve_m_s > 0.0 else a_t)
        # the speed may fall by at most a quarter per step (RK4 stays accurate down to the rest speed)
        v_old = math.sqrt(y[3] * y[3] + y[4] * y[4] + y[5] * y[5])
        ds = min(ds_s, 0.25 * v_old / (a + 10.0)) if a > 0.0 else ds_s
        _back_deriv(y, a, earth, k1)
        for i in range(6):
            yt[i] = y[i] + 0.5 * ds * k1[i]
        _back_deriv(yt, a, earth, k2)
        for i in range(6):
            yt[i] = y[i] + 0.5 * ds * k2[i]
        _back_deriv(yt, a, earth, k3)
        for i in range(6):
            yt[i] = y[i] + ds * k3[i]
        _back_deriv(yt, a, earth, k4)
        for i in range(6):
            yt[i] = y[i] + ds / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
        h_new = ecef_to_geodetic(yt[0], yt[1], yt[2])[2]
        v_new = math.sqrt(yt[3] * yt[3] + yt[4] * yt[4] + yt[5] * yt[5])
        if coasting and h_new <= h_coast_m:
            coasting = False
        if h_new <= 0.0:
            # interpolate to the ground crossing
            h_old = ecef_to_geodetic(y[0], y[1], y[2])[2]
            f = h_old / (h_old - h_new) if h_old > h_new else 1.0
            for i in range(6):
                out[i] = y[i] + f * (yt[i] - y[i])
            out[6] = s + f * ds
            return math.sqrt(out[3] * out[3] + out[4] * out[4] + out[5] * out[5])
        turned = yt[3] * y[3] + yt[4] * y[4] + yt[5] * y[5] <= 0.0  # the thrust reversed the velocity in one step
        if not coasting and (v_new <= V_REST_M_S or turned):
            for i in range(6):
                out[i] = yt[i]
            out[6] = s + ds
            return -h_new
        for i in range(6):
            y[i] = yt[i]
        s += ds
        if a > 0.0:
            s_thrust += ds
    for i in range(6):
        out[i] = y[i]
    out[6] = s
    return math.nan


@kernel
def solve_launch(
    x0: np.ndarray,
    ve_m_s: float,
    h_coast_m: float,
    earth: np.ndarray,
    ds_s: float,
    s_max_s: float,
    a_max: float,
    iters: int,
) -> np.ndarray:
    """Bisection on the constant thrust acceleration: returns [x, y, z of the launch point (m), backward time
    (s), a_T (m/s²), miss] (6,); NaN when no thrust level in (0, a_max] brings the state to rest at the ground."""
    res = np.full(6, np.nan)
    out = np.empty(7)
    # coast back to the burnout height once (it does not depend on the thrust level)
    x_b = x0.copy()
    s_coast = 0.0
    if h_coast_m > 0.0 and ecef_to_geodetic(x0[0], x0[1], x0[2])[2] > h_coast_m:
        coast = _coast_to(x0, h_coast_m, earth, 5.0 * ds_s, s_max_s, out)  # smooth coast: 5x the step
        if not coast:
            return res
        for i in range(6):
            x_b[i] = out[i]
        s_coast = out[6]
    lo = 0.0
    hi = a_max
    f_hi = back_integrate(x_b, hi, ve_m_s, 0.0, earth, ds_s, s_max_s, out)
    if not (f_hi < 0.0) and ve_m_s > 0.0:
        # one stage of this exhaust speed cannot give the state's speed (a fast multi-stage missile):
        # fall back to a constant thrust acceleration
        ve_m_s = 0.0
        f_hi = back_integrate(x_b, hi, ve_m_s, 0.0, earth, ds_s, s_max_s, out)
    if not (f_hi < 0.0):
        return res
    f_lo = back_integrate(x_b, 1e-3, ve_m_s, 0.0, earth, ds_s, s_max_s, out)
    if not (f_lo > 0.0):
        return res
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        f = back_integrate(x_b, mid, ve_m_s, 0.0, earth, ds_s, s_max_s, out)
        if f > 0.0:
            lo = mid
        else:
            hi = mid
    a = 0.5 * (lo + hi)
    miss = back_integrate(x_b, a, ve_m_s, 0.0, earth, ds_s, s_max_s, out)
    res[0] = out[0]
    res[1] = out[1]
    res[2] = out[2]
    res[3] = out[6] + s_coast
    res[4] = a
    res[5] = miss
    return res


@kernel
def _coast_to(x0: np.ndarray, h_stop_m: float, earth: np.ndarray, ds_s: float, s_max_s: float, out: np.ndarray) -> bool:
    """Coast backwards (no thrust) from x0 until the height falls to h_stop_m; end state and time in ``out``."""
    y = x0.copy()
    yt = np.empty(6)
    k1 = np.empty(6)
    k2 = np.empty(6)
    k3 = np.empty(6)
    k4 = np.empty(6)
    s = 0.0
    h = ecef_to_geodetic(y[0], y[1], y[2])[2]
    while s < s_max_s:
        _back_deriv(y, 0.0, earth, k1)
        for i in range(6):
            yt[i] = y[i] + 0.5 * ds_s * k1[i]
        _back_deriv(yt, 0.0, earth, k2)
        for i in range(6):
            yt[i] = y[i] + 0.5 * ds_s * k2[i]
        _back_deriv(yt, 0.0, earth, k3)
        for i in range(6):
            yt[i] = y[i] + ds_s * k3[i]
        _back_deriv(yt, 0.0, earth, k4)
        for i in range(6):
            yt[i] = y[i] + ds_s / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
        h_new = ecef_to_geodetic(yt[0], yt[1], yt[2])[2]
        if h_new <= h_stop_m:
            f = (h - h_stop_m) / (h - h_new) if h > h_new else 1.0
            for i in range(6):
                out[i] = y[i] + f * (yt[i] - y[i])
            out[6] = s + f * ds_s
            return True
        for i in range(6):
            y[i] = yt[i]
        h = h_new
        s += ds_s
    return False


@kernel(parallel=True)
def launch_points_batch(
    x: np.ndarray,
    P: np.ndarray,
    h_coast_m: np.ndarray,
    ve_m_s: float,
    earth: np.ndarray,
    ds_s: float,
    s_max_s: float,
    a_max: float,
    iters: int,
    kappa: float,
) -> np.ndarray:
    """Launch solutions of the 13 sigma points (6-d, κ) of each of n states: (n, 13, 6), rows as
    :func:`solve_launch`; the first row is the mean state."""
    n = x.shape[0]
    ns = 13
    out = np.full((n * ns, 6), np.nan)
    c = math.sqrt(6.0 + kappa)
    for job in numba.prange(n * ns):
        k = job // ns
        s = job % ns
        Lc = np.empty((6, 6))
        Pk = np.empty((6, 6))
        for i in range(6):
            for j in range(6):
                Pk[i, j] = P[k, i, j]
        if not cholesky_lower(Pk, Lc):
            continue
        xs = np.empty(6)
        for i in range(6):
            xs[i] = x[k, i]
        if s > 0:
            a = (s - 1) % 6
            sign = 1.0 if s <= 6 else -1.0
            for i in range(6):
                xs[i] += sign * c * Lc[i, a]
        r = solve_launch(xs, ve_m_s, h_coast_m[k], earth, ds_s, s_max_s, a_max, iters)
        for i in range(6):
            out[job, i] = r[i]
    return out.reshape((n, ns, 6))


@dataclass(frozen=True)
class LaunchEstimate:
    """Launch point and time of one track. ``t_s`` is the launch time relative to the state's time (< 0)."""

    valid: bool
    lat_deg: float
    lon_deg: float
    t_s: float
    t_sigma_s: float
    cov_en_m2: np.ndarray  # (2, 2)
    semi_major_m: float  # 95% ellipse
    semi_minor_m: float
    orientation_deg: float
    thrust_accel_m_s2: float  # the model's constant a_T
    boost_ground_m: float  # ground distance from the launch point to the state's sub-point
    confidence: float = 0.95


def estimate_launch(
    x: np.ndarray,
    P: np.ndarray,
    h_coast_m: np.ndarray | float = 0.0,
    *,
    ds_s: float = 1.0,
    s_max_s: float = 3600.0,
    a_max_m_s2: float = 200.0,
    isp_s: float = 280.0,  # assumption: not a published figure (single-stage-equivalent specific impulse)
    iters: int = 18,
    kappa: float = 1.0,
    min_points: int = 10,
    model_frac: float = 0.3,  # assumption: not a published figure (model error, fraction of boost distance)
    time_frac: float = 0.1,  # assumption: not a published figure (model error, fraction of the boost time)
) -> list[LaunchEstimate]:
    """Launch estimates of n states (n, 6) ECEF with covariances (n, 6, 6).

    ``h_coast_m`` (n,) or scalar: coast back (no thrust) while above this height: 0 for a state in boost, the
    guessed burnout height for a state seen after burnout."""
    x = np.ascontiguousarray(np.atleast_2d(x), dtype=np.float64)
    n = x.shape[0]
    P = np.ascontiguousarray(np.reshape(P, (n, 6, 6)), dtype=np.float64)
    hc = np.ascontiguousarray(np.broadcast_to(np.asarray(h_coast_m, dtype=np.float64), (n,)))
    earth = np.array([GM_M3_S2, RE_J2_M, J2, OMEGA_E_RAD_S])
    sols = launch_points_batch(x, P, hc, isp_s * G0_M_S2, earth, ds_s, s_max_s, a_max_m_s2, iters, kappa)
    w0 = kappa / (6.0 + kappa)
    wi = 0.5 / (6.0 + kappa)
    w = np.full(13, wi)
    w[0] = w0
    out: list[LaunchEstimate] = []
    nan2 = np.full((2, 2), np.nan)
    for k in range(n):
        s = sols[k]
        ok = np.isfinite(s[:, :4]).all(axis=1)
        # the mean state and at least 10 of the 12 spread points must have a solution (a very uncertain
        # state, e.g. an infrared track's first velocity, can put a few points where no boost fits)
        if not ok[0] or ok[1:].sum() < min_points:
            out.append(LaunchEstimate(False, math.nan, math.nan, math.nan, math.nan, nan2, *(math.nan,) * 5))
            continue
        wk = np.where(ok, w, 0.0)
        wk /= wk.sum()
        sk = np.where(ok[:, None], s, 0.0)
        mean = wk @ sk[:, :3]
        la, lo, _ = ecef_to_geodetic(mean[0], mean[1], mean[2])
        en = np.array(
            [
                ecef_to_enu(p[0], p[1], p[2], la, lo, 0.0)[:2] if good else (0.0, 0.0)
                for p, good in zip(sk[:, :3], ok, strict=True)
            ]
        )
        cov = (wk[:, None] * en).T @ en
        t_mean = float(wk @ sk[:, 3])
        # spread of the sigma points, and the boost model's own error, growing with the time flown back
        t_sig = math.sqrt(max(float(wk @ (sk[:, 3] - t_mean) ** 2), 0.0) + (time_frac * t_mean) ** 2)
        # boost ground distance: launch point to the sub-point of the state
        sx, sy, sz = x[k, 0], x[k, 1], x[k, 2]
        sla, slo, _ = ecef_to_geodetic(sx, sy, sz)
        gx, gy, gz = geodetic_to_ecef(sla, slo, 0.0)
        e, nn, _ = ecef_to_enu(gx, gy, gz, la, lo, 0.0)
        dist = math.hypot(e, nn)
        cov = cov + np.eye(2) * (model_frac * dist) ** 2
        a, b, o = ellipse_from_cov(cov[0, 0], cov[0, 1], cov[1, 1], CHI2_2DOF_95)
        out.append(
            LaunchEstimate(True, math.degrees(la), math.degrees(lo), -t_mean, t_sig, cov, a, b, o, float(s[0, 4]), dist)
        )
    return out
