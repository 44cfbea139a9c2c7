"""US Standard Atmosphere 1976 (NOAA-S/T 76-1562), geometric altitude 0-1000 km.

Glossary (SI units)
-------------------
``h_m`` geometric altitude above the ellipsoid [m] (the standard's Z; we use the geodetic height);
H geopotential altitude [m'], H = r0 Z / (r0 + Z), r0 = 6 356 766 m; ``t_k`` kinetic temperature [K];
T_M molecular-scale temperature [K]; ``p_pa`` pressure [Pa]; ``rho_kg_m3`` mass density [kg/m³];
g0 = 9.80665 m/s², R* = 8.31432 J/(mol·K), M0 = 0.0289644 kg/mol (constants.py).

Method
------
- 0-86 km: the standard's seven layers of linear T_M(H) (section 1.2.5, table 4) and the barometric formulas
  (eq. 33a/33b): p = p_b [T_b / (T_b + L (H − H_b))]^(g0 M0 / (R* L)) for L ≠ 0 and
  p = p_b exp(−g0 M0 (H − H_b) / (R* T_b)) for L = 0; ρ = p M0 / (R* T_M) (eq. 42); the kinetic temperature is
  T = T_M · (M/M0), with the molecular-weight ratio of the standard's table 8 between 80 and 86 km (else 1).
  The layer base pressures p_b are computed from the formulas (not the rounded table) at import.
- 86-1000 km: a table on a uniform 250 m grid, built once from the ``ussa1976`` package by
  ``tools/build_ussa1976_table.py`` and committed as ``data/ussa1976_upper.npz``; T is interpolated linearly,
  ln p and ln ρ linearly (log-linear), which is within 0.03 % of the package.
- Out of range: altitudes below 0 m take the 0 m values; above 1000 km the 1000 km values (ρ ≈ 3.6e-15 kg/m³,
  drag there is negligible for any missile); NaN gives NaN. Never an exception inside a kernel.
- Speed of sound a = √(γ R* T_M / M0) (eq. 50) is defined by the standard below 86 km only; above we hold the
  86 km value (274.1 m/s): a Mach number there only matters as "hypersonic", and the drag is tiny.

Public kernels (callable from other numba kernels; the table arrays are arguments)
---------------------------------------------------------------------------------
- ``ussa1976_lower(h_m) -> (t_k, p_pa, rho_kg_m3)`` for 0 ≤ h ≤ 86 km (clamped).
- ``ussa1976_state(h_m, z_m, t_k, ln_p_pa, ln_rho_kg_m3) -> (t_k, p_pa, rho_kg_m3)`` any altitude.
- ``ussa1976_density(h_m, z_m, ln_rho_kg_m3) -> rho_kg_m3`` any altitude: the cheap call for drag.
- ``speed_of_sound(h_m) -> a_m_s``.
- batch: ``ussa1976_state_batch(h_m (n,), z_m, t_k, ln_p_pa, ln_rho_kg_m3) -> (n,3) [t_k, p_pa, rho_kg_m3]``,
  ``ussa1976_density_batch(h_m (n,), z_m, ln_rho_kg_m3) -> (n,)``.

Python layer
------------
- ``upper_table() -> Ussa1976Table`` (frozen; read-only arrays ``z_m, t_k, ln_p_pa, ln_rho_kg_m3``), loaded once.
- ``density_kg_m3(h_m)``, ``ussa1976(h_m) -> (t_k, p_pa, rho_kg_m3)``, ``speed_of_sound_m_s(h_m)``: accept a
  float (return floats) or an array (return arrays of the same shape).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.trajectory.constants import G0_M_S2, GAMMA_AIR, M0_KG_MOL, R0_ATM_M, R_STAR_J_MOL_K

TABLE_PATH = Path(__file__).resolve().parent / "data" / "ussa1976_upper.npz"

Z_TOP_LOWER_M = 86_000.0  # geometric top of the layered region
Z_MAX_M = 1_000_000.0

# USSA-1976 table 4: geopotential base heights [m'], lapse rates [K/m'], base molecular temperatures [K]
LAYER_HB_M: tuple[float, ...] = (0.0, 11_000.0, 20_000.0, 32_000.0, 47_000.0, 51_000.0, 71_000.0)
LAYER_L_K_M: tuple[float, ...] = (-6.5e-3, 0.0, 1.0e-3, 2.8e-3, 0.0, -2.8e-3, -2.0e-3)
LAYER_TB_K: tuple[float, ...] = (288.15, 216.65, 216.65, 228.65, 270.65, 270.65, 214.65)
P0_PA = 101_325.0
GMR = G0_M_S2 * M0_KG_MOL / R_STAR_J_MOL_K  # hydrostatic constant g0 M0 / R* [K/m']

# USSA-1976 table 8: molecular-weight ratio M/M0 from 80 to 86 km geometric, every 0.5 km
MW_RATIO_Z0_M = 80_000.0
MW_RATIO_STEP_M = 500.0
MW_RATIO: tuple[float, ...] = (
    1.000000,
    0.999996,
    0.999989,
    0.999971,
    0.999941,
    0.999909,
    0.999870,
    0.999829,
    0.999786,
    0.999741,
    0.999694,
    0.999641,
    0.999579,
)


def _layer_base_pressures() -> tuple[float, ...]:
    p = [P0_PA]
    for i in range(len(LAYER_HB_M) - 1):
        dh = LAYER_HB_M[i + 1] - LAYER_HB_M[i]
        L, tb = LAYER_L_K_M[i], LAYER_TB_K[i]
        if L == 0.0:
            p.append(p[-1] * math.exp(-GMR * dh / tb))
        else:
            p.append(p[-1] * (tb / (tb + L * dh)) ** (GMR / L))
    return tuple(p)


LAYER_PB_PA: tuple[float, ...] = _layer_base_pressures()


@kernel
def _lower_molecular(h_m: float) -> tuple[float, float]:
    """(T_M [K], p [Pa]) at geometric altitude h_m in 0..86 km."""
    H = R0_ATM_M * h_m / (R0_ATM_M + h_m)
    i = 6
    while i > 0 and LAYER_HB_M[i] > H:
        i -= 1
    L = LAYER_L_K_M[i]
    tb = LAYER_TB_K[i]
    dh = H - LAYER_HB_M[i]
    tm = tb + L * dh
    # eq. 33b for an isothermal layer, eq. 33a otherwise
    p = LAYER_PB_PA[i] * math.exp(-GMR * dh / tb) if L == 0.0 else LAYER_PB_PA[i] * (tb / tm) ** (GMR / L)
    return tm, p


@kernel
def ussa1976_lower(h_m: float) -> tuple[float, float, float]:
    """(t_k, p_pa, rho_kg_m3) from the layered formulas; h_m clamped to 0..86 km."""
    h = min(max(h_m, 0.0), Z_TOP_LOWER_M)
    tm, p = _lower_molecular(h)
    rho = p * M0_KG_MOL / (R_STAR_J_MOL_K * tm)
    ratio = 1.0
    if h > MW_RATIO_Z0_M:
        x = (h - MW_RATIO_Z0_M) / MW_RATIO_STEP_M
        j = min(int(x), 11)
        w = x - j
        ratio = MW_RATIO[j] * (1.0 - w) + MW_RATIO[j + 1] * w
    return tm * ratio, p, rho


@kernel
def _upper_index(h_m: float, z_m: np.ndarray) -> tuple[int, float]:
    """Row i and weight w of h_m in the uniform grid z_m (i in 0..n-2, w in 0..1)."""
    step = z_m[1] - z_m[0]
    x = (h_m - z_m[0]) / step
    i = min(max(int(x), 0), z_m.shape[0] - 2)
    w = min(max(x - i, 0.0), 1.0)
    return i, w


@kernel
def ussa1976_state(
    h_m: float, z_m: np.ndarray, t_k: np.ndarray, ln_p_pa: np.ndarray, ln_rho_kg_m3: np.ndarray
) -> tuple[float, float, float]:
    """(t_k, p_pa, rho_kg_m3) at geometric altitude h_m (any value; see module docstring for the clamps)."""
    if math.isnan(h_m):
        return math.nan, math.nan, math.nan
    if h_m <= Z_TOP_LOWER_M:
        return ussa1976_lower(h_m)
    i, w = _upper_index(h_m, z_m)
    t = t_k[i] * (1.0 - w) + t_k[i + 1] * w
    p = math.exp(ln_p_pa[i] * (1.0 - w) + ln_p_pa[i + 1] * w)
    rho = math.exp(ln_rho_kg_m3[i] * (1.0 - w) + ln_rho_kg_m3[i + 1] * w)
    return t, p, rho


@kernel
def ussa1976_density(h_m: float, z_m: np.ndarray, ln_rho_kg_m3: np.ndarray) -> float:
    """Mass density (kg/m³) at geometric altitude h_m (any value; see module docstring for the clamps)."""
    if math.isnan(h_m):
        return math.nan
    if h_m <= Z_TOP_LOWER_M:
        h = max(h_m, 0.0)
        tm, p = _lower_molecular(h)
        return p * M0_KG_MOL / (R_STAR_J_MOL_K * tm)
    i, w = _upper_index(h_m, z_m)
    return math.exp(ln_rho_kg_m3[i] * (1.0 - w) + ln_rho_kg_m3[i + 1] * w)


@kernel
def speed_of_sound(h_m: float) -> float:
    """Speed of sound (m/s), √(γ R* T_M / M0); held at the 86 km value above 86 km, 0 km value below 0."""
    if math.isnan(h_m):
        return math.nan
    tm, _ = _lower_molecular(min(max(h_m, 0.0), Z_TOP_LOWER_M))
    return math.sqrt(GAMMA_AIR * R_STAR_J_MOL_K * tm / M0_KG_MOL)


@kernel
def ussa1976_state_batch(
    h_m: np.ndarray, z_m: np.ndarray, t_k: np.ndarray, ln_p_pa: np.ndarray, ln_rho_kg_m3: np.ndarray
) -> np.ndarray:
    """(n,) altitudes (m) -> (n,3) [t_k, p_pa, rho_kg_m3]."""
    n = h_m.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2] = ussa1976_state(h_m[i], z_m, t_k, ln_p_pa, ln_rho_kg_m3)
    return out


@kernel
def ussa1976_density_batch(h_m: np.ndarray, z_m: np.ndarray, ln_rho_kg_m3: np.ndarray) -> np.ndarray:
    """(n,) altitudes (m) -> (n,) densities (kg/m³)."""
    n = h_m.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = ussa1976_density(h_m[i], z_m, ln_rho_kg_m3)
    return out


@kernel
def speed_of_sound_batch(h_m: np.ndarray) -> np.ndarray:
    """(n,) altitudes (m) -> (n,) speeds of sound (m/s)."""
    n = h_m.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = speed_of_sound(h_m[i])
    return out


# ---------------------------------------------------------------------------------------------------------
# thin Python layer
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ussa1976Table:
    """The 86-1000 km table (read-only float64 arrays on a uniform grid); pass the arrays to the kernels."""

    z_m: np.ndarray
    t_k: np.ndarray
    ln_p_pa: np.ndarray
    ln_rho_kg_m3: np.ndarray


@functools.cache
def upper_table() -> Ussa1976Table:
    """Load ``data/ussa1976_upper.npz`` once (the arrays are made read-only)."""
    with np.load(TABLE_PATH) as npz:
        arrays = {k: np.ascontiguousarray(npz[k], dtype=np.float64) for k in ("z_m", "t_k", "ln_p_pa", "ln_rho_kg_m3")}
    for a in arrays.values():
        a.flags.writeable = False
    z = arrays["z_m"]
    if not np.allclose(np.diff(z), z[1] - z[0], rtol=0.0, atol=1e-6) or z[0] != Z_TOP_LOWER_M:
        raise ValueError(f"{TABLE_PATH} is not a uniform grid starting at 86 km: rebuild it")
    return Ussa1976Table(**arrays)


def ussa1976(h_m: float | np.ndarray) -> tuple[float, float, float] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_k, p_pa, rho_kg_m3) at geometric altitude(s) h_m [m]: floats for a float, arrays for an array."""
    tab = upper_table()
    if np.ndim(h_m) == 0:
        return ussa1976_state(float(h_m), tab.z_m, tab.t_k, tab.ln_p_pa, tab.ln_rho_kg_m3)  # type: ignore[no-any-return]
    h = np.asarray(h_m, dtype=np.float64)
    out = ussa1976_state_batch(np.ascontiguousarray(h.ravel()), tab.z_m, tab.t_k, tab.ln_p_pa, tab.ln_rho_kg_m3)
    return out[:, 0].reshape(h.shape), out[:, 1].reshape(h.shape), out[:, 2].reshape(h.shape)


def density_kg_m3(h_m: float | np.ndarray) -> float | np.ndarray:
    """Mass density (kg/m³) at geometric altitude(s) h_m [m]: a float for a float, an array for an array."""
    tab = upper_table()
    if np.ndim(h_m) == 0:
        return ussa1976_density(float(h_m), tab.z_m, tab.ln_rho_kg_m3)  # type: ignore[no-any-return]
    h = np.asarray(h_m, dtype=np.float64)
    return ussa1976_density_batch(np.ascontiguousarray(h.ravel()), tab.z_m, tab.ln_rho_kg_m3).reshape(h.shape)


def speed_of_sound_m_s(h_m: float | np.ndarray) -> float | np.ndarray:
    """Speed of sound (m/s) at geometric altitude(s) h_m [m] (held at the 86 km value above 86 km)."""
    if np.ndim(h_m) == 0:
        return speed_of_sound(float(h_m))  # type: ignore[no-any-return]
    h = np.asarray(h_m, dtype=np.float64)
    return speed_of_sound_batch(np.ascontiguousarray(h.ravel())).reshape(h.shape)
