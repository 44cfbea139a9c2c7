"""Extended Kalman filter in ECEF for ballistic missiles: gravity with J2, rotating Earth, drag with an
estimated ballistic coefficient, and radar or space-based infrared measurements. Batch kernels.

Glossary (SI units; the filter works on arrays of tracks, struct of arrays, C-contiguous)
-----------------------------------------------------------------------------------------
- state ``x`` (n, 10): ``[x, y, z, vx, vy, vz, θ, ax, ay, az]`` ECEF (WGS-84) position (m), velocity (m/s),
  θ = ln β with β = m/(C_D A) the ballistic coefficient (kg/m²), and the thrust acceleration a_T (m/s², ECEF
  axes). The first six are the public track state.
- ``P`` (n, 10, 10): covariance; ``t_s`` (n,): time of validity of each track, scenario seconds.
- motion model (physics.md "Re-entry", "Boost" and "Gravity"), in the rotating ECEF frame, atmosphere at rest:
  ṙ = v,  v̇ = a_grav(r) − 2ω×v − ω×(ω×r) − ρ(h) |v| v / (2β) + a_T,  θ̇ = 0,  ȧ_T = 0  (+ process noise).
  In free flight a_T ≡ 0 (the ballistic model of the IMM below pins it); in boost a_T is a random walk.
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
- discrete transition per sub-step h: Φ = I + A h + A² h²/2; state by classical RK4.
- measurement models, chosen by a sensor parameter row ``sp`` (see :func:`sensor_row`):
  radar: z = [az, el, range(, range rate)] in the site's ENU frame (az clockwise from north);
  ir: z = [α, δ], line of sight from a satellite at ``site`` in the satellite frame with unit axes
  X (nadir), Y, Z: α = atan2(u·Y, u·X), δ = asin(u·Z), u the unit vector from the satellite to the target.
- update: EKF with the Joseph form P = (I − KH) P (I − KH)ᵀ + K R Kᵀ; innovation ν = z − h(x) with the
  azimuth difference wrapped to (−π, π]; NIS = νᵀ S⁻¹ ν.

Parameters ``params`` (8,): ``[mu_m3_s2, re_m, j2, omega_rad_s, max_step_s, h_atm_m, q_atm_m2_s3, q_drag_s]``,
see :func:`model_params`: below the height ``h_atm_m`` the white acceleration density is at least
``q_atm_m2_s3`` plus ``q_drag_s``·|a_D|² (the tracker's atmosphere is only a model of the real one, and its
error grows with the drag); above it, the free-flight model is exact but for integration error, and the
caller's ``q_acc`` may be tiny.

Registration biases (``sp[I_BIAS:]``, standard deviations per measurement component) are considered, not
estimated (Schmidt-Kalman): the ``*_c`` kernels carry C (s, 10, MAX_Z), the cross-covariance of the state
error (truth − estimate) with each sensor's bias, so that P stays the covariance of the actual error although
a bias does not average out over scans (:func:`update_one_c`).
"""

from __future__ import annotations

import math

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.trajectory.constants import A_M, B_M, GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import ecef_vec_to_enu, enu_to_aer, height_along_radius_m
from triwarn.core.trajectory.gravity import accel_j2_ecef_rotating

NX = 10  # filter state dimension
I_THETA = 6  # index of θ = ln β
I_ACC = 7  # first index of the thrust acceleration (3)
MAX_Z = 4  # largest measurement dimension (radar with range rate)
KIND_RADAR = 0
KIND_IR = 1
SP_LEN = 24  # length of a sensor parameter row
I_BIAS = 20  # first index of the registration-bias standard deviations in a sensor row (MAX_Z)

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


