"""Time alignment of tracks with the ballistic model (gravity with J2 in rotating ECEF), not constant velocity.

A local track arrives with its own time of validity; before two tracks can be compared or fused they are
predicted to one common time. Between the nodes' update cycles the objects are mostly in free flight, so the
prediction integrates

    r'' = a_grav(r) - 2 ω × v - ω × (ω × r)          (ECEF, ω = [0, 0, ω_E])

with a_grav the point mass plus the J2 term (physics.md, "Gravity"), by classical RK4 in sub-steps of at
most ``max_step_s``, forwards or backwards in time. The covariance follows the linearised model

    P(t + h) = Φ P Φᵀ + Q,   Φ = I + A h + A² h²/2 + A³ h³/6,   A = [[0, I], [G + Ωc, C]]

per sub-step, with G = ∂a_grav/∂r the gravity gradient (analytic, point mass plus J2), Ωc = diag(ω², ω², 0)
the centrifugal gradient and C the Coriolis matrix. Thrust (boost) and drag (re-entry) are not modelled: they
enter as white-noise acceleration of spectral density ``q`` (m²/s³) per axis, chosen per track by the caller
from its flight phase (Bar-Shalom, Li & Kirubarajan 2001, §6.2 "continuous white noise acceleration"):

    Q = q [[|Δt|³/3 I, Δt|Δt|/2 I], [Δt|Δt|/2 I, |Δt| I]]

Glossary: ``x`` state ``[x, y, z, vx, vy, vz]`` ECEF (m, m/s); ``P`` (6, 6) covariance; ``dt_s`` signed
prediction interval (s); ``gm_m3_s2`` gravitational parameter; ``re_m`` equatorial radius; ``j2`` the J2
coefficient; ``omega_rad_s`` Earth rotation rate; ``q_m2_s3`` process noise density per track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import prange

from triwarn.core.jit import kernel
from triwarn.core.trajectory import constants
from triwarn.core.trajectory.gravity import accel_j2_ecef_rotating
from triwarn.core.trajectory.tracks import FloatArray

#: WGS-84 and J2 (``triwarn.core.trajectory.constants``)
GM_M3_S2 = constants.GM_M3_S2
RE_M = constants.RE_J2_M
J2 = constants.J2
OMEGA_E_RAD_S = constants.OMEGA_E_RAD_S


@dataclass(frozen=True)
class BallisticModel:
    """Constants of the alignment model (passed to the kernels as arguments)."""

    gm_m3_s2: float = GM_M3_S2
    re_m: float = RE_M
    j2: float = J2
    omega_rad_s: float = OMEGA_E_RAD_S
    #: longest RK4 sub-step, seconds
    max_step_s: float = 1.0
    #: most sub-steps of one prediction: longer predictions (a track reacquired after a coverage gap) take
    #: longer steps; RK4 in free flight stays at the metre level with 30 s steps
    max_substeps: int = 32


@kernel
def accel_ecef(x, gm_m3_s2, re_m, j2, omega_rad_s, out):
    """Acceleration (m/s²) in rotating ECEF of state ``x`` (6,): gravity with J2, Coriolis, centrifugal.

    Written into ``out`` (3,); the formula is :func:`triwarn.core.trajectory.gravity.accel_j2_ecef_rotating`.
    """
    out[0], out[1], out[2] = accel_j2_ecef_rotating(x[0], x[1], x[2], x[3], x[4], x[5], gm_m3_s2, re_m, j2, omega_rad_s)


@kernel
def gravity_gradient(pos_m, gm_m3_s2, re_m, j2, G):
    """Gradient ∂a/∂r (1/s², (3, 3)) of point-mass plus J2 gravity at ``pos_m`` (3,), written into ``G``."""
    r2 = pos_m[0] * pos_m[0] + pos_m[1] * pos_m[1] + pos_m[2] * pos_m[2]
    r = np.sqrt(r2)
    mu_r3 = gm_m3_s2 / (r2 * r)
    # point mass: μ/r³ (3 r rᵀ / r² - I)
    for i in range(3):
        for j in range(3):
            G[i, j] = mu_r3 * 3.0 * pos_m[i] * pos_m[j] / r2
        G[i, i] -= mu_r3
    # J2: a = k [x f, y f, z g], k = -3/2 J2 μ Re² / r⁵, f = 1 - 5 s, g = 3 - 5 s, s = z²/r²
    k = -1.5 * j2 * gm_m3_s2 * re_m * re_m / (r2 * r2 * r)
    z = pos_m[2]
    s = z * z / r2
    f = 1.0 - 5.0 * s
    g = 3.0 - 5.0 * s
    for m in range(3):
        dk = -5.0 * k * pos_m[m] / r2
        ds = -2.0 * s * pos_m[m] / r2
        if m == 2:
            ds += 2.0 * z / r2
        df = -5.0 * ds  # = dg
        G[0, m] += dk * pos_m[0] * f + k * pos_m[0] * df
        G[1, m] += dk * pos_m[1] * f + k * pos_m[1] * df
        G[2, m] += dk * z * g + k * z * df
        if m < 2:
            G[m, m] += k * f
        else:
            G[2, 2] += k * g


@kernel
def _rk4_step(x, h, gm, re, j2, w, out, k1, k2, k3, k4, tmp, acc):
    # derivative of [r, v] is [v, a(r, v)]
    accel_ecef(x, gm, re, j2, w, acc)
    for i in range(3):
        k1[i] = x[3 + i]
        k1[3 + i] = acc[i]
    for i in range(6):
        tmp[i] = x[i] + 0.5 * h * k1[i]
    accel_ecef(tmp, gm, re, j2, w, acc)
    for i in range(3):
        k2[i] = tmp[3 + i]
        k2[3 + i] = acc[i]
    for i in range(6):
        tmp[i] = x[i] + 0.5 * h * k2[i]
    accel_ecef(tmp, gm, re, j2, w, acc)
    for i in range(3):
        k3[i] = tmp[3 + i]
        k3[3 + i] = acc[i]
    for i in range(6):
        tmp[i] = x[i] + h * k3[i]
    accel_ecef(tmp, gm, re, j2, w, acc)
    for i in range(3):
        k4[i] = tmp[3 + i]
        k4[3 + i] = acc[i]
    for i in range(6):
        out[i] = x[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])


@kernel
def _transition(x, h, gm, re, j2, w, Phi, A, A2, G):
    """Φ = I + A h + A² h²/2 + A³ h³/6 with A the Jacobian of the ballistic model at ``x``."""
    gravity_gradient(x[:3], gm, re, j2, G)
    for i in range(6):
        for j in range(6):
            A[i, j] = 0.0
    for i in range(3):
        A[i, 3 + i] = 1.0
        for j in range(3):
            A[3 + i, j] = G[i, j]
    A[3, 0] += w * w
    A[4, 1] += w * w
    A[3, 4] = 2.0 * w
    A[4, 3] = -2.0 * w
    # A2 = A @ A
    for i in range(6):
        for j in range(6):
            acc = 0.0
            for k in range(6):
                acc += A[i, k] * A[k, j]
            A2[i, j] = acc
    for i in range(6):
        for j in range(6):
            a3 = 0.0
            for k in range(6):
                a3 += A2[i, k] * A[k, j]
            Phi[i, j] = A[i, j] * h + A2[i, j] * h * h / 2.0 + a3 * h * h * h / 6.0
        Phi[i, i] += 1.0


@kernel
def predict_one(x, P, dt_s, q_m2_s3, gm_m3_s2, re_m, j2, omega_rad_s, max_step_s, max_substeps, x_out, P_out):
    """Predict one state ``x`` (6,) and covariance ``P`` (6, 6) by ``dt_s`` (signed) into ``x_out``, ``P_out``.

    RK4 sub-steps of at most ``max_step_s``, but never more than ``max_substeps`` of them.

    ``x_out`` may be ``x`` and ``P_out`` may be ``P`` (in-place prediction is allowed).
    """
    xs = x.copy()
    Ps = P.copy()
    if dt_s == 0.0:
        x_out[:] = xs
        P_out[:, :] = Ps
        return
    n_steps = min(int(np.ceil(abs(dt_s) / max_step_s)), max_substeps)
    h = dt_s / n_steps
    k1 = np.empty(6)
    k2 = np.empty(6)
    k3 = np.empty(6)
    k4 = np.empty(6)
    tmp = np.empty(6)
    acc = np.empty(3)
    xn = np.empty(6)
    Phi = np.empty((6, 6))
    A = np.empty((6, 6))
    A2 = np.empty((6, 6))
    G = np.empty((3, 3))
    T = np.empty((6, 6))
    for _ in range(n_steps):
        _transition(xs, h, gm_m3_s2, re_m, j2, omega_rad_s, Phi, A, A2, G)
        _rk4_step(xs, h, gm_m3_s2, re_m, j2, omega_rad_s, xn, k1, k2, k3, k4, tmp, acc)
        xs[:] = xn
        # P = Φ P Φᵀ
        for i in range(6):
            for j in range(6):
                s = 0.0
                for k in range(6):
                    s += Phi[i, k] * Ps[k, j]
                T[i, j] = s
        for i in range(6):
            for j in range(i, 6):
                s = 0.0
                for k in range(6):
                    s += T[i, k] * Phi[j, k]
                Ps[i, j] = s
                Ps[j, i] = s
    adt = abs(dt_s)
    qpp = q_m2_s3 * adt * adt * adt / 3.0
    qpv = q_m2_s3 * dt_s * adt / 2.0
    qvv = q_m2_s3 * adt
    for i in range(3):
        Ps[i, i] += qpp
        Ps[i, 3 + i] += qpv
        Ps[3 + i, i] += qpv
        Ps[3 + i, 3 + i] += qvv
    x_out[:] = xs
    P_out[:, :] = Ps


@kernel(parallel=True)
def predict_many(x, P, dt_s, q_m2_s3, gm_m3_s2, re_m, j2, omega_rad_s, max_step_s, max_substeps, x_out, P_out):
    """Predict ``n`` states ``x`` (n, 6) and covariances ``P`` (n, 6, 6) by ``dt_s`` (n,) each.

    ``q_m2_s3`` (n,) is each track's process noise density. Results go into ``x_out``, ``P_out`` (which may
    be the inputs).
    """
    for i in prange(x.shape[0]):
        predict_one(
            x[i],
            P[i],
            dt_s[i],
            q_m2_s3[i],
            gm_m3_s2,
            re_m,
            j2,
            omega_rad_s,
            max_step_s,
            max_substeps,
            x_out[i],
            P_out[i],
        )


def predict(
    x: FloatArray,
    P: FloatArray,
    dt_s: FloatArray | float,
    q_m2_s3: FloatArray | float = 0.0,
    model: BallisticModel | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Predict states ``x`` (n, 6) and covariances ``P`` (n, 6, 6) by ``dt_s`` seconds (scalar or (n,)).

    Returns new arrays; the inputs are not changed.
    """
    m = model or BallisticModel()
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1, 6)
    P = np.ascontiguousarray(P, dtype=np.float64).reshape(-1, 6, 6)
    n = x.shape[0]
    dt = np.ascontiguousarray(np.broadcast_to(np.asarray(dt_s, dtype=np.float64), (n,)))
    q = np.ascontiguousarray(np.broadcast_to(np.asarray(q_m2_s3, dtype=np.float64), (n,)))
    x_out = np.empty_like(x)
    P_out = np.empty_like(P)
    predict_many(x, P, dt, q, m.gm_m3_s2, m.re_m, m.j2, m.omega_rad_s, m.max_step_s, m.max_substeps, x_out, P_out)
    return x_out, P_out
