"""Measurement models of the tracking filter: the sensor parameter rows (:mod:`.layout`) and z = h(x) with
its Jacobian H.

- radar: z = [az, el, range(, range rate)] in the site's ENU frame (az clockwise from north);
- ir: z = [α, δ], line of sight from a satellite at ``site`` in the satellite frame with unit axes
  X (nadir), Y, Z: α = atan2(u·Y, u·X), δ = asin(u·Z), u the unit vector from the satellite to the target.
"""

from __future__ import annotations

import math

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.tracking.layout import I_BIAS, KIND_IR, KIND_RADAR, MAX_Z, NX, SP_LEN
from triwarn.core.trajectory.frames import ecef_vec_to_enu, enu_to_aer


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
