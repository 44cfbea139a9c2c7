"""Reference frames and geodesy on the WGS-84 ellipsoid: numba kernels on plain floats and float64 arrays.

Glossary (SI units everywhere; angles in radians inside kernels)
----------------------------------------------------------------
- geodetic: latitude φ ``lat_rad`` (−π/2..π/2), longitude λ ``lon_rad`` (−π..π), ellipsoidal height ``h_m``.
- ECEF: Earth-centred, Earth-fixed Cartesian (WGS-84), ``pos_ecef_m``, ``vel_ecef_m_s``.
- ECI: Earth-centred "inertial" frame obtained by rotating ECEF about z by the Earth rotation angle θ (ERA).
  It ignores precession, nutation and polar motion (they move the pole by < 0.5″ per year from the
  equator of date), so it is the celestial intermediate frame of date, not GCRS: the right frame to integrate
  a missile flight of minutes in, not to point a telescope with.
- ENU: local east, north, up at a site given by its geodetic coordinates (``lat0_rad, lon0_rad, h0_m``).
- AER: azimuth ``az_rad`` (clockwise from north, 0..2π), elevation ``el_rad`` (−π/2..π/2), slant range
  ``range_m``, from the ENU frame of the site.

Two forms of every transform
----------------------------
- **Scalar** kernels (the names below) take and return plain floats (tuples), so that other numba kernels
  can call them without allocating: e.g. ``x, y, z = geodetic_to_ecef(lat, lon, h)``.
- **Batch** kernels (``*_batch``) take C-contiguous float64 arrays of shape (n, 3) (or (n,) for per-row
  angles) and return new (n, 3) arrays.

Public kernels (scalar -> batch)
--------------------------------
- ``geodetic_to_ecef(lat_rad, lon_rad, h_m) -> (x_m, y_m, z_m)``;
  ``geodetic_to_ecef_batch(lla (n,3) [lat_rad, lon_rad, h_m]) -> pos_ecef_m (n,3)``.
- ``ecef_to_geodetic(x_m, y_m, z_m) -> (lat_rad, lon_rad, h_m)``;
  ``ecef_to_geodetic_batch(pos_ecef_m (n,3)) -> lla (n,3)``. Bowring iteration, < 0.1 mm everywhere tested
  (poles, equator, −1 km .. 50 000 km).
- ``ecef_to_enu(x_m, y_m, z_m, lat0_rad, lon0_rad, h0_m) -> (e_m, n_m, u_m)`` and
  ``enu_to_ecef(e_m, n_m, u_m, lat0_rad, lon0_rad, h0_m) -> (x_m, y_m, z_m)`` (positions; the site origin is
  subtracted/added); batch forms take (n,3) and the site scalars.
- ``ecef_vec_to_enu(vx, vy, vz, lat0_rad, lon0_rad)`` and ``enu_vec_to_ecef(ve, vn, vu, lat0_rad, lon0_rad)``:
  rotation only, for velocities and other free vectors.
- ``enu_to_aer(e_m, n_m, u_m) -> (az_rad, el_rad, range_m)``; ``aer_to_enu(az_rad, el_rad, range_m)``.
- ``ecef_to_aer(x_m, y_m, z_m, lat0_rad, lon0_rad, h0_m) -> (az_rad, el_rad, range_m)`` and
  ``aer_to_ecef(az_rad, el_rad, range_m, lat0_rad, lon0_rad, h0_m) -> (x_m, y_m, z_m)``; batch forms.
- ``earth_rotation_angle(t_ut1_s_since_j2000) -> era_rad`` (IERS 2010 eq. 5.15, 0..2π).
- ``ecef_to_eci(x, y, z, vx, vy, vz, era_rad, omega_rad_s) -> (6-tuple ECI pos m, vel m/s)`` with
  r_eci = R3(−θ) r_ecef and v_eci = R3(−θ)(v_ecef + ω×r_ecef); ``eci_to_ecef`` is its exact inverse.
  Batch forms take pos (n,3), vel (n,3), era_rad (n,) and ω, and return (pos (n,3), vel (n,3)).
- ``geodesic_inverse(lat1, lon1, lat2, lon2) -> (s_m, az1_rad, az2_rad)`` (Vincenty 1975, with a robust
  fallback for nearly antipodal points) and ``geodesic_direct(lat1, lon1, az1, s_m) -> (lat2, lon2, az2)``;
  batch forms on (n,) arrays. az2 is the forward azimuth at the second point.

The ellipsoid is WGS-84 from :mod:`triwarn.core.trajectory.constants` (plain floats frozen at compile time).
"""

