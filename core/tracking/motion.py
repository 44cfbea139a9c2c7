"""Motion model of the tracking filter: ballistic flight in ECEF with gravity (J2), rotating Earth, drag with
an estimated ballistic coefficient and an optional thrust acceleration; prediction of state and covariance.

State layout: :mod:`.layout`. In the rotating ECEF frame, atmosphere at rest (docs/sensors-and-tracking.md,
"Filter"; gravity: :mod:`triwarn.core.trajectory.gravity`):

  ṙ = v,  v̇ = a_grav(r) − 2ω×v − ω×(ω×r) − ρ(h) |v| v / (2β) + a_T,  θ̇ = 0,  ȧ_T = 0  (+ process noise).

- In free flight a_T ≡ 0 (the ballistic model of the IMM pins it); in boost a_T is a random walk.
  a_grav is the point mass plus J2 (:mod:`triwarn.core.trajectory.gravity`). The Jacobian A keeps the point
  mass gravity gradient, the rotating-frame terms and the drag terms (J2's gradient is 1e-3 of the point mass
  and is left out of A, not out of the state propagation).
- ρ(h): piecewise exponential atmosphere ``atm`` (L, 3) rows ``[h_base_m, rho_base_kg_m3, scale_height_m]``
  (the filter's model; see :data:`VALLADO_EXP_ATMOSPHERE`), h the height above the ellipsoid along the
  radius (the ellipsoid radius in the direction of r subtracted from |r|).
- process noise: continuous white acceleration of density ``q_acc`` (m²/s³) per axis, white jerk on a_T of
  density ``q_jerk`` (m²/s⁵), a random walk on θ of density ``q_theta`` (1/s). For the (r, v) block,
  Q = q_acc [[Δt³/3 I, Δt²/2 I], [Δt²/2 I, Δt I]]; the jerk adds q_jerk [[Δt⁵/20, Δt⁴/8, Δt³/6],
  [Δt⁴/8, Δt³/3, Δt²/2], [Δt³/6, Δt²/2, Δt]] ⊗ I over (r, v, a_T) (Bar-Shalom, Li & Kirubarajan 2001, §6.2).
- discrete transition per sub-step of ``dt_s``: Φ = I + A dt + A² dt²/2; state by classical RK4.

Parameters ``params`` (8,): ``[mu_m3_s2, re_m, j2, omega_rad_s, max_step_s, h_atm_m, q_atm_m2_s3, q_drag_s]``,
see :func:`model_params`: below the height ``h_atm_m`` the white acceleration density is at least
``q_atm_m2_s3`` plus ``q_drag_s``·|a_D|² (the tracker's atmosphere is only a model of the real one, and its
error grows with the drag); above it, the free-flight model is exact but for integration error, and the
caller's ``q_acc`` may be tiny.
"""

from __future__ import annotations

import math

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.tracking.layout import MAX_Z, NX
from triwarn.core.trajectory.constants import A_M, B_M, GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import height_along_radius_m
from triwarn.core.trajectory.gravity import accel_j2_ecef_rotating

#: Exponential atmosphere of Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed., table 8-4
#: (from the US Standard Atmosphere 1976 and CIRA-72): base height (m), base density (kg/m³), scale height (m).
#: The tracker's own model of the air; the truth uses its own atmosphere, so the two differ as in reality.
VALLADO_EXP_ATMOSPHERE = np.array(
    [
        [0.0, 1.225, 7249.0],
        [25e3, 3.899e-2, 6349.0],
        [30e3, 1.774e-2, 6682.0],
        [40e3, 3.972e-3, 7554.0],
        [50e3, 1.057e-3, 8382.0],
        [60e3, 3.206e-4, 7714.0],
        [70e3, 8.770e-5, 6549.0],
        [80e3, 1.905e-5, 5799.0],
        [90e3, 3.396e-6, 5382.0],
        [100e3, 5.297e-7, 5877.0],
        [110e3, 9.661e-8, 7263.0],
        [120e3, 2.438e-8, 9473.0],
        [130e3, 8.484e-9, 12636.0],
        [140e3, 3.845e-9, 16149.0],
        [150e3, 2.070e-9, 22523.0],
        [180e3, 5.464e-10, 29740.0],
        [200e3, 2.789e-10, 37105.0],
    ]
)
VALLADO_EXP_ATMOSPHERE.flags.writeable = False  # shared by every tracker: a constant, not module state


