"""Shared by the filter tests: a radar site, states over the peninsula, and an independent right-hand side of
the motion model. Imported by module name (pytest puts each test file's folder on sys.path)."""

from __future__ import annotations

import math

import numpy as np

from triwarn.core.tracking import layout, measurement, motion
from triwarn.core.trajectory.constants import GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import geodetic_to_ecef

MM = 1e-3
SITE = (math.radians(35.97), math.radians(128.15), 400.0)  # lat rad, lon rad, h m


def radar_row_at_site(rr: bool = True, sig=(1e-3, 1e-3, 10.0, 1.0)) -> np.ndarray:
    """Sensor row of a radar at SITE; ``sig`` (az rad, el rad, range m, range rate m/s), ``rr``: with range rate."""
    site = np.array(geodetic_to_ecef(*SITE))
    return measurement.radar_row(site, SITE[0], SITE[1], sig[0], sig[1], sig[2], sig[3] if rr else 0.0)


def state_at(lat_deg: float, lon_deg: float, h_m: float, v=(1000.0, -2000.0, 500.0)) -> np.ndarray:
    """A filter state (NX,) at a geodetic point with ECEF velocity ``v`` (m/s) and β = 5000 kg/m²."""
    x = np.zeros(layout.NX)
    x[:3] = geodetic_to_ecef(math.radians(lat_deg), math.radians(lon_deg), h_m)
    x[3:6] = v
    x[6] = math.log(5000.0)
    return x


def scipy_rhs(beta: float, atm: np.ndarray, thrust: np.ndarray):
    """An independent right-hand side: gravity with J2 written here from Vallado (4th ed.) eq. 8-30, rotating
    frame, drag."""

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        r = y[:3]
        v = y[3:]
        rn = np.linalg.norm(r)
        zz = 5 * r[2] ** 2 / rn**2
        g = -GM_M3_S2 * r / rn**3
        k = -1.5 * J2 * GM_M3_S2 * RE_J2_M**2 / rn**5
        g = g + k * np.array([r[0] * (1 - zz), r[1] * (1 - zz), r[2] * (3 - zz)])
        w = np.array([0.0, 0.0, OMEGA_E_RAD_S])
        a = g - 2 * np.cross(w, v) - np.cross(w, np.cross(w, r))
        h = motion.height_above_ellipsoid_radial(r[0], r[1], r[2])
        rho, _ = motion.exp_density(h, atm)
        a = a - rho * np.linalg.norm(v) * v / (2 * beta) + thrust
        return np.concatenate([v, a])

    return rhs
