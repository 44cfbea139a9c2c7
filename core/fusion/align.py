"""Time alignment of tracks with the ballistic model (gravity with J2 in rotating ECEF), not constant velocity.

A local track arrives with its own time of validity; before two tracks can be compared or fused they are
predicted to one common time. Between the nodes' update cycles the objects are mostly in free flight, so the
prediction integrates

    r'' = a_grav(r) - 2 ω × v - ω × (ω × r) [+ a_drag]      (ECEF, ω = [0, 0, ω_E])

with a_grav the point mass plus the J2 term (:mod:`triwarn.core.trajectory.gravity`), by classical RK4 in
sub-steps of at most ``max_step_s``, forwards or backwards in time. The covariance follows the linearised model

    P(t + Δ) = Φ P Φᵀ + Q,   Φ = I + A Δ + A² Δ²/2 + A³ Δ³/6,   A = [[0, I], [G + Ωc (+ D_r), C (+ D_v)]]

per sub-step Δ, with G = ∂a_grav/∂r the gravity gradient (analytic, point mass plus J2), Ωc = diag(ω², ω², 0)
the centrifugal gradient and C the Coriolis matrix. When a track's ballistic coefficient β (kg/m², from its
node's tracker) is known, drag a_D = -ρ(h)|v|v/(2β) with the USSA-1976 density is added below 120 km, and its
Jacobian (in v exactly, in r through dρ/dh along the radius) enters A. Thrust (boost) and the error of β
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
from triwarn.core.tracks import FloatArray
from triwarn.core.trajectory import constants
from triwarn.core.trajectory.atmosphere import upper_table, ussa1976_density
from triwarn.core.trajectory.frames import height_along_radius_m
from triwarn.core.trajectory.gravity import accel_j2_ecef_rotating

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
    #: WGS-84 ellipsoid (for the height that gives the air density)
    a_m: float = constants.A_M
    b_m: float = constants.B_M


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
def height_m(pos_m, a_m, b_m):
    """Height (m) above the WGS-84 ellipsoid along the radius: |r| - R(φc), R the ellipsoid radius at the
    geocentric latitude φc. Within ~20 m of the geodetic height below 200 km: enough for air density."""
    return height_along_radius_m(pos_m[0], pos_m[1], pos_m[2], a_m, b_m)


@kernel
def _drag_density(x, beta_kg_m2, drag):
    """Air density (kg/m³) at ``x`` if drag applies (known β, below 120 km), else 0."""
    if not beta_kg_m2 > 0.0:
        return 0.0
    z_m, ln_rho, a_m, b_m = drag
    h = height_m(x, a_m, b_m)
    if h > 120e3:
        return 0.0
    return ussa1976_density(h, z_m, ln_rho)


@kernel
def _accel_total(x, beta_kg_m2, gm, re, j2, w, drag, out):
    """Gravity (J2), frame terms and, for a known ballistic coefficient β, drag -ρ|v|v/(2β) (m/s²)."""
    accel_ecef(x, gm, re, j2, w, out)
    rho = _drag_density(x, beta_kg_m2, drag)
    if rho > 0.0:
        v = np.sqrt(x[3] * x[3] + x[4] * x[4] + x[5] * x[5])
        k = -rho * v / (2.0 * beta_kg_m2)
        out[0] += k * x[3]
        out[1] += k * x[4]
        out[2] += k * x[5]


@kernel
def _rk4_step(x, step_s, beta, gm, re, j2, w, drag, out, k1, k2, k3, k4, tmp, acc):
    # derivative of [r, v] is [v, a(r, v)]
    _accel_total(x, beta, gm, re, j2, w, drag, acc)
    for i in range(3):
        k1[i] = x[3 + i]
        k1[3 + i] = acc[i]
    for i in range(6):
        tmp[i] = x[i] + 0.5 * step_s * k1[i]
    _accel_total(tmp, beta, gm, re, j2, w, drag, acc)
    for i in range(3):
        k2[i] = tmp[3 + i]
        k2[3 + i] = acc[i]
    for i in range(6):
        tmp[i] = x[i] + 0.5 * step_s * k2[i]
    _accel_total(tmp, beta, gm, re, j2, w, drag, acc)
    for i in range(3):
        k3[i] = tmp[3 + i]
        k3[3 + i] = acc[i]
    for i in range(6):
        tmp[i] = x[i] + step_s * k3[i]
    _accel_total(tmp, beta, gm, re, j2, w, drag, acc)
    for i in range(3):
        k4[i] = tmp[3 + i]
        k4[3 + i] = acc[i]
    for i in range(6):
        out[i] = x[i] + step_s / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])


@kernel
def _transition(x, step_s, beta, gm, re, j2, w, drag, Phi, A, A2, G):
    """Φ = I + A Δ + A² Δ²/2 + A³ Δ³/6 over a sub-step Δ = ``step_s`` (s), A the Jacobian of the ballistic
    model at ``x``."""
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
    rho = _drag_density(x, beta, drag)
    if rho > 0.0:
        # a_D = -ρ(h)|v| v/(2β): ∂a/∂v = -ρ/(2β) (|v| I + v vᵀ/|v|); ∂a/∂r = -|v| v/(2β) (dρ/dh) r̂ᵀ
        z_m, ln_rho, a_m, b_m = drag
        v = np.sqrt(x[3] * x[3] + x[4] * x[4] + x[5] * x[5])
        c = -rho / (2.0 * beta)
        h0 = height_m(x, a_m, b_m)
        dh = 10.0
        drho = (ussa1976_density(h0 + dh, z_m, ln_rho) - ussa1976_density(max(h0 - dh, 0.0), z_m, ln_rho)) / (
            h0 + dh - max(h0 - dh, 0.0)
        )
        r = np.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
        for i in range(3):
            for j in range(3):
                A[3 + i, 3 + j] += c * x[3 + i] * x[3 + j] / v
                A[3 + i, j] += -v * x[3 + i] / (2.0 * beta) * drho * x[j] / r
            A[3 + i, 3 + i] += c * v
    # A² and A³ by blocks: A = [[0, I], [B, C]] (B = A[3:, :3], C = A[3:, 3:]), so A² = [[B, C], [C B, B + C²]] and
    # row by row A³ = A² A; only the products with A's structural ones and non-zero blocks are formed, in the
    # order of the dense sums Σ_k A[i, k] A[k, j] (the skipped terms are exact zeros: the same numbers bit for
    # bit, in ~45 % of the multiplications)
    for i in range(3):
        for j in range(6):
            A2[i, j] = A[3 + i, j]
    for i in range(3, 6):
        for j in range(3):
            acc = 0.0
            for k in range(3, 6):
                acc += A[i, k] * A[k, j]
            A2[i, j] = acc
        for j in range(3, 6):
            acc = 0.0
            acc += A[i, j - 3]
            for k in range(3, 6):
                acc += A[i, k] * A[k, j]
            A2[i, j] = acc
    for i in range(6):
        for j in range(3):
            a3 = 0.0
            for k in range(3, 6):
                a3 += A2[i, k] * A[k, j]
            Phi[i, j] = A[i, j] * step_s + A2[i, j] * step_s * step_s / 2.0 + a3 * step_s * step_s * step_s / 6.0
        for j in range(3, 6):
            a3 = 0.0
            a3 += A2[i, j - 3]
            for k in range(3, 6):
                a3 += A2[i, k] * A[k, j]
            Phi[i, j] = A[i, j] * step_s + A2[i, j] * step_s * step_s / 2.0 + a3 * step_s * step_s * step_s / 6.0
        Phi[i, i] += 1.0


@kernel
def predict_one(
    x, P, dt_s, q_m2_s3, beta_kg_m2, gm_m3_s2, re_m, j2, omega_rad_s, max_step_s, max_substeps, drag, x_out, P_out
):
    """Predict one state ``x`` (6,) and covariance ``P`` (6, 6) by ``dt_s`` (signed) into ``x_out``, ``P_out``.

    RK4 sub-steps of at most ``max_step_s``, but never more than ``max_substeps`` of them. ``beta_kg_m2`` > 0
    adds drag (``drag`` = (z_m, ln_rho_kg_m3) of the USSA-1976 upper table and the ellipsoid's a_m, b_m);
    0 means unknown: no drag. ``x_out`` may be ``x`` and ``P_out`` may be ``P``.
    """
    v6, m6, m3 = predict_workspace()
    _predict_one(
        x, P, dt_s, q_m2_s3, beta_kg_m2, gm_m3_s2, re_m, j2, omega_rad_s, max_step_s, max_substeps, drag, x_out,
        P_out, v6, m6, m3,
    )  # fmt: skip


@kernel
def predict_workspace():
    """Scratch arrays of :func:`_predict_one`: (8, 6) vectors, (5, 6, 6) and (3, 3) matrices (allocated once per
    thread and batch by :func:`predict_many`: thirteen small numba allocations per prediction cost more than
    the arithmetic of a short one)."""
    return np.empty((8, 6)), np.empty((5, 6, 6)), np.empty((3, 3))


@kernel
def _copy_state(x, P, x_out, P_out):
    for i in range(6):
        x_out[i] = x[i]
        for j in range(6):
            P_out[i, j] = P[i, j]


@kernel
def _predict_one(
    x, P, dt_s, q_m2_s3, beta_kg_m2, gm_m3_s2, re_m, j2, omega_rad_s, max_step_s, max_substeps, drag, x_out, P_out,
    v6, m6, G,
):  # fmt: skip
    """:func:`predict_one` with the scratch arrays of :func:`predict_workspace` (same arithmetic)."""
    xs = v6[0]
    Ps = m6[0]
    # copies by explicit loops: numba's slice assignments (xs[:] = x, Ps[:, :] = P) go through its generic
    # broadcasting code, which is slower (docs/fusion.md, "Speed")
    for i in range(6):
        xs[i] = x[i]
        for j in range(6):
            Ps[i, j] = P[i, j]
    if dt_s == 0.0:
        _copy_state(xs, Ps, x_out, P_out)
        return
    n_steps = min(int(np.ceil(abs(dt_s) / max_step_s)), max_substeps)
    step_s = dt_s / n_steps
    k1 = v6[1]
    k2 = v6[2]
    k3 = v6[3]
    k4 = v6[4]
    tmp = v6[5]
    xn = v6[6]
    acc = v6[7, :3]
    Phi = m6[1]
    A = m6[2]
    A2 = m6[3]
    T = m6[4]
    for _ in range(n_steps):
        _rk4_step(xs, step_s, beta_kg_m2, gm_m3_s2, re_m, j2, omega_rad_s, drag, xn, k1, k2, k3, k4, tmp, acc)
        # the Jacobian at the sub-step's midpoint makes Φ second-order accurate in step_s
        for i in range(6):
            tmp[i] = 0.5 * (xs[i] + xn[i])
        _transition(tmp, step_s, beta_kg_m2, gm_m3_s2, re_m, j2, omega_rad_s, drag, Phi, A, A2, G)
        for i in range(6):
            xs[i] = xn[i]
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
    _copy_state(xs, Ps, x_out, P_out)


@kernel(parallel=True)
def predict_many(
    x, P, dt_s, q_m2_s3, beta_kg_m2, gm_m3_s2, re_m, j2, omega_rad_s, max_step_s, max_substeps, drag, x_out, P_out
):
    """Predict ``n`` states ``x`` (n, 6) and covariances ``P`` (n, 6, 6) by ``dt_s`` (n,) each.

    ``q_m2_s3`` (n,) is each track's process noise density, ``beta_kg_m2`` (n,) its ballistic coefficient
    (0: unknown, no drag); see :func:`predict_one`. Results go into ``x_out``, ``P_out`` (which may be the
    inputs).
    """
    n = x.shape[0]
    n_chunks = min(n, 64)
    for c in prange(n_chunks):
        v6, m6, m3 = predict_workspace()
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            _predict_one(
                x[i], P[i], dt_s[i], q_m2_s3[i], beta_kg_m2[i], gm_m3_s2, re_m, j2, omega_rad_s, max_step_s,
                max_substeps, drag, x_out[i], P_out[i], v6, m6, m3,
            )  # fmt: skip


def drag_context(model: BallisticModel | None = None) -> tuple[FloatArray, FloatArray, float, float]:
    """The ``drag`` argument of the kernels: the USSA-1976 upper table and the ellipsoid."""
    m = model or BallisticModel()
    tab = upper_table()
    return (tab.z_m, tab.ln_rho_kg_m3, m.a_m, m.b_m)


def predict(
    x: FloatArray,
    P: FloatArray,
    dt_s: FloatArray | float,
    q_m2_s3: FloatArray | float = 0.0,
    model: BallisticModel | None = None,
    beta_kg_m2: FloatArray | float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Predict states ``x`` (n, 6) and covariances ``P`` (n, 6, 6) by ``dt_s`` seconds (scalar or (n,)).

    ``beta_kg_m2`` (scalar or (n,)): ballistic coefficient for drag, 0 for none. Returns new arrays; the
    inputs are not changed.
    """
    m = model or BallisticModel()
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1, 6)
    P = np.ascontiguousarray(P, dtype=np.float64).reshape(-1, 6, 6)
    n = x.shape[0]
    dt = np.ascontiguousarray(np.broadcast_to(np.asarray(dt_s, dtype=np.float64), (n,)))
    q = np.ascontiguousarray(np.broadcast_to(np.asarray(q_m2_s3, dtype=np.float64), (n,)))
    beta = np.ascontiguousarray(np.broadcast_to(np.asarray(beta_kg_m2, dtype=np.float64), (n,)))
    x_out = np.empty_like(x)
    P_out = np.empty_like(P)
    predict_many(
        x, P, dt, q, beta, m.gm_m3_s2, m.re_m, m.j2, m.omega_rad_s, m.max_step_s, m.max_substeps,
        drag_context(m), x_out, P_out,
    )  # fmt: skip
    return x_out, P_out
