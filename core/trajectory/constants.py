"""Earth constants as plain module-level floats (immutable, so numba may freeze them at compile time).

Sources:
- WGS-84 ellipsoid and gravitational constant: NIMA TR8350.2, "Department of Defense World Geodetic
  System 1984", 3rd ed. (2000), tables 3.1 and 3.3 (a, 1/f, GM, ω_E); derived b, e², e'² follow eq. 3-1..3-4.
- J2: EGM96 normalized C̄20 = -4.84165371736e-4 gives J2 = -√5 C̄20 = 1.08262668e-3; we use it rounded
  to 1.08263e-3 (the difference is 3e-9 relative, far below every tolerance here).
- US Standard Atmosphere 1976 (NOAA-S/T 76-1562): g0, R*, M0, r0.

All values SI: metres, seconds, kilograms, radians.
"""

from __future__ import annotations

import math

# --- WGS-84 ellipsoid (NIMA TR8350.2 table 3.1) ---
A_M: float = 6378137.0  # semi-major axis a [m]
INV_F: float = 298.257223563  # inverse flattening 1/f
F: float = 1.0 / INV_F  # flattening f
B_M: float = A_M * (1.0 - F)  # semi-minor axis b [m] = 6 356 752.314245...
E2: float = F * (2.0 - F)  # first eccentricity squared e² = 6.69437999014e-3
EP2: float = E2 / (1.0 - E2)  # second eccentricity squared e'²
E: float = math.sqrt(E2)  # first eccentricity

# --- gravity and rotation (NIMA TR8350.2 table 3.3; EGM96 for J2, rounded) ---
GM_M3_S2: float = 3.986004418e14  # geocentric gravitational constant μ [m³/s²]
OMEGA_E_RAD_S: float = 7.292115e-5  # Earth rotation rate ω_E [rad/s] (WGS-84 nominal)
J2: float = 1.08263e-3  # second zonal harmonic (unnormalized), with reference radius RE_J2_M
RE_J2_M: float = A_M  # reference radius for J2 [m]

# --- mean Earth radius (IUGG R1 = (2a + b)/3), for spherical cross-checks only ---
R_MEAN_M: float = (2.0 * A_M + B_M) / 3.0

# --- US Standard Atmosphere 1976 (NOAA-S/T 76-1562, section 1.2) ---
G0_M_S2: float = 9.80665  # standard gravity g0 [m/s²]
R_STAR_J_MOL_K: float = 8.31432  # universal gas constant R* as used by USSA-1976 [J/(mol·K)]
M0_KG_MOL: float = 0.0289644  # sea-level mean molar mass M0 [kg/mol]
R0_ATM_M: float = 6356766.0  # effective Earth radius r0 for geopotential altitude [m]
GAMMA_AIR: float = 1.4  # ratio of specific heats (speed of sound below 86 km)

# --- Earth rotation angle (IERS Conventions 2010, eq. 5.15) ---
# θ(Tu) = 2π (0.7790572732640 + 1.00273781191135448 Tu), Tu = JD(UT1) − 2451545.0
ERA_AT_J2000_REV: float = 0.7790572732640  # ERA at J2000.0 UT1 [revolutions]
ERA_RATE_REV_PER_UT1_DAY: float = 1.00273781191135448  # [revolutions per UT1 day]
J2000_UNIX_S: float = 946728000.0  # 2000-01-01T12:00:00 UTC as Unix seconds (UT1≈UTC, |ΔUT1| < 0.9 s)
SECONDS_PER_DAY: float = 86400.0
