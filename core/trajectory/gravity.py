"""Gravity of the Earth as a point mass plus the J2 zonal term, in an Earth-centred frame.

Glossary (SI units)
-------------------
μ ``mu_m3_s2`` gravitational parameter; Re ``re_m`` reference radius of J2; J2 ``j2`` (unnormalized);
ω ``omega_rad_s`` Earth rotation rate about +z; r = |r|; the frame's z axis is the Earth's rotation axis.
Pass ``j2 = 0`` for a point mass and ``omega_rad_s = 0`` for a non-rotating frame.
Defaults are in :mod:`triwarn.core.trajectory.constants` (``GM_M3_S2, RE_J2_M, J2, OMEGA_E_RAD_S``).

Formulas (textbook, e.g. Vallado, "Fundamentals of Astrodynamics", 4th ed., eq. 8-30)
-------------------------------------------------------------------------------------
- point mass: a = −μ r / r³
- J2:        a_J2 = −(3/2) J2 μ Re²/r⁵ · [x(1 − 5z²/r²), y(1 − 5z²/r²), z(3 − 5z²/r²)]
- potential energy per unit mass: V = −μ/r + (μ J2 Re² / (2 r³)) (3 z²/r² − 1), so that a = −∇V
- rotating frame (ECEF): a_ecef = a_grav − 2 ω×v − ω×(ω×r), ω = [0, 0, ω]
- the Jacobi integral E_J = ½|v_ecef|² + V − ½ω²(x² + y²) is conserved along a drag-free ECEF flight.

Public kernels
--------------
- ``accel_j2_inertial(x_m, y_m, z_m, mu_m3_s2, re_m, j2) -> (ax, ay, az)`` [m/s²], in ECI or ECEF axes
  (gravity alone: no frame terms).
- ``accel_j2_ecef_rotating(x_m, y_m, z_m, vx_m_s, vy_m_s, vz_m_s, mu_m3_s2, re_m, j2, omega_rad_s)
  -> (ax, ay, az)``: gravity plus Coriolis and centrifugal accelerations in the rotating ECEF frame.
- ``potential_j2(x_m, y_m, z_m, mu_m3_s2, re_m, j2) -> V`` [J/kg = m²/s²].
- ``jacobi_energy(x, y, z, vx, vy, vz, mu_m3_s2, re_m, j2, omega_rad_s) -> E_J`` [J/kg].
- batch forms: ``accel_j2_inertial_batch(pos_m (n,3), mu, re, j2) -> (n,3)``,
  ``accel_j2_ecef_rotating_batch(pos_ecef_m (n,3), vel_ecef_m_s (n,3), mu, re, j2, omega) -> (n,3)``.
"""

from __future__ import annotations

import math

import numpy as np

from triwarn.core.jit import kernel


@kernel
def accel_j2_inertial(
    x_m: float, y_m: float, z_m: float, mu_m3_s2: float, re_m: float, j2: float
) -> tuple[float, float, float]:
    """Point-mass + J2 gravitational acceleration (m/s²) at position (m) in Earth-centred axes."""
    r2 = x_m * x_m + y_m * y_m + z_m * z_m
    r = math.sqrt(r2)
    mu_r3 = mu_m3_s2 / (r2 * r)
    zz = 5.0 * z_m * z_m / r2
    k = -1.5 * j2 * mu_m3_s2 * re_m * re_m / (r2 * r2 * r)
    ax = -mu_r3 * x_m + k * x_m * (1.0 - zz)
    ay = -mu_r3 * y_m + k * y_m * (1.0 - zz)
    az = -mu_r3 * z_m + k * z_m * (3.0 - zz)
    return ax, ay, az


@kernel
def accel_j2_ecef_rotating(
    x_m: float,
    y_m: float,
    z_m: float,
    vx_m_s: float,
    vy_m_s: float,
    vz_m_s: float,
    mu_m3_s2: float,
    re_m: float,
    j2: float,
    omega_rad_s: float,
) -> tuple[float, float, float]:
    """Apparent acceleration (m/s²) in the rotating ECEF frame: gravity − 2ω×v − ω×(ω×r).

    With ω = [0, 0, ω]: −2ω×v = [2ω vy, −2ω vx, 0] and −ω×(ω×r) = [ω² x, ω² y, 0].
    """
    ax, ay, az = accel_j2_inertial(x_m, y_m, z_m, mu_m3_s2, re_m, j2)
    w2 = omega_rad_s * omega_rad_s
    ax += 2.0 * omega_rad_s * vy_m_s + w2 * x_m
    ay += -2.0 * omega_rad_s * vx_m_s + w2 * y_m
    return ax, ay, az


@kernel
def potential_j2(x_m: float, y_m: float, z_m: float, mu_m3_s2: float, re_m: float, j2: float) -> float:
    """Gravitational potential energy per unit mass V (J/kg), with a = −∇V and V → 0 at infinity."""
    r2 = x_m * x_m + y_m * y_m + z_m * z_m
    r = math.sqrt(r2)
    return -mu_m3_s2 / r + 0.5 * mu_m3_s2 * j2 * re_m * re_m / (r2 * r) * (3.0 * z_m * z_m / r2 - 1.0)


@kernel
def jacobi_energy(
    x_m: float,
    y_m: float,
    z_m: float,
    vx_m_s: float,
    vy_m_s: float,
    vz_m_s: float,
    mu_m3_s2: float,
    re_m: float,
    j2: float,
    omega_rad_s: float,
) -> float:
    """Jacobi integral (J/kg) of a drag-free flight in the rotating frame: ½|v|² + V − ½ω²(x² + y²).

    With ``omega_rad_s = 0`` it is the ordinary specific orbital energy in an inertial frame.
    """
    v2 = vx_m_s * vx_m_s + vy_m_s * vy_m_s + vz_m_s * vz_m_s
    V = potential_j2(x_m, y_m, z_m, mu_m3_s2, re_m, j2)
    return 0.5 * v2 + V - 0.5 * omega_rad_s * omega_rad_s * (x_m * x_m + y_m * y_m)


@kernel
def accel_j2_inertial_batch(pos_m: np.ndarray, mu_m3_s2: float, re_m: float, j2: float) -> np.ndarray:
    """(n,3) positions (m) -> (n,3) point-mass + J2 accelerations (m/s²)."""
    n = pos_m.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2] = accel_j2_inertial(pos_m[i, 0], pos_m[i, 1], pos_m[i, 2], mu_m3_s2, re_m, j2)
    return out


@kernel
def accel_j2_ecef_rotating_batch(
    pos_ecef_m: np.ndarray, vel_ecef_m_s: np.ndarray, mu_m3_s2: float, re_m: float, j2: float, omega_rad_s: float
) -> np.ndarray:
    """(n,3) ECEF positions (m) and velocities (m/s) -> (n,3) apparent accelerations in ECEF (m/s²)."""
    n = pos_ecef_m.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2] = accel_j2_ecef_rotating(
            pos_ecef_m[i, 0],
            pos_ecef_m[i, 1],
            pos_ecef_m[i, 2],
            vel_ecef_m_s[i, 0],
            vel_ecef_m_s[i, 1],
            vel_ecef_m_s[i, 2],
            mu_m3_s2,
            re_m,
            j2,
            omega_rad_s,
        )
    return out