from __future__ import annotations

import math

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.trajectory.constants import (
    A_M,
    B_M,
    E2,
    EP2,
    ERA_AT_J2000_REV,
    ERA_RATE_REV_PER_UT1_DAY,
    SECONDS_PER_DAY,
)
from triwarn.core.trajectory.constants import F as FLAT

TWO_PI = 2.0 * math.pi

# ---------------------------------------------------------------------------------------------------------
# geodetic <-> ECEF
# ---------------------------------------------------------------------------------------------------------


@kernel
def geodetic_to_ecef(lat_rad: float, lon_rad: float, h_m: float) -> tuple[float, float, float]:
    """Geodetic (rad, rad, m) -> ECEF (m). N = a/√(1 − e² sin²φ); X = (N+h)cosφcosλ, ... (physics.md)."""
    sin_lat = math.sin(lat_rad)
    cos_lat = math.cos(lat_rad)
    N = A_M / math.sqrt(1.0 - E2 * sin_lat * sin_lat)
    x = (N + h_m) * cos_lat * math.cos(lon_rad)
    y = (N + h_m) * cos_lat * math.sin(lon_rad)
    z = (N * (1.0 - E2) + h_m) * sin_lat
    return x, y, z


@kernel
def ecef_to_geodetic(x_m: float, y_m: float, z_m: float) -> tuple[float, float, float]:
    """ECEF (m) -> geodetic (lat_rad, lon_rad, h_m).

    Bowring's (1976) iteration on the parametric latitude β: φ = atan2(z + e'² b sin³β, p − e² a cos³β),
    tan β = (1 − f) tan φ, started from tan β0 = z / ((1 − f) p). It converges to machine precision in two or
    three steps from the surface to beyond geostationary height; the height uses
    h = p cos φ + z sin φ − a √(1 − e² sin²φ), which holds at the poles too. The origin maps to (0, 0, −a).
    """
    p = math.hypot(x_m, y_m)
    lon = math.atan2(y_m, x_m)
    if p == 0.0 and z_m == 0.0:
        return 0.0, lon, -A_M
    beta = math.atan2(z_m, (1.0 - FLAT) * p)
    lat = 0.0
    for _ in range(8):
        sb = math.sin(beta)
        cb = math.cos(beta)
        lat_new = math.atan2(z_m + EP2 * B_M * sb * sb * sb, p - E2 * A_M * cb * cb * cb)
        beta = math.atan2((1.0 - FLAT) * math.sin(lat_new), math.cos(lat_new))
        if abs(lat_new - lat) < 1e-15:
            lat = lat_new
            break
        lat = lat_new
    sin_lat = math.sin(lat)
    h = p * math.cos(lat) + z_m * sin_lat - A_M * math.sqrt(1.0 - E2 * sin_lat * sin_lat)
    return lat, lon, h


@kernel
def geodetic_to_ecef_batch(lla: np.ndarray) -> np.ndarray:
    """(n,3) [lat_rad, lon_rad, h_m] -> (n,3) ECEF m."""
    n = lla.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2] = geodetic_to_ecef(lla[i, 0], lla[i, 1], lla[i, 2])
    return out


@kernel
def ecef_to_geodetic_batch(pos_ecef_m: np.ndarray) -> np.ndarray:
    """(n,3) ECEF m -> (n,3) [lat_rad, lon_rad, h_m]."""
    n = pos_ecef_m.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2] = ecef_to_geodetic(pos_ecef_m[i, 0], pos_ecef_m[i, 1], pos_ecef_m[i, 2])
    return out


# ---------------------------------------------------------------------------------------------------------
# ECEF <-> ENU <-> AER
# ---------------------------------------------------------------------------------------------------------