def radar_row(
    site_ecef_m: np.ndarray,
    lat_rad: float,
    lon_rad: float,
    sigma_az_rad: float,
    sigma_el_rad: float,
    sigma_range_m: float,
    sigma_range_rate_m_s: float = 0.0,
    bias_sigma: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """Sensor row of a radar; ``sigma_range_rate_m_s = 0`` means no range rate (3 measurements).
    ``bias_sigma`` (az rad, el rad, range m): standard deviations of the radar's unknown fixed registration
    bias, considered (not estimated) by the filter."""
    sp = np.zeros(SP_LEN)
    sp[0] = KIND_RADAR
    sp[1:4] = site_ecef_m
    sp[4] = lat_rad
    sp[5] = lon_rad
    sp[6] = 4 if sigma_range_rate_m_s > 0.0 else 3
    sp[7:11] = [sigma_az_rad, sigma_el_rad, sigma_range_m, sigma_range_rate_m_s]
    sp[I_BIAS : I_BIAS + 3] = bias_sigma
    return sp


def ir_row(sat_ecef_m: np.ndarray, sigma_los_rad: float, bias_sigma_rad: float = 0.0) -> np.ndarray:
    """Sensor row of a space infrared sensor at ``sat_ecef_m``: X to nadir, Z along the Earth's axis
    made orthogonal to X, Y = Z × X. ``bias_sigma_rad``: standard deviation of the unknown fixed registration
    bias of each angle, considered (not estimated) by the filter."""
    s = np.asarray(sat_ecef_m, dtype=np.float64)
    X = -s / np.linalg.norm(s)
    k = np.array([0.0, 0.0, 1.0])
    Z = k - X * float(X @ k)
    Z /= np.linalg.norm(Z)
    Y = np.cross(Z, X)
    sp = np.zeros(SP_LEN)
    sp[0] = KIND_IR
    sp[1:4] = s
    sp[6] = 2
    sp[7:9] = sigma_los_rad
    sp[11:14] = X
    sp[14:17] = Y
    sp[17:20] = Z
    sp[I_BIAS : I_BIAS + 2] = bias_sigma_rad
    return sp


# ---------------------------------------------------------------------------------------------------------
# atmosphere and motion model
# ---------------------------------------------------------------------------------------------------------


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
    h = height_above_ellipsoid_radial(x[0], x[1], x[2])
    rho, _ = exp_density(h, atm)
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
    h = height_above_ellipsoid_radial(x[0], x[1], x[2])
    rho, H = exp_density(h, atm)
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
def _rk4_step(x: np.ndarray, h: float, params: np.ndarray, atm: np.ndarray, k: np.ndarray, tmp: np.ndarray) -> None:
    derivative(x, params, atm, k[0])
    for i in range(NX):
        tmp[i] = x[i] + 0.5 * h * k[0, i]
    derivative(tmp, params, atm, k[1])
    for i in range(NX):
        tmp[i] = x[i] + 0.5 * h * k[1, i]
    derivative(tmp, params, atm, k[2])
    for i in range(NX):
        tmp[i] = x[i] + h * k[2, i]
    derivative(tmp, params, atm, k[3])
    for i in range(NX):
        x[i] += h / 6.0 * (k[0, i] + 2.0 * k[1, i] + 2.0 * k[2, i] + k[3, i])


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
    predict_one_c(x, P, np.zeros((0, NX, MAX_Z)), dt_s, q_acc, q_jerk, q_theta, params, atm)


@kernel
def _nonzero_blocks(C: np.ndarray) -> np.ndarray:
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
def predict_one_c(
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
    used = _nonzero_blocks(C)
    nsub = int(math.ceil(abs(dt_s) / params[4]))  # noqa: RUF046 (numba: keep the int type explicit)
    h = dt_s / nsub
    ah = abs(h)
    A = np.empty((NX, NX))
    Phi = np.empty((NX, NX))
    T = np.empty((NX, NX))
    k = np.empty((4, NX))
    tmp = np.empty(NX)
    for _ in range(nsub):
        q = q_acc
        hh = height_above_ellipsoid_radial(x[0], x[1], x[2])
        if hh < params[5]:
            q = max(q, params[6])
            if params.shape[0] > 7 and params[7] > 0.0:
                # the drag model's error grows with the drag: white acceleration q_drag |a_D|²
                rho, _ = exp_density(hh, atm)
                a_d = 0.5 * rho * (x[3] * x[3] + x[4] * x[4] + x[5] * x[5]) * math.exp(-x[6])
                q += params[7] * a_d * a_d
        jacobian(x, params, atm, A)
        # Φ = I + A h + A² h²/2
        for i in range(NX):
            for j in range(NX):
                s = 0.0
                for m in range(NX):
                    s += A[i, m] * A[m, j]
                Phi[i, j] = (1.0 if i == j else 0.0) + A[i, j] * h + 0.5 * s * h * h
        _rk4_step(x, h, params, atm, k, tmp)
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
            P[i, i] += q * ah * ah * ah / 3.0
            P[i, 3 + i] += q * h * ah / 2.0
            P[3 + i, i] += q * h * ah / 2.0
            P[3 + i, 3 + i] += q * ah
            if q_jerk > 0.0:
                h2 = h * h
                a = 7 + i
                P[i, i] += q_jerk * h2 * h2 * ah / 20.0
                P[i, 3 + i] += q_jerk * h2 * h2 / 8.0
                P[3 + i, i] += q_jerk * h2 * h2 / 8.0
                P[i, a] += q_jerk * h2 * h / 6.0
                P[a, i] += q_jerk * h2 * h / 6.0
                P[3 + i, 3 + i] += q_jerk * h2 * ah / 3.0
                P[3 + i, a] += q_jerk * h * ah / 2.0
                P[a, 3 + i] += q_jerk * h * ah / 2.0
                P[a, a] += q_jerk * ah
        P[6, 6] += q_theta * ah


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


# ---------------------------------------------------------------------------------------------------------
# measurement models
# ---------------------------------------------------------------------------------------------------------


@kernel
def measure_h(x: np.ndarray, sp: np.ndarray, z: np.ndarray, H: np.ndarray) -> int:
    """Predicted measurement z = h(x) into ``z`` (MAX_Z,) and its Jacobian into ``H`` (MAX_Z, 10).
    Returns the measurement dimension m (rows beyond m are zero)."""
    for i in range(MAX_Z):
        z[i] = 0.0
        for j in range(NX):
            H[i, j] = 0.0
    dx = x[0] - sp[1]
    dy = x[1] - sp[2]
    dz = x[2] - sp[3]
    if sp[0] == KIND_RADAR:
        lat = sp[4]
        lon = sp[5]
        e, n, u = ecef_vec_to_enu(dx, dy, dz, lat, lon)
        az, el, rng = enu_to_aer(e, n, u)
        z[0] = az
        z[1] = el
        z[2] = rng
        rho2 = e * e + n * n
        rho = math.sqrt(rho2)
        # rows of the ENU rotation R (ECEF -> ENU)
        sl = math.sin(lat)
        cl = math.cos(lat)
        so = math.sin(lon)
        co = math.cos(lon)
        Re0, Re1, Re2 = -so, co, 0.0
        Rn0, Rn1, Rn2 = -sl * co, -sl * so, cl
        Ru0, Ru1, Ru2 = cl * co, cl * so, sl
        # ∂az/∂(e,n,u) = (n, −e, 0)/ρ²; ∂el/∂(e,n,u) = (−e u, −n u, ρ²)/(r² ρ); ∂r/∂(e,n,u) = (e, n, u)/r
        ja = (n / rho2, -e / rho2, 0.0)
        r2 = rng * rng
        je = (-e * u / (r2 * rho), -n * u / (r2 * rho), rho / r2)
        jr = (e / rng, n / rng, u / rng)
        for row in range(3):
            g = ja if row == 0 else (je if row == 1 else jr)
            H[row, 0] = g[0] * Re0 + g[1] * Rn0 + g[2] * Ru0
            H[row, 1] = g[0] * Re1 + g[1] * Rn1 + g[2] * Ru1
            H[row, 2] = g[0] * Re2 + g[1] * Rn2 + g[2] * Ru2
        m = int(sp[6])
        if m == 4:
            rr = (dx * x[3] + dy * x[4] + dz * x[5]) / rng
            z[3] = rr
            H[3, 0] = (x[3] - rr * dx / rng) / rng
            H[3, 1] = (x[4] - rr * dy / rng) / rng
            H[3, 2] = (x[5] - rr * dz / rng) / rng
            H[3, 3] = dx / rng
            H[3, 4] = dy / rng
            H[3, 5] = dz / rng
        return m
    # infrared line of sight from a satellite
    d = math.sqrt(dx * dx + dy * dy + dz * dz)
    ux = dx / d
    uy = dy / d
    uz = dz / d
    cX = ux * sp[11] + uy * sp[12] + uz * sp[13]
    cY = ux * sp[14] + uy * sp[15] + uz * sp[16]
    cZ = ux * sp[17] + uy * sp[18] + uz * sp[19]
    z[0] = math.atan2(cY, cX)
    z[1] = math.asin(min(1.0, max(-1.0, cZ)))
    # ∂u/∂p = (I − u uᵀ)/d; ∂α/∂(cX, cY) = (−cY, cX)/(cX² + cY²); ∂δ/∂cZ = 1/√(1 − cZ²)
    q2 = cX * cX + cY * cY
    dcz = 1.0 / math.sqrt(max(1e-300, 1.0 - cZ * cZ))
    for j in range(3):
        # derivative of (u · axis) wrt p_j = (axis_j − (u·axis) u_j)/d
        uj = ux if j == 0 else (uy if j == 1 else uz)
        dX = (sp[11 + j] - cX * uj) / d
        dY = (sp[14 + j] - cY * uj) / d
        dZ = (sp[17 + j] - cZ * uj) / d
        H[0, j] = (-cY * dX + cX * dY) / q2
        H[1, j] = dcz * dZ
    return 2


@kernel
def _innovation(
    x: np.ndarray,
    P: np.ndarray,
    Cs: np.ndarray,
    zm: np.ndarray,
    sp: np.ndarray,
    nu: np.ndarray,
    S: np.ndarray,
    H: np.ndarray,
) -> int:
    """ν = z − h(x) (azimuth / α wrapped) and S = H P Hᵀ + H Cs + Csᵀ Hᵀ + B + R; returns m. Cs (10, MAX_Z)
    is the cross-covariance of the state error (truth − estimate) with this sensor's bias, B its covariance
    (diagonal, standard deviations sp[I_BIAS:]): the bias enters the measurement additively, z = h(x) + b + v."""
    zp = np.empty(MAX_Z)
    m = measure_h(x, sp, zp, H)
    for i in range(m):
        nu[i] = zm[i] - zp[i]
    if nu[0] > math.pi:
        nu[0] -= 2.0 * math.pi
    elif nu[0] < -math.pi:
        nu[0] += 2.0 * math.pi
    for i in range(m):
        for j in range(m):
            s = 0.0
            for a in range(NX):
                ha = H[i, a]
                if ha != 0.0:
                    for b in range(NX):
                        s += ha * P[a, b] * H[j, b]
            for a in range(NX):
                s += H[i, a] * Cs[a, j] + Cs[a, i] * H[j, a]
            S[i, j] = s
        S[i, i] += sp[7 + i] * sp[7 + i] + sp[I_BIAS + i] * sp[I_BIAS + i]
    return m


@kernel
def _cholesky_inverse(S: np.ndarray, m: int, Sinv: np.ndarray) -> float:
    """Inverse of the symmetric positive definite top-left m×m block of S by Cholesky into Sinv; returns
    ln det S, or NaN if S is not positive definite."""
    L = np.zeros((MAX_Z, MAX_Z))
    for i in range(m):
        for j in range(i + 1):
            s = S[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            if i == j:
                if s <= 0.0:
                    return np.nan
                L[i, i] = math.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
    Linv = np.zeros((MAX_Z, MAX_Z))
    for i in range(m):
        Linv[i, i] = 1.0 / L[i, i]
        for j in range(i):
            s = 0.0
            for k in range(j, i):
                s -= L[i, k] * Linv[k, j]
            Linv[i, j] = s / L[i, i]
    for i in range(m):
        for j in range(m):
            s = 0.0
            for k in range(max(i, j), m):
                s += Linv[k, i] * Linv[k, j]
            Sinv[i, j] = s
    logdet = 0.0
    for i in range(m):
        logdet += 2.0 * math.log(L[i, i])
    return logdet


@kernel
def gate_batch(
    x: np.ndarray,
    P: np.ndarray,
    C: np.ndarray,
    live: np.ndarray,
    zm: np.ndarray,
    sp: np.ndarray,
    sensor: int,
    d2_max: float,
) -> np.ndarray:
    """Normalised innovation squared (NIS) of every (track, measurement) pair, (n, k); +inf for non-live
    tracks and for pairs beyond ``d2_max``. zm (k, MAX_Z) are measurements of the sensor ``sp``; x, P are
    already predicted to the measurement time; C (n, s, 10, MAX_Z) the bias cross-covariances (s may be 0:
    none), ``sensor`` the index of ``sp`` among them."""
    n = x.shape[0]
    Cz = np.zeros((NX, MAX_Z))
    k = zm.shape[0]
    out = np.full((n, k), np.inf)
    nu = np.empty(MAX_Z)
    S = np.empty((MAX_Z, MAX_Z))
    Sinv = np.empty((MAX_Z, MAX_Z))
    H = np.empty((MAX_Z, NX))
    zp = np.empty(MAX_Z)
    for i in range(n):
        if not live[i] or k == 0:
            continue
        Cs = C[i, sensor] if C.shape[1] > sensor else Cz
        # S and the predicted measurement once per track: ν = z − zp for each measurement
        m = _innovation(x[i], P[i], Cs, zm[0], sp, nu, S, H)
        if math.isnan(_cholesky_inverse(S, m, Sinv)):
            continue
        for a in range(m):
            zp[a] = zm[0, a] - nu[a]
        for j in range(k):
            for a in range(m):
                nu[a] = zm[j, a] - zp[a]
            while nu[0] > math.pi:
                nu[0] -= 2.0 * math.pi
            while nu[0] < -math.pi:
                nu[0] += 2.0 * math.pi
            d2 = 0.0
            for a in range(m):
                for b in range(m):
                    d2 += nu[a] * Sinv[a, b] * nu[b]
            if d2 <= d2_max:
                out[i, j] = d2
    return out


@kernel
def update_one(x: np.ndarray, P: np.ndarray, zm: np.ndarray, sp: np.ndarray) -> tuple[float, float]:
    """EKF update of one track in place with measurement ``zm`` of sensor ``sp``; returns (NIS, ln det S)
    (NaN, NaN if S was not positive definite, in which case nothing is changed)."""
    return update_one_c(x, P, np.zeros((0, NX, MAX_Z)), 0, zm, sp)


@kernel
def update_one_c(
    x: np.ndarray, P: np.ndarray, C: np.ndarray, sensor: int, zm: np.ndarray, sp: np.ndarray
) -> tuple[float, float]:
    """:func:`update_one` with the registration biases considered (Schmidt-Kalman; Tapley, Schutz & Born
    2004, §6.3): C (s, 10, MAX_Z) are the cross-covariances of the state error (truth − estimate) with every
    sensor's bias, ``sensor`` the index of ``sp``. With A = I − KH and B this sensor's bias covariance:
    K = (P Hᵀ + Cs) S⁻¹, P ← A P Aᵀ − A Cs Kᵀ − K Csᵀ Aᵀ + K (B + R) Kᵀ, Cs ← A Cs − K B, and for every
    other sensor C ← A C. The biases themselves are not estimated."""
    nu = np.empty(MAX_Z)
    S = np.empty((MAX_Z, MAX_Z))
    Sinv = np.empty((MAX_Z, MAX_Z))
    H = np.empty((MAX_Z, NX))
    has_c = C.shape[0] > sensor
    Cs = C[sensor] if has_c else np.zeros((NX, MAX_Z))
    m = _innovation(x, P, Cs, zm, sp, nu, S, H)
    logdet = _cholesky_inverse(S, m, Sinv)
    if math.isnan(logdet):
        return np.nan, np.nan
    nis = 0.0
    for a in range(m):
        for b in range(m):
            nis += nu[a] * Sinv[a, b] * nu[b]
    # PHᵀ + Cs (10, m), K = (PHᵀ + Cs) S⁻¹
    PHt = np.zeros((NX, MAX_Z))
    for i in range(NX):
        for a in range(m):
            s = Cs[i, a]
            for b in range(NX):
                s += P[i, b] * H[a, b]
            PHt[i, a] = s
    K = np.zeros((NX, MAX_Z))
    for i in range(NX):
        for a in range(m):
            s = 0.0
            for b in range(m):
                s += PHt[i, b] * Sinv[b, a]
            K[i, a] = s
    for i in range(NX):
        s = 0.0
        for a in range(m):
            s += K[i, a] * nu[a]
        x[i] += s
    # Joseph form: P = (I − KH) P (I − KH)ᵀ − (I − KH) Cs Kᵀ − K Csᵀ (I − KH)ᵀ + K (R + B) Kᵀ
    IKH = np.empty((NX, NX))
    for i in range(NX):
        for j in range(NX):
            s = 0.0
            for a in range(m):
                s += K[i, a] * H[a, j]
            IKH[i, j] = (1.0 if i == j else 0.0) - s
    T = np.empty((NX, NX))
    for i in range(NX):
        for j in range(NX):
            s = 0.0
            for c in range(NX):
                s += IKH[i, c] * P[c, j]
            T[i, j] = s
    # ACs = (I − KH) Cs (10, m)
    ACs = np.zeros((NX, MAX_Z))
    if has_c:
        for i in range(NX):
            for a in range(m):
                s = 0.0
                for c in range(NX):
                    s += IKH[i, c] * Cs[c, a]
                ACs[i, a] = s
    for i in range(NX):
        for j in range(i, NX):
            s = 0.0
            for c in range(NX):
                s += T[i, c] * IKH[j, c]
            for a in range(m):
                s += K[i, a] * K[j, a] * (sp[7 + a] * sp[7 + a] + sp[I_BIAS + a] * sp[I_BIAS + a])
                s -= ACs[i, a] * K[j, a] + K[i, a] * ACs[j, a]
            P[i, j] = s
            P[j, i] = s
    if has_c:
        Cn = np.empty((NX, MAX_Z))
        used = _nonzero_blocks(C)
        for si in range(C.shape[0]):
            if not used[si] and si != sensor:
                continue
            for i in range(NX):
                for a in range(MAX_Z):
                    s = 0.0
                    for c in range(NX):
                        s += IKH[i, c] * C[si, c, a]
                    Cn[i, a] = s
            if si == sensor:
                for i in range(NX):
                    for a in range(m):
                        Cn[i, a] -= K[i, a] * sp[I_BIAS + a] * sp[I_BIAS + a]
            for i in range(NX):
                for a in range(MAX_Z):
                    C[si, i, a] = Cn[i, a]
    return nis, logdet


@kernel
def update_batch(x: np.ndarray, P: np.ndarray, idx: np.ndarray, zm: np.ndarray, sp: np.ndarray) -> np.ndarray:
    """EKF update of tracks ``idx`` (a,) with measurements ``zm`` (a, MAX_Z) of sensor ``sp``; returns NIS (a,)."""
    out = np.empty(idx.shape[0])
    for a in range(idx.shape[0]):
        out[a] = update_one(x[idx[a]], P[idx[a]], zm[a], sp)[0]
    return out


@kernel
def init_from_radar(
    zm: np.ndarray, sp: np.ndarray, theta0: float, sigma_v_m_s: float, sigma_theta: float, sigma_a_m_s2: float
) -> tuple:
    """Single-point initiation from radar measurements zm (k, MAX_Z): position from (az, el, range), velocity
    zero with standard deviation ``sigma_v_m_s`` per axis (plus the range rate along the line of sight
    when measured), θ = ``theta0`` ± ``sigma_theta``, thrust acceleration 0 ± ``sigma_a_m_s2`` per axis.
    The position error includes the radar's registration bias: P_pos = G (R + B) Gᵀ, and its cross-covariance
    with the bias is −G B (G = ∂position/∂(az, el, range)). Returns (x (k,10), P (k,10,10), C (k,10,MAX_Z))."""
    k = zm.shape[0]
    x = np.zeros((k, NX))
    P = np.zeros((k, NX, NX))
    C = np.zeros((k, NX, MAX_Z))
    lat = sp[4]
    lon = sp[5]
    sl = math.sin(lat)
    cl = math.cos(lat)
    so = math.sin(lon)
    co = math.cos(lon)
    # columns of Rᵀ (ENU -> ECEF)
    M = np.array([[-so, -sl * co, cl * co], [co, -sl * so, cl * so], [0.0, cl, sl]])
    for i in range(k):
        az = zm[i, 0]
        el = zm[i, 1]
        r = zm[i, 2]
        ce = math.cos(el)
        se = math.sin(el)
        ca = math.cos(az)
        sa = math.sin(az)
        enu = np.array([r * ce * sa, r * ce * ca, r * se])
        # ∂enu/∂(az, el, r)
        J = np.array([[r * ce * ca, -r * se * sa, ce * sa], [-r * ce * sa, -r * se * ca, ce * ca], [0.0, r * ce, se]])
        G = M @ J  # ∂ecef/∂(az, el, r)
        for a in range(3):
            x[i, a] = sp[1 + a] + M[a, 0] * enu[0] + M[a, 1] * enu[1] + M[a, 2] * enu[2]
        for a in range(3):
            for b in range(3):
                s = 0.0
                for c in range(3):
                    s += G[a, c] * G[b, c] * (sp[7 + c] * sp[7 + c] + sp[I_BIAS + c] * sp[I_BIAS + c])
                P[i, a, b] = s
            for c in range(3):
                C[i, a, c] = -G[a, c] * sp[I_BIAS + c] * sp[I_BIAS + c]
        for a in range(3):
            P[i, 3 + a, 3 + a] = sigma_v_m_s * sigma_v_m_s
        if int(sp[6]) == 4:
            # velocity along the line of sight from the range rate: v = rr los + (isotropic rest)
            los = G[:, 2]  # unit line of sight in ECEF
            rr = zm[i, 3]
            for a in range(3):
                x[i, 3 + a] = rr * los[a]
            s2 = sp[10] * sp[10] - sigma_v_m_s * sigma_v_m_s
            for a in range(3):
                for b in range(3):
                    P[i, 3 + a, 3 + b] += s2 * los[a] * los[b]
        x[i, 6] = theta0
        P[i, 6, 6] = sigma_theta * sigma_theta
        for a in range(3):
            P[i, 7 + a, 7 + a] = sigma_a_m_s2 * sigma_a_m_s2
    return x, P, C


# ---------------------------------------------------------------------------------------------------------
# interacting multiple model (IMM) across flight phases
# ---------------------------------------------------------------------------------------------------------
# Models j = 0 (ballistic: gravity + drag, a_T pinned to 0 with no uncertainty) and j = 1 (boost: the same
# dynamics plus the thrust acceleration a_T as a random walk). Per track: model states xm (n, 2, 10),
# covariances Pm (n, 2, 10, 10) and model probabilities mu (n, 2). Mode switching is a continuous-time Markov
# chain with rates ``rates`` (2,) [ballistic -> boost, boost -> ballistic] (1/s), so the transition matrix
# over Δt is π01 = 1 − exp(−rates[0] Δt), π10 = 1 − exp(−rates[1] Δt). Blom & Bar-Shalom (1988); Bar-Shalom,
# Li & Kirubarajan (2001) §11.6.6: mixing, model-matched prediction and update, probability update,
# combination.


@kernel
def imm_predict_batch(
    xm: np.ndarray,
    Pm: np.ndarray,
    Cm: np.ndarray,
    mu: np.ndarray,
    t_s: np.ndarray,
    live: np.ndarray,
    t_to_s: float,
    q_acc: np.ndarray,
    q_jerk: np.ndarray,
    q_theta: float,
    rates: np.ndarray,
    params: np.ndarray,
    atm: np.ndarray,
) -> None:
    """IMM mixing and prediction of every live track in place to ``t_to_s``; ``q_acc``, ``q_jerk`` (2,) per
    model. After mixing, the ballistic model's thrust acceleration is set to exactly 0. Cm (n, 2, s, 10,
    MAX_Z): the bias cross-covariances of each model, mixed with the same weights (the biases have zero mean
    under every model) and predicted with the state.

    ``rates`` (2,) or (3,): [ballistic -> accelerating, accelerating -> ballistic(, ballistic -> accelerating
    while descending in the air)]. The third rate applies to a track whose ballistic-model state is below
    ``params[5]`` (the atmosphere height) and descending: there the accelerating model's a_T stands for an
    aerodynamic manoeuvre (the lift of a quasi-ballistic glide), which a coasting missile in vacuum cannot
    make (Bar-Shalom, Li & Kirubarajan 2001, §11.7: a manoeuvre model in the IMM)."""
    ns = Cm.shape[2]
    x0 = np.empty((2, NX))
    P0 = np.empty((2, NX, NX))
    C0 = np.empty((2, ns, NX, MAX_Z))
    for i in range(xm.shape[0]):
        if not live[i] or t_s[i] == t_to_s:
            continue
        dt = abs(t_to_s - t_s[i])
        r01 = rates[0]
        qa1 = q_acc[1]
        qj1 = q_jerk[1]
        if rates.shape[0] > 2:
            xb = xm[i, 0]
            radial_v = xb[0] * xb[3] + xb[1] * xb[4] + xb[2] * xb[5]
            if radial_v < 0.0 and height_above_ellipsoid_radial(xb[0], xb[1], xb[2]) < params[5]:
                r01 = max(r01, rates[2])
                if q_acc.shape[0] > 2:
                    qa1 = q_acc[2]
                if q_jerk.shape[0] > 2:
                    qj1 = q_jerk[2]
        p01 = 1.0 - math.exp(-r01 * dt)
        p10 = 1.0 - math.exp(-rates[1] * dt)
        pi00 = 1.0 - p01
        pi11 = 1.0 - p10
        c0 = pi00 * mu[i, 0] + p10 * mu[i, 1]
        c1 = p01 * mu[i, 0] + pi11 * mu[i, 1]
        # mixing weights w[a, j] = P(model a before | model j after)
        w00 = pi00 * mu[i, 0] / c0
        w10 = p10 * mu[i, 1] / c0
        w01 = p01 * mu[i, 0] / c1
        w11 = pi11 * mu[i, 1] / c1
        for j in range(2):
            wa = w00 if j == 0 else w01
            wb = w10 if j == 0 else w11
            for a in range(NX):
                x0[j, a] = wa * xm[i, 0, a] + wb * xm[i, 1, a]
            for a in range(NX):
                da0 = xm[i, 0, a] - x0[j, a]
                da1 = xm[i, 1, a] - x0[j, a]
                for b in range(NX):
                    db0 = xm[i, 0, b] - x0[j, b]
                    db1 = xm[i, 1, b] - x0[j, b]
                    P0[j, a, b] = wa * (Pm[i, 0, a, b] + da0 * db0) + wb * (Pm[i, 1, a, b] + da1 * db1)
            for si in range(ns):
                for a in range(NX):
                    for c in range(MAX_Z):
                        C0[j, si, a, c] = wa * Cm[i, 0, si, a, c] + wb * Cm[i, 1, si, a, c]
        for a in range(I_ACC, NX):
            x0[0, a] = 0.0
            for b in range(NX):
                P0[0, a, b] = 0.0
                P0[0, b, a] = 0.0
            for si in range(ns):
                for c in range(MAX_Z):
                    C0[0, si, a, c] = 0.0
        for j in range(2):
            for a in range(NX):
                xm[i, j, a] = x0[j, a]
                for b in range(NX):
                    Pm[i, j, a, b] = P0[j, a, b]
                for si in range(ns):
                    for c in range(MAX_Z):
                        Cm[i, j, si, a, c] = C0[j, si, a, c]
            qa = q_acc[j] if j == 0 else qa1
            qj = q_jerk[j] if j == 0 else qj1
            predict_one_c(xm[i, j], Pm[i, j], Cm[i, j], t_to_s - t_s[i], qa, qj, q_theta, params, atm)
        mu[i, 0] = c0
        mu[i, 1] = c1
        t_s[i] = t_to_s


@kernel
def imm_combine_c(Cm: np.ndarray, mu: np.ndarray, C: np.ndarray) -> None:
    """Combined bias cross-covariances C = Σ μj Cj of every track into C (n, s, 10, MAX_Z)."""
    for i in range(Cm.shape[0]):
        for si in range(Cm.shape[2]):
            for a in range(NX):
                for c in range(MAX_Z):
                    C[i, si, a, c] = mu[i, 0] * Cm[i, 0, si, a, c] + mu[i, 1] * Cm[i, 1, si, a, c]


@kernel
def imm_combine(xm: np.ndarray, Pm: np.ndarray, mu: np.ndarray, x: np.ndarray, P: np.ndarray) -> None:
    """Combined estimate of every track: x = Σ μj xj, P = Σ μj (Pj + (xj − x)(xj − x)ᵀ), into x (n,10), P (n,10,10)."""
    for i in range(xm.shape[0]):
        for a in range(NX):
            x[i, a] = mu[i, 0] * xm[i, 0, a] + mu[i, 1] * xm[i, 1, a]
        for a in range(NX):
            for b in range(NX):
                s = 0.0
                for j in range(2):
                    s += mu[i, j] * (Pm[i, j, a, b] + (xm[i, j, a] - x[i, a]) * (xm[i, j, b] - x[i, b]))
                P[i, a, b] = s


@kernel
def imm_update_batch(
    xm: np.ndarray,
    Pm: np.ndarray,
    Cm: np.ndarray,
    mu: np.ndarray,
    idx: np.ndarray,
    zm: np.ndarray,
    sp: np.ndarray,
    sensor: int,
) -> np.ndarray:
    """IMM update of tracks ``idx`` (a,) with measurements ``zm`` (a, MAX_Z) of sensor ``sp`` (index
    ``sensor`` in the bias cross-covariances Cm (n, 2, s, 10, MAX_Z); s may be 0): each model updated
    (:func:`update_one_c`), model probabilities μj ∝ Λj μj with Λj = N(ν; 0, Sj). Returns the NIS of the most
    probable model after the update, (a,)."""
    out = np.empty(idx.shape[0])
    m = int(sp[6])
    for a in range(idx.shape[0]):
        i = idx[a]
        ll = np.empty(2)
        nis = np.empty(2)
        for j in range(2):
            nis[j], logdet = update_one_c(xm[i, j], Pm[i, j], Cm[i, j], sensor, zm[a], sp)
            ll[j] = -0.5 * (nis[j] + logdet + m * math.log(2.0 * math.pi))
        if math.isnan(ll[0]) or math.isnan(ll[1]):
            out[a] = nis[0] if math.isnan(ll[1]) else nis[1]
            continue
        top = max(ll[0], ll[1])
        w0 = mu[i, 0] * math.exp(ll[0] - top)
        w1 = mu[i, 1] * math.exp(ll[1] - top)
        s = w0 + w1
        # keep both models alive: probabilities floored at 1e-6
        mu0 = min(max(w0 / s, 1e-6), 1.0 - 1e-6)
        mu[i, 0] = mu0
        mu[i, 1] = 1.0 - mu0
        out[a] = nis[0] if mu0 >= 0.5 else nis[1]
    return out


# ---------------------------------------------------------------------------------------------------------
# infrared lines of sight: triangulation of two satellites
# ---------------------------------------------------------------------------------------------------------


@kernel
def los_unit(z: np.ndarray, sp: np.ndarray) -> tuple[float, float, float]:
    """Unit line of sight (ECEF) of the angles z = [α, δ] of the infrared sensor ``sp``:
    u = cos δ cos α X + cos δ sin α Y + sin δ Z (the inverse of :func:`measure_h`'s infrared model)."""
    ca = math.cos(z[0])
    sa = math.sin(z[0])
    cd = math.cos(z[1])
    sd = math.sin(z[1])
    return (
        cd * ca * sp[11] + cd * sa * sp[14] + sd * sp[17],
        cd * ca * sp[12] + cd * sa * sp[15] + sd * sp[18],
        cd * ca * sp[13] + cd * sa * sp[16] + sd * sp[19],
    )


@kernel
def los_crossings(
    za: np.ndarray,
    spa: np.ndarray,
    zb: np.ndarray,
    spb: np.ndarray,
    gate_extra_m: float,
    n_sigma: float,
    max_height_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Where lines of sight za (ka, 2) of satellite ``spa`` and zb (kb, 2) of ``spb`` cross.

    For the rays pa + s ua and pb + t ub the closest points are s = (b e − d)/(1 − b²), t = (e − b d)/(1 − b²)
    with b = ua·ub, d = ua·(pa − pb), e = ub·(pa − pb). A pair crosses when both are in front of their
    satellites, the miss distance is at most n_sigma (σa s + σb t) + ``gate_extra_m`` (σ the sensors' angle
    noise, sp[7]) and the midpoint's height is in [0, ``max_height_m``]. Returns (midpoints (ka, kb, 3),
    crossing (ka, kb) bool)."""
    ka = za.shape[0]
    kb = zb.shape[0]
    mid = np.zeros((ka, kb, 3))
    ok = np.zeros((ka, kb), np.bool_)
    wx = spa[1] - spb[1]
    wy = spa[2] - spb[2]
    wz = spa[3] - spb[3]
    for i in range(ka):
        ax, ay, az = los_unit(za[i], spa)
        d = ax * wx + ay * wy + az * wz
        for j in range(kb):
            bx, by, bz = los_unit(zb[j], spb)
            b = ax * bx + ay * by + az * bz
            den = 1.0 - b * b
            if den < 1e-8:
                continue
            e = bx * wx + by * wy + bz * wz
            s = (b * e - d) / den
            t = (e - b * d) / den
            if s <= 0.0 or t <= 0.0:
                continue
            c1x = spa[1] + s * ax
            c1y = spa[2] + s * ay
            c1z = spa[3] + s * az
            c2x = spb[1] + t * bx
            c2y = spb[2] + t * by
            c2z = spb[3] + t * bz
            miss = math.sqrt((c1x - c2x) ** 2 + (c1y - c2y) ** 2 + (c1z - c2z) ** 2)
            if miss > n_sigma * (spa[7] * s + spb[7] * t) + gate_extra_m:
                continue
            mx = 0.5 * (c1x + c2x)
            my = 0.5 * (c1y + c2y)
            mz = 0.5 * (c1z + c2z)
            h = height_above_ellipsoid_radial(mx, my, mz)
            if h < 0.0 or h > max_height_m:
                continue
            mid[i, j, 0] = mx
            mid[i, j, 1] = my
            mid[i, j, 2] = mz
            ok[i, j] = True
    return mid, ok


@kernel
def triangulate_los(za: np.ndarray, spa: np.ndarray, zb: np.ndarray, spb: np.ndarray) -> tuple:
    """Weighted closest approach of two lines of sight (angles za, zb (2,) of the infrared sensors ``spa``,
    ``spb``): the point X minimising Σᵢ |(I − uᵢuᵢᵀ)(X − pᵢ)|² / (σᵢ rᵢ)², with pᵢ the satellite, uᵢ its unit
    line of sight, rᵢ the range to X and σᵢ² = σ² + σ_b² the angle noise plus registration bias of the
    sensor (sp[7], sp[I_BIAS]). Normal equations Σᵢ Wᵢ (X − pᵢ) = 0 with Wᵢ = (I − uᵢuᵢᵀ)/(σᵢ rᵢ)²; the
    ranges are those of the unweighted closest points, then refined once. The covariance of X is
    (Σᵢ Wᵢ)⁻¹: small across both lines of sight, largest along the bisector when they cross at a shallow angle.
    Returns (X (3,), P (3, 3), ok); ok is False when the lines are parallel or the point is behind a
    satellite."""
    X = np.zeros(3)
    P = np.zeros((3, 3))
    ua = np.array(los_unit(za, spa))
    ub = np.array(los_unit(zb, spb))
    pa = spa[1:4].copy()
    pb = spb[1:4].copy()
    w = pa - pb
    b = ua @ ub
    den = 1.0 - b * b
    if den < 1e-8:
        return X, P, False
    d = ua @ w
    e = ub @ w
    s = (b * e - d) / den
    t = (e - b * d) / den
    if s <= 0.0 or t <= 0.0:
        return X, P, False
    X[:] = 0.5 * (pa + s * ua + pb + t * ub)
    va = spa[7] * spa[7] + spa[I_BIAS] * spa[I_BIAS]
    vb = spb[7] * spb[7] + spb[I_BIAS] * spb[I_BIAS]
    eye = np.eye(3)
    for _ in range(2):
        ra = math.sqrt(np.sum((X - pa) ** 2))
        rb = math.sqrt(np.sum((X - pb) ** 2))
        Wa = (eye - np.outer(ua, ua)) / (va * ra * ra)
        Wb = (eye - np.outer(ub, ub)) / (vb * rb * rb)
        Wsum = Wa + Wb
        P[:, :] = np.linalg.inv(Wsum)
        X[:] = P @ (Wa @ pa + Wb @ pb)
    return X, P, True


@kernel
def predicted_angles(x: np.ndarray, P: np.ndarray, rows: np.ndarray, sp: np.ndarray) -> tuple:
    """Predicted line-of-sight angles of the tracks ``rows`` (r,) of x (n, 10), P (n, 10, 10) as seen by the
    infrared sensor ``sp`` and their covariances H P Hᵀ (position block: the angles depend on the position
    only; no measurement noise): (z (r, MAX_Z), S (r, MAX_Z, MAX_Z)), the first two components used."""
    r = rows.shape[0]
    z = np.zeros((r, MAX_Z))
    S = np.zeros((r, MAX_Z, MAX_Z))
    H = np.empty((MAX_Z, NX))
    zi = np.empty(MAX_Z)
    for a in range(r):
        i = rows[a]
        m = measure_h(x[i], sp, zi, H)
        for u in range(m):
            z[a, u] = zi[u]
            for v in range(m):
                s = 0.0
                for p in range(3):
                    for q in range(3):
                        s += H[u, p] * P[i, p, q] * H[v, q]
                S[a, u, v] = s
    return z, S
