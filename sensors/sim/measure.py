"""Measurement kernels: what a radar or a space infrared sensor reports of the true objects on one scan.

Batch kernels over the k objects of one truth sample (struct of arrays, float64, SI units). Random numbers
are drawn by the caller (numpy ``Generator``, one stream per sensor) and passed in, so the kernels are pure
and a run is deterministic for a seed.

Visibility
----------
- radar: the object is active, the line of sight from the site does not cross the WGS-84 ellipsoid (the
  Earth-curvature horizon, :func:`los_clear`), its elevation is at or above the mask, and its slant range is at
  most the maximum range. A visible object is detected with probability ``pd``.
- infrared (geostationary): the object is active, in boost phase (only the hot plume is seen) and the line of
  sight from the satellite does not cross the ellipsoid.

Measurements
------------
- radar: ``[az_rad, el_rad, range_m, range_rate_m_s]`` from the site's ENU frame (az clockwise from north,
  0..2π), plus the sensor's fixed registration bias and white Gaussian noise of the given standard deviations.
- infrared: ``[alpha_rad, delta_rad]`` line-of-sight angles in the satellite frame X (nadir), Y, Z (see
  :func:`triwarn.core.tracking.measurement.ir_row`), plus bias and noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.trajectory.frames import ecef_vec_to_enu, enu_to_aer

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class Scan:
    """The reports of one sensor scan: m measurements, each from a true object or a false alarm."""

    sensor_id: str
    sensor_index: int  # index of the sensor in its nation's list
    t_s: float  # time of validity (scenario seconds)
    t_available_s: float  # when the report reaches the tracker (t_s + latency)
    z: np.ndarray  # (m, d) measurements: radar d = 3 or 4, infrared d = 2
    truth_index: np.ndarray  # (m,) int64 index into the truth sample, −1 for a false alarm
    visible: np.ndarray  # (k,) bool: which true objects the sensor could see on this scan

    def __len__(self) -> int:
        return int(self.z.shape[0])


@kernel
def los_clear(
    ax_m: float, ay_m: float, az_m: float, bx_m: float, by_m: float, bz_m: float, a_m: float, b_m: float
) -> bool:
    """True when the segment from A to B does not pass inside the ellipsoid x²/a² + y²/a² + z²/b² = 1.

    In coordinates scaled by (1/a, 1/a, 1/b) the ellipsoid is the unit sphere; the squared norm along the
    segment p(t) = A' + t (B' − A'), t in [0, 1], is a quadratic whose minimum is compared with 1 (a
    tolerance of 1e-9, ~6 mm, lets a site on the surface look up)."""
    px = ax_m / a_m
    py = ay_m / a_m
    pz = az_m / b_m
    dx = bx_m / a_m - px
    dy = by_m / a_m - py
    dz = bz_m / b_m - pz
    dd = dx * dx + dy * dy + dz * dz
    t = 0.0
    if dd > 0.0:
        t = -(px * dx + py * dy + pz * dz) / dd
        t = min(1.0, max(0.0, t))
    qx = px + t * dx
    qy = py + t * dy
    qz = pz + t * dz
    return qx * qx + qy * qy + qz * qz >= 1.0 - 1e-9


@kernel
def radar_measure_batch(
    pos_ecef_m: np.ndarray,
    vel_ecef_m_s: np.ndarray,
    active: np.ndarray,
    site_ecef_m: np.ndarray,
    lat_rad: float,
    lon_rad: float,
    elevation_mask_rad: float,
    max_range_m: float,
    sigma: np.ndarray,
    bias: np.ndarray,
    pd: float,
    normals: np.ndarray,
    uniforms: np.ndarray,
    a_m: float,
    b_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One radar scan of k objects. sigma, bias (4,): [az_rad, el_rad, range_m, range_rate_m_s];
    normals (k, 4) standard normal draws, uniforms (k,) in [0, 1). Returns (visible (k,) bool,
    detected (k,) bool, z (k, 4)) where z is filled for detected objects (az wrapped to 0..2π)."""
    k = pos_ecef_m.shape[0]
    visible = np.zeros(k, np.bool_)
    detected = np.zeros(k, np.bool_)
    z = np.zeros((k, 4))
    for i in range(k):
        if not active[i]:
            continue
        dx = pos_ecef_m[i, 0] - site_ecef_m[0]
        dy = pos_ecef_m[i, 1] - site_ecef_m[1]
        dz = pos_ecef_m[i, 2] - site_ecef_m[2]
        e, n, u = ecef_vec_to_enu(dx, dy, dz, lat_rad, lon_rad)
        az, el, rng = enu_to_aer(e, n, u)
        if el < elevation_mask_rad or rng > max_range_m:
            continue
        if not los_clear(
            site_ecef_m[0], site_ecef_m[1], site_ecef_m[2],
            pos_ecef_m[i, 0], pos_ecef_m[i, 1], pos_ecef_m[i, 2], a_m, b_m,
        ):  # fmt: skip
            continue
        visible[i] = True
        if uniforms[i] >= pd:
            continue
        detected[i] = True
        rr = (dx * vel_ecef_m_s[i, 0] + dy * vel_ecef_m_s[i, 1] + dz * vel_ecef_m_s[i, 2]) / rng
        z[i, 0] = (az + bias[0] + sigma[0] * normals[i, 0]) % TWO_PI
        z[i, 1] = el + bias[1] + sigma[1] * normals[i, 1]
        z[i, 2] = rng + bias[2] + sigma[2] * normals[i, 2]
        z[i, 3] = rr + bias[3] + sigma[3] * normals[i, 3]
    return visible, detected, z