def model_params(
    max_step_s: float = 1.0, h_atm_m: float = 100e3, q_atm_m2_s3: float = 1.0, q_drag_s: float = 0.0
) -> np.ndarray:
    """The ``params`` row of the motion model with WGS-84 / EGM96 constants."""
    return np.array([GM_M3_S2, RE_J2_M, J2, OMEGA_E_RAD_S, max_step_s, h_atm_m, q_atm_m2_s3, q_drag_s])


@kernel
def height_above_ellipsoid_radial(x_m: float, y_m: float, z_m: float) -> float:
    """|r| minus the WGS-84 ellipsoid radius in the direction of r (m); equals the geodetic height to
    within ~0.02 % of the height below 1000 km."""
    return height_along_radius_m(x_m, y_m, z_m, A_M, B_M)


@kernel
def exp_density(h_m: float, atm: np.ndarray) -> tuple[float, float]:
    """Density (kg/m³) of the piecewise exponential atmosphere and its scale height (m) at height ``h_m``."""
    n = atm.shape[0]
    i = 0
    if h_m <= atm[0, 0]:
        return atm[0, 1] * math.exp(-(h_m - atm[0, 0]) / atm[0, 2]), atm[0, 2]
    while i + 1 < n and h_m >= atm[i + 1, 0]:
        i += 1
    return atm[i, 1] * math.exp(-(h_m - atm[i, 0]) / atm[i, 2]), atm[i, 2]


@kernel
def derivative(x: np.ndarray, params: np.ndarray, atm: np.ndarray, out: np.ndarray) -> None:
    """ẋ of the 10-state model (``NX``) into ``out`` (10,)."""
    ax, ay, az = accel_j2_ecef_rotating(x[0], x[1], x[2], x[3], x[4], x[5], params[0], params[1], params[2], params[3])
    h_m = height_above_ellipsoid_radial(x[0], x[1], x[2])
    rho, _ = exp_density(h_m, atm)
    speed = math.sqrt(x[3] * x[3] + x[4] * x[4] + x[5] * x[5])
    k = -rho * speed * 0.5 * math.exp(-x[6])
    out[0] = x[3]
    out[1] = x[4]
    out[2] = x[5]
    out[3] = ax + k * x[3] + x[7]
    out[4] = ay + k * x[4] + x[8]
    out[5] = az + k * x[5] + x[9]
    out[6] = 0.0
    out[7] = 0.0
    out[8] = 0.0
    out[9] = 0.0