@kernel
def ecef_vec_to_enu(vx: float, vy: float, vz: float, lat0_rad: float, lon0_rad: float) -> tuple[float, float, float]:
    """Rotate a free vector (velocity, difference) from ECEF axes to the ENU axes at (lat0, lon0)."""
    sl = math.sin(lat0_rad)
    cl = math.cos(lat0_rad)
    so = math.sin(lon0_rad)
    co = math.cos(lon0_rad)
    e = -so * vx + co * vy
    n = -sl * co * vx - sl * so * vy + cl * vz
    u = cl * co * vx + cl * so * vy + sl * vz
    return e, n, u


@kernel
def enu_vec_to_ecef(ve: float, vn: float, vu: float, lat0_rad: float, lon0_rad: float) -> tuple[float, float, float]:
    """Rotate a free vector from the ENU axes at (lat0, lon0) to ECEF axes (transpose of ecef_vec_to_enu)."""
    sl = math.sin(lat0_rad)
    cl = math.cos(lat0_rad)
    so = math.sin(lon0_rad)
    co = math.cos(lon0_rad)
    x = -so * ve - sl * co * vn + cl * co * vu
    y = co * ve - sl * so * vn + cl * so * vu
    z = cl * vn + sl * vu
    return x, y, z


@kernel
def ecef_to_enu(
    x_m: float, y_m: float, z_m: float, lat0_rad: float, lon0_rad: float, h0_m: float
) -> tuple[float, float, float]:
    """ECEF position (m) -> ENU (m) relative to the site (lat0_rad, lon0_rad, h0_m)."""
    x0, y0, z0 = geodetic_to_ecef(lat0_rad, lon0_rad, h0_m)
    return ecef_vec_to_enu(x_m - x0, y_m - y0, z_m - z0, lat0_rad, lon0_rad)


@kernel
def enu_to_ecef(
    e_m: float, n_m: float, u_m: float, lat0_rad: float, lon0_rad: float, h0_m: float
) -> tuple[float, float, float]:
    """ENU position (m) at the site (lat0_rad, lon0_rad, h0_m) -> ECEF (m)."""
    x0, y0, z0 = geodetic_to_ecef(lat0_rad, lon0_rad, h0_m)
    dx, dy, dz = enu_vec_to_ecef(e_m, n_m, u_m, lat0_rad, lon0_rad)
    return x0 + dx, y0 + dy, z0 + dz


@kernel
def enu_to_aer(e_m: float, n_m: float, u_m: float) -> tuple[float, float, float]:
    """ENU (m) -> azimuth (rad, clockwise from north, 0..2π), elevation (rad), slant range (m)."""
    horiz = math.hypot(e_m, n_m)
    az = math.atan2(e_m, n_m)
    if az < 0.0:
        az += TWO_PI
    el = math.atan2(u_m, horiz)
    return az, el, math.hypot(horiz, u_m)


@kernel
def aer_to_enu(az_rad: float, el_rad: float, range_m: float) -> tuple[float, float, float]:
    """Azimuth, elevation (rad), slant range (m) -> ENU (m)."""
    horiz = range_m * math.cos(el_rad)
    return horiz * math.sin(az_rad), horiz * math.cos(az_rad), range_m * math.sin(el_rad)


@kernel
def ecef_to_aer(
    x_m: float, y_m: float, z_m: float, lat0_rad: float, lon0_rad: float, h0_m: float
) -> tuple[float, float, float]:
    """ECEF position (m) -> (az_rad, el_rad, range_m) seen from the site (lat0_rad, lon0_rad, h0_m)."""
    e, n, u = ecef_to_enu(x_m, y_m, z_m, lat0_rad, lon0_rad, h0_m)
    return enu_to_aer(e, n, u)


@kernel
def aer_to_ecef(
    az_rad: float, el_rad: float, range_m: float, lat0_rad: float, lon0_rad: float, h0_m: float
) -> tuple[float, float, float]:
    """(az_rad, el_rad, range_m) from the site (lat0_rad, lon0_rad, h0_m) -> ECEF position (m)."""
    e, n, u = aer_to_enu(az_rad, el_rad, range_m)
    return enu_to_ecef(e, n, u, lat0_rad, lon0_rad, h0_m)