@kernel
def ir_measure_batch(
    pos_ecef_m: np.ndarray,
    active: np.ndarray,
    in_boost: np.ndarray,
    sat_ecef_m: np.ndarray,
    axes: np.ndarray,
    sigma_rad: float,
    bias_rad: float,
    pd: float,
    normals: np.ndarray,
    uniforms: np.ndarray,
    a_m: float,
    b_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One infrared scan of k objects from a satellite at ``sat_ecef_m`` with frame ``axes`` (3, 3) (rows X,
    Y, Z). normals (k, 2), uniforms (k,). Returns (visible, detected, z (k, 2) [alpha_rad, delta_rad])."""
    k = pos_ecef_m.shape[0]
    visible = np.zeros(k, np.bool_)
    detected = np.zeros(k, np.bool_)
    z = np.zeros((k, 2))
    for i in range(k):
        if not (active[i] and in_boost[i]):
            continue
        if not los_clear(
            sat_ecef_m[0], sat_ecef_m[1], sat_ecef_m[2],
            pos_ecef_m[i, 0], pos_ecef_m[i, 1], pos_ecef_m[i, 2], a_m, b_m,
        ):  # fmt: skip
            continue
        visible[i] = True
        if uniforms[i] >= pd:
            continue
        detected[i] = True
        dx = pos_ecef_m[i, 0] - sat_ecef_m[0]
        dy = pos_ecef_m[i, 1] - sat_ecef_m[1]
        dz = pos_ecef_m[i, 2] - sat_ecef_m[2]
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        cX = (dx * axes[0, 0] + dy * axes[0, 1] + dz * axes[0, 2]) / d
        cY = (dx * axes[1, 0] + dy * axes[1, 1] + dz * axes[1, 2]) / d
        cZ = (dx * axes[2, 0] + dy * axes[2, 1] + dz * axes[2, 2]) / d
        z[i, 0] = math.atan2(cY, cX) + bias_rad + sigma_rad * normals[i, 0]
        z[i, 1] = math.asin(min(1.0, max(-1.0, cZ))) + bias_rad + sigma_rad * normals[i, 1]
    return visible, detected, z