@kernel
def jacobian(x: np.ndarray, params: np.ndarray, atm: np.ndarray, A: np.ndarray) -> None:
    """A = ∂ẋ/∂x (10, 10) into ``A`` (point-mass gravity gradient, rotating-frame terms, drag terms)."""
    mu = params[0]
    w = params[3]
    for i in range(NX):
        for j in range(NX):
            A[i, j] = 0.0
    A[0, 3] = 1.0
    A[1, 4] = 1.0
    A[2, 5] = 1.0
    A[3, 7] = 1.0
    A[4, 8] = 1.0
    A[5, 9] = 1.0
    r2 = x[0] * x[0] + x[1] * x[1] + x[2] * x[2]
    r = math.sqrt(r2)
    c = mu / (r2 * r)
    for i in range(3):
        for j in range(3):
            A[3 + i, j] = c * (3.0 * x[i] * x[j] / r2 - (1.0 if i == j else 0.0))
    A[3, 0] += w * w
    A[4, 1] += w * w
    A[3, 4] += 2.0 * w
    A[4, 3] += -2.0 * w
    h_m = height_above_ellipsoid_radial(x[0], x[1], x[2])
    rho, H = exp_density(h_m, atm)
    speed = math.sqrt(x[3] * x[3] + x[4] * x[4] + x[5] * x[5])
    if rho > 0.0 and speed > 0.0:
        inv_beta = math.exp(-x[6])
        k = -0.5 * rho * inv_beta
        for i in range(3):
            a_d = k * speed * x[3 + i]
            for j in range(3):
                # ∂a_D/∂v = k (|v| I + v vᵀ/|v|); ∂a_D/∂r = a_D (−1/H) r̂ᵀ
                A[3 + i, 3 + j] += k * ((speed if i == j else 0.0) + x[3 + i] * x[3 + j] / speed)
                A[3 + i, j] += -a_d / H * x[j] / r
            A[3 + i, 6] = -a_d  # a_D ∝ exp(−θ)


@kernel
def _rk4_step(
    x: np.ndarray, step_s: float, params: np.ndarray, atm: np.ndarray, k: np.ndarray, tmp: np.ndarray
) -> None:
    derivative(x, params, atm, k[0])
    for i in range(NX):
        tmp[i] = x[i] + 0.5 * step_s * k[0, i]
    derivative(tmp, params, atm, k[1])
    for i in range(NX):
        tmp[i] = x[i] + 0.5 * step_s * k[1, i]
    derivative(tmp, params, atm, k[2])
    for i in range(NX):
        tmp[i] = x[i] + step_s * k[2, i]
    derivative(tmp, params, atm, k[3])
    for i in range(NX):
        x[i] += step_s / 6.0 * (k[0, i] + 2.0 * k[1, i] + 2.0 * k[2, i] + k[3, i])


@kernel
def predict_one(
    x: np.ndarray,
    P: np.ndarray,
    dt_s: float,
    q_acc: float,
    q_jerk: float,
    q_theta: float,
    params: np.ndarray,
    atm: np.ndarray,
) -> None:
    """Predict one track (x (10,), P (10, 10)) in place over ``dt_s`` (s, may be negative) in sub-steps."""
    predict_one_with_bias(x, P, np.zeros((0, NX, MAX_Z)), dt_s, q_acc, q_jerk, q_theta, params, atm)


@kernel
def nonzero_bias_blocks(C: np.ndarray) -> np.ndarray:
    """(s,) bool: which sensors' cross-covariance blocks C[s] (10, MAX_Z) are not all zero (a sensor that
    never contributed to a track has none: skipped in the arithmetic)."""
    out = np.zeros(C.shape[0], np.bool_)
    for si in range(C.shape[0]):
        for i in range(NX):
            for c in range(MAX_Z):
                if C[si, i, c] != 0.0:
                    out[si] = True
                    break
            if out[si]:
                break
    return out