@kernel
def ecef_to_enu_batch(pos_ecef_m: np.ndarray, lat0_rad: float, lon0_rad: float, h0_m: float) -> np.ndarray:
    """(n,3) ECEF m -> (n,3) ENU m at one site."""
    x0, y0, z0 = geodetic_to_ecef(lat0_rad, lon0_rad, h0_m)
    n = pos_ecef_m.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2] = ecef_vec_to_enu(
            pos_ecef_m[i, 0] - x0, pos_ecef_m[i, 1] - y0, pos_ecef_m[i, 2] - z0, lat0_rad, lon0_rad
        )
    return out


@kernel
def enu_to_ecef_batch(pos_enu_m: np.ndarray, lat0_rad: float, lon0_rad: float, h0_m: float) -> np.ndarray:
    """(n,3) ENU m at one site -> (n,3) ECEF m."""
    x0, y0, z0 = geodetic_to_ecef(lat0_rad, lon0_rad, h0_m)
    n = pos_enu_m.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        dx, dy, dz = enu_vec_to_ecef(pos_enu_m[i, 0], pos_enu_m[i, 1], pos_enu_m[i, 2], lat0_rad, lon0_rad)
        out[i, 0] = x0 + dx
        out[i, 1] = y0 + dy
        out[i, 2] = z0 + dz
    return out


@kernel
def enu_to_aer_batch(pos_enu_m: np.ndarray) -> np.ndarray:
    """(n,3) ENU m -> (n,3) [az_rad, el_rad, range_m]."""
    n = pos_enu_m.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2] = enu_to_aer(pos_enu_m[i, 0], pos_enu_m[i, 1], pos_enu_m[i, 2])
    return out


@kernel
def aer_to_enu_batch(aer: np.ndarray) -> np.ndarray:
    """(n,3) [az_rad, el_rad, range_m] -> (n,3) ENU m."""
    n = aer.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2] = aer_to_enu(aer[i, 0], aer[i, 1], aer[i, 2])
    return out


@kernel
def ecef_to_aer_batch(pos_ecef_m: np.ndarray, lat0_rad: float, lon0_rad: float, h0_m: float) -> np.ndarray:
    """(n,3) ECEF m -> (n,3) [az_rad, el_rad, range_m] seen from one site."""
    x0, y0, z0 = geodetic_to_ecef(lat0_rad, lon0_rad, h0_m)
    n = pos_ecef_m.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        e, nn, u = ecef_vec_to_enu(
            pos_ecef_m[i, 0] - x0, pos_ecef_m[i, 1] - y0, pos_ecef_m[i, 2] - z0, lat0_rad, lon0_rad
        )
        out[i, 0], out[i, 1], out[i, 2] = enu_to_aer(e, nn, u)
    return out


@kernel
def aer_to_ecef_batch(aer: np.ndarray, lat0_rad: float, lon0_rad: float, h0_m: float) -> np.ndarray:
    """(n,3) [az_rad, el_rad, range_m] from one site -> (n,3) ECEF m."""
    x0, y0, z0 = geodetic_to_ecef(lat0_rad, lon0_rad, h0_m)
    n = aer.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        e, nn, u = aer_to_enu(aer[i, 0], aer[i, 1], aer[i, 2])
        dx, dy, dz = enu_vec_to_ecef(e, nn, u, lat0_rad, lon0_rad)
        out[i, 0] = x0 + dx
        out[i, 1] = y0 + dy
        out[i, 2] = z0 + dz
    return out


# ---------------------------------------------------------------------------------------------------------
# ECEF <-> ECI (rotation about z by the Earth rotation angle)
# ---------------------------------------------------------------------------------------------------------


@kernel
def earth_rotation_angle(t_ut1_s_since_j2000: float) -> float:
    """Earth rotation angle θ (rad, 0..2π) at UT1 seconds since J2000.0 (2000-01-01T12:00:00 UT1).

    IERS Conventions (2010) eq. 5.15: θ = 2π (0.7790572732640 + 1.00273781191135448 Tu), Tu in UT1 days.
    The whole days of Tu are taken out before multiplying so that the angle keeps full precision.
    ``constants.J2000_UNIX_S`` converts Unix time (UTC, |UT1 − UTC| < 0.9 s) to this argument.
    """
    tu = t_ut1_s_since_j2000 / SECONDS_PER_DAY
    whole = math.floor(tu)
    frac = tu - whole
    rev = ERA_AT_J2000_REV + frac + (ERA_RATE_REV_PER_UT1_DAY - 1.0) * tu
    rev = rev - math.floor(rev)
    return TWO_PI * rev


