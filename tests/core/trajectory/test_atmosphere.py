"""US Standard Atmosphere 1976 against values of its tables (NOAA-S/T 76-1562) and the ussa1976 package."""

from __future__ import annotations

import math

import numpy as np
import pytest
import ussa1976 as ussa_pkg

from triwarn.core.trajectory.atmosphere import (
    density_kg_m3,
    speed_of_sound,
    speed_of_sound_batch,
    speed_of_sound_m_s,
    upper_table,
    ussa1976,
    ussa1976_density,
    ussa1976_density_batch,
    ussa1976_lower,
    ussa1976_state,
    ussa1976_state_batch,
)

# values of U.S. Standard Atmosphere 1976 (NOAA-S/T 76-1562): Z km, T K, rho kg/m3
PHYSICS_MD = [
    (0.0, 288.150, 1.2250),
    (11.019, 216.650, 3.6392e-1),
    (20.063, 216.650, 8.8035e-2),
    (47.350, 270.650, 1.4275e-3),
    (51.413, 270.650, 8.6160e-4),
    (86.0, 186.87, 6.958e-6),
    (91.0, 186.87, 2.860e-6),
    (120.0, 360.00, 2.222e-8),
]


@pytest.mark.parametrize(("z_km", "t_ref", "rho_ref"), PHYSICS_MD)
def test_reference_table(z_km: float, t_ref: float, rho_ref: float) -> None:
    t, _, rho = ussa1976(z_km * 1e3)
    tol = 1e-3 if z_km <= 86.0 else 1e-2  # the issue: 0.1 % up to 86 km, 1 % above
    assert t == pytest.approx(t_ref, rel=tol)
    assert rho == pytest.approx(rho_ref, rel=tol)
    assert density_kg_m3(z_km * 1e3) == rho


def _package(z_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ds = ussa_pkg.compute(z=z_m, variables=["t", "p", "rho", "cs"])
    return ds["t"].values, ds["p"].values, ds["rho"].values, ds["cs"].values


def test_against_ussa1976_package_below_86_km() -> None:
    z = np.concatenate([np.linspace(0.0, 86_000.0, 347), np.random.default_rng(1).uniform(0, 86_000.0, 200)])
    t_ref, p_ref, rho_ref, cs_ref = _package(z)
    t, p, rho = ussa1976(z)
    # the package reports the molecular-scale temperature up to 86 km, we the kinetic one (table 8 of the
    # standard: they differ by 0.042 % at 86 km), well inside 0.1 %
    assert np.max(np.abs(t / t_ref - 1)) < 1e-3
    assert np.max(np.abs(p / p_ref - 1)) < 1e-3
    assert np.max(np.abs(rho / rho_ref - 1)) < 1e-3
    assert np.max(np.abs(speed_of_sound_m_s(z) / cs_ref - 1)) < 1e-3


def test_against_ussa1976_package_above_86_km() -> None:
    rng = np.random.default_rng(2)
    z = np.sort(np.concatenate([rng.uniform(86_000.0, 1_000_000.0, 300), [86_000.0, 1_000_000.0]]))
    t_ref, p_ref, rho_ref, _ = _package(z)
    t, p, rho = ussa1976(z)
    assert np.max(np.abs(t / t_ref - 1)) < 1e-2
    assert np.max(np.abs(p / p_ref - 1)) < 1e-2
    assert np.max(np.abs(rho / rho_ref - 1)) < 1e-2
    # in fact the table reproduces the package much better than the issue asks
    assert np.max(np.abs(rho / rho_ref - 1)) < 5e-4


def test_clamps_and_nan() -> None:
    t0, p0, rho0 = ussa1976(0.0)
    assert ussa1976(-1_000.0) == (t0, p0, rho0)
    assert p0 == pytest.approx(101_325.0, abs=1e-9)
    top = ussa1976(1_000_000.0)
    assert ussa1976(2_000_000.0) == top
    assert top[2] == pytest.approx(3.57e-15, rel=0.01)
    assert all(math.isnan(v) for v in ussa1976(math.nan))
    assert math.isnan(density_kg_m3(math.nan))
    assert math.isnan(speed_of_sound(math.nan))
    assert speed_of_sound(500_000.0) == speed_of_sound(86_000.0)


def test_continuity_at_86_km_and_monotone_density() -> None:
    below = density_kg_m3(86_000.0 - 1e-6)
    above = density_kg_m3(86_000.0 + 1e-6)
    assert above == pytest.approx(below, rel=1e-4)
    z = np.linspace(-500.0, 1_000_000.0, 20_001)
    rho = density_kg_m3(z)
    assert np.all(np.diff(rho) <= 0.0)
    assert np.all(rho > 0.0)


def test_kernels_and_batches_agree() -> None:
    tab = upper_table()
    z = np.array([-10.0, 0.0, 5_000.0, 80_250.0, 86_000.0, 86_100.0, 150_000.0, 999_999.0, 1.5e6])
    batch = ussa1976_state_batch(z, tab.z_m, tab.t_k, tab.ln_p_pa, tab.ln_rho_kg_m3)
    dens = ussa1976_density_batch(z, tab.z_m, tab.ln_rho_kg_m3)
    sos = speed_of_sound_batch(z)
    for i, h in enumerate(z):
        state = ussa1976_state(h, tab.z_m, tab.t_k, tab.ln_p_pa, tab.ln_rho_kg_m3)
        assert tuple(batch[i]) == state
        assert dens[i] == pytest.approx(state[2], rel=1e-14)
        assert dens[i] == ussa1976_density(h, tab.z_m, tab.ln_rho_kg_m3)
        assert sos[i] == speed_of_sound(h)
        if 0.0 <= h <= 86_000.0:
            assert ussa1976_lower(h) == state
    # shapes are kept by the Python layer
    grid = np.full((2, 3), 10_000.0)
    assert density_kg_m3(grid).shape == (2, 3)
    assert all(a.shape == (2, 3) for a in ussa1976(grid))


def test_table_is_read_only_and_uniform() -> None:
    tab = upper_table()
    assert not tab.z_m.flags.writeable
    assert tab.z_m[0] == 86_000.0 and tab.z_m[-1] == 1_000_000.0
    np.testing.assert_allclose(np.diff(tab.z_m), 250.0)