@kernel
def predict_one_with_bias(
    x: np.ndarray,
    P: np.ndarray,
    C: np.ndarray,
    dt_s: float,
    q_acc: float,
    q_jerk: float,
    q_theta: float,
    params: np.ndarray,
    atm: np.ndarray,
) -> None:
    """:func:`predict_one` that also carries the cross-covariances C (s, 10, MAX_Z) of the state error with
    each sensor's registration bias (C ← Φ C; the biases are constant)."""
    if dt_s == 0.0:
        return
    ns = C.shape[0]
    Cn = np.empty((NX, MAX_Z))
    used = nonzero_bias_blocks(C)
    nsub = int(math.ceil(abs(dt_s) / params[4]))  # noqa: RUF046 (numba: keep the int type explicit)
    step_s = dt_s / nsub
    abs_step_s = abs(step_s)
    A = np.empty((NX, NX))
    Phi = np.empty((NX, NX))
    T = np.empty((NX, NX))
    k = np.empty((4, NX))
    tmp = np.empty(NX)
    for _ in range(nsub):
        q = q_acc
        h_m = height_above_ellipsoid_radial(x[0], x[1], x[2])
        if h_m < params[5]:
            q = max(q, params[6])
            if params.shape[0] > 7 and params[7] > 0.0:
                # the drag model's error grows with the drag: white acceleration q_drag |a_D|²
                rho, _ = exp_density(h_m, atm)
                a_d = 0.5 * rho * (x[3] * x[3] + x[4] * x[4] + x[5] * x[5]) * math.exp(-x[6])
                q += params[7] * a_d * a_d
        jacobian(x, params, atm, A)
        # Φ = I + A Δ + A² Δ²/2, Δ = step_s
        for i in range(NX):
            for j in range(NX):
                s = 0.0
                for m in range(NX):
                    s += A[i, m] * A[m, j]
                Phi[i, j] = (1.0 if i == j else 0.0) + A[i, j] * step_s + 0.5 * s * step_s * step_s
        _rk4_step(x, step_s, params, atm, k, tmp)
        for si in range(ns):
            if not used[si]:
                continue
            for i in range(NX):
                for c in range(MAX_Z):
                    s = 0.0
                    for m in range(NX):
                        s += Phi[i, m] * C[si, m, c]
                    Cn[i, c] = s
            for i in range(NX):
                for c in range(MAX_Z):
                    C[si, i, c] = Cn[i, c]
        # P = Φ P Φᵀ + Q
        for i in range(NX):
            for j in range(NX):
                s = 0.0
                for m in range(NX):
                    s += Phi[i, m] * P[m, j]
                T[i, j] = s
        for i in range(NX):
            for j in range(i, NX):
                s = 0.0
                for m in range(NX):
                    s += T[i, m] * Phi[j, m]
                P[i, j] = s
                P[j, i] = s
        for i in range(3):
            P[i, i] += q * abs_step_s * abs_step_s * abs_step_s / 3.0
            P[i, 3 + i] += q * step_s * abs_step_s / 2.0
            P[3 + i, i] += q * step_s * abs_step_s / 2.0
            P[3 + i, 3 + i] += q * abs_step_s
            if q_jerk > 0.0:
                step2_s2 = step_s * step_s
                a = 7 + i
                P[i, i] += q_jerk * step2_s2 * step2_s2 * abs_step_s / 20.0
                P[i, 3 + i] += q_jerk * step2_s2 * step2_s2 / 8.0
                P[3 + i, i] += q_jerk * step2_s2 * step2_s2 / 8.0
                P[i, a] += q_jerk * step2_s2 * step_s / 6.0
                P[a, i] += q_jerk * step2_s2 * step_s / 6.0
                P[3 + i, 3 + i] += q_jerk * step2_s2 * abs_step_s / 3.0
                P[3 + i, a] += q_jerk * step_s * abs_step_s / 2.0
                P[a, 3 + i] += q_jerk * step_s * abs_step_s / 2.0
                P[a, a] += q_jerk * abs_step_s
        P[6, 6] += q_theta * abs_step_s


@kernel
def predict_batch(
    x: np.ndarray,
    P: np.ndarray,
    t_s: np.ndarray,
    live: np.ndarray,
    t_to_s: float,
    q_acc: np.ndarray,
    q_jerk: np.ndarray,
    q_theta: float,
    params: np.ndarray,
    atm: np.ndarray,
) -> None:
    """Predict every live track (x (n,10), P (n,10,10), t_s (n,)) in place to ``t_to_s``; t_s is set.
    ``q_acc``, ``q_jerk`` (n,) per track."""
    for i in range(x.shape[0]):
        if live[i] and t_s[i] != t_to_s:
            predict_one(x[i], P[i], t_to_s - t_s[i], q_acc[i], q_jerk[i], q_theta, params, atm)
            t_s[i] = t_to_s