@kernel
def ecef_to_eci(
    x_m: float,
    y_m: float,
    z_m: float,
    vx_m_s: float,
    vy_m_s: float,
    vz_m_s: float,
    era_rad: float,
    omega_rad_s: float,
) -> tuple[float, float, float, float, float, float]:
    """ECEF state -> ECI state: r_eci = R3(−θ) r_ecef, v_eci = R3(−θ)(v_ecef + ω×r_ecef), ω = [0, 0, ω].

    ``era_rad`` is θ at the epoch of the state; ``omega_rad_s`` the rotation rate (constants.OMEGA_E_RAD_S).
    """
    c = math.cos(era_rad)
    s = math.sin(era_rad)
    wx = vx_m_s - omega_rad_s * y_m
    wy = vy_m_s + omega_rad_s * x_m
    return (c * x_m - s * y_m, s * x_m + c * y_m, z_m, c * wx - s * wy, s * wx + c * wy, vz_m_s)


@kernel
def eci_to_ecef(
    x_m: float,
    y_m: float,
    z_m: float,
    vx_m_s: float,
    vy_m_s: float,
    vz_m_s: float,
    era_rad: float,
    omega_rad_s: float,
) -> tuple[float, float, float, float, float, float]:
    """ECI state -> ECEF state: r_ecef = R3(θ) r_eci, v_ecef = R3(θ) v_eci − ω×r_ecef (inverse of ecef_to_eci)."""
    c = math.cos(era_rad)
    s = math.sin(era_rad)
    xe = c * x_m + s * y_m
    ye = -s * x_m + c * y_m
    vxe = c * vx_m_s + s * vy_m_s + omega_rad_s * ye
    vye = -s * vx_m_s + c * vy_m_s - omega_rad_s * xe
    return xe, ye, z_m, vxe, vye, vz_m_s


@kernel
def ecef_to_eci_batch(
    pos_ecef_m: np.ndarray, vel_ecef_m_s: np.ndarray, era_rad: np.ndarray, omega_rad_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(n,3) ECEF positions (m), velocities (m/s), (n,) ERA (rad) -> (pos_eci_m (n,3), vel_eci_m_s (n,3))."""
    n = pos_ecef_m.shape[0]
    pos = np.empty((n, 3))
    vel = np.empty((n, 3))
    for i in range(n):
        pos[i, 0], pos[i, 1], pos[i, 2], vel[i, 0], vel[i, 1], vel[i, 2] = ecef_to_eci(
            pos_ecef_m[i, 0],
            pos_ecef_m[i, 1],
            pos_ecef_m[i, 2],
            vel_ecef_m_s[i, 0],
            vel_ecef_m_s[i, 1],
            vel_ecef_m_s[i, 2],
            era_rad[i],
            omega_rad_s,
        )
    return pos, vel


@kernel
def eci_to_ecef_batch(
    pos_eci_m: np.ndarray, vel_eci_m_s: np.ndarray, era_rad: np.ndarray, omega_rad_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(n,3) ECI positions (m), velocities (m/s), (n,) ERA (rad) -> (pos_ecef_m (n,3), vel_ecef_m_s (n,3))."""
    n = pos_eci_m.shape[0]
    pos = np.empty((n, 3))
    vel = np.empty((n, 3))
    for i in range(n):
        pos[i, 0], pos[i, 1], pos[i, 2], vel[i, 0], vel[i, 1], vel[i, 2] = eci_to_ecef(
            pos_eci_m[i, 0],
            pos_eci_m[i, 1],
            pos_eci_m[i, 2],
            vel_eci_m_s[i, 0],
            vel_eci_m_s[i, 1],
            vel_eci_m_s[i, 2],
            era_rad[i],
            omega_rad_s,
        )
    return pos, vel
