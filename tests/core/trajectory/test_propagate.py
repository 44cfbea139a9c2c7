"""The DOPRI5 propagator against Kepler's closed form, conservation laws, and the batch impact propagation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triwarn.core.trajectory import propagate as prop
from triwarn.core.trajectory.atmosphere import upper_table
from triwarn.core.trajectory.constants import GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import ecef_to_geodetic, enu_vec_to_ecef, geodetic_to_ecef
from triwarn.core.trajectory.gravity import jacobi_energy, potential_j2

MU_TABLE = 398600.4418e9  # events.md: R = 6371 km, μ = 398600.4418 km³/s²
R_TABLE = 6371e3
SPHERE = prop.earth_model(mu_m3_s2=MU_TABLE, j2=0.0, omega_rad_s=0.0, sphere_radius_m=R_TABLE, drag=False)
TAB = upper_table()


def _coast(y0: np.ndarray, earth: np.ndarray, t_max_s: float = 2e4, store: bool = True, rtol: float = 1e-10):
    """Free flight of one state (7,) in ``earth`` until the ground: the raw kernel outputs."""
    return prop.fly(
        y0, 0.0, np.array([t_max_s]), np.array([prop.MODE_COAST]), np.array([-1.0]), np.zeros(prop.VEH_SIZE),
        np.zeros(prop.STEER_SIZE), earth, TAB.z_m, TAB.ln_rho_kg_m3, t_max_s, rtol, 1e-6, 60.0, 20000, store,
    )  # fmt: skip


def _launch_state(speed_m_s: float, gamma_rad: float, r_m: float) -> np.ndarray:
    """A state on the sphere at (lat 0, lon 0), heading north with flight-path angle γ, mass 1 kg."""
    y = np.zeros(7)
    y[0] = r_m
    y[3] = speed_m_s * math.sin(gamma_rad)
    y[5] = speed_m_s * math.cos(gamma_rad)
    y[6] = 1.0
    return y


def _kepler_surface_to_surface(speed_m_s: float, gamma_rad: float, mu: float, r_m: float) -> tuple[float, float, float]:
    """Closed form (Bate, Mueller & White, ch. 6): time of flight (s), central angle (rad) and apogee
    height (m) of the ballistic ellipse through two points at radius r with speed v and flight-path angle γ."""
    energy = 0.5 * speed_m_s**2 - mu / r_m
    a = -mu / (2.0 * energy)
    h = r_m * speed_m_s * math.cos(gamma_rad)
    p = h * h / mu
    e = math.sqrt(1.0 - p / a)
    nu = math.acos((p / r_m - 1.0) / e)  # ascending branch: 0 < ν < π
    E = 2.0 * math.atan(math.sqrt((1.0 - e) / (1.0 + e)) * math.tan(nu / 2.0))
    M = E - e * math.sin(E)
    n = math.sqrt(mu / a**3)
    return 2.0 * (math.pi - M) / n, 2.0 * math.pi - 2.0 * nu, a * (1.0 + e) - r_m


@pytest.mark.parametrize(
    ("speed_km_s", "gamma_deg"),
    [(6.204, 83.2), (7.195, 84.8), (7.811, 85.4), (4.668, 36.8), (5.717, 35.9), (2.0, 45.0), (7.0, 20.0)],
)
def test_kepler_arc_flight_time(speed_km_s: float, gamma_deg: float) -> None:
    """Drag-free, non-rotating, spherical Earth: flight time within 0.1 % of Kepler (in fact ~1e-8)."""
    r0 = R_TABLE + 1e-3  # a millimetre above the ground, so the launch is not an impact
    y0 = _launch_state(speed_km_s * 1e3, math.radians(gamma_deg), r0)
    status, _, _, _, _, _, ev = _coast(y0, SPHERE)
    assert status == prop.STATUS_IMPACT
    tof, angle, apogee = _kepler_surface_to_surface(speed_km_s * 1e3, math.radians(gamma_deg), MU_TABLE, r0)
    assert ev[prop.EV_IMPACT, 0] == pytest.approx(tof, rel=1e-3)
    assert ev[prop.EV_IMPACT, 0] == pytest.approx(tof, abs=1e-3)  # seconds: the integrator does far better
    r_imp = ev[prop.EV_IMPACT, 1:4]
    assert math.acos(r_imp[0] / np.linalg.norm(r_imp)) == pytest.approx(angle, abs=1e-9)
    apo = ev[prop.EV_APOGEE, 1:4]
    assert np.linalg.norm(apo) - R_TABLE == pytest.approx(apogee, abs=0.01)
    assert ev[prop.EV_APOGEE, 0] == pytest.approx(tof / 2.0, abs=1e-3)


@pytest.mark.parametrize(
    ("speed_km_s", "gamma_deg", "coast_min", "apogee_km", "range_km"),
    [(6.204, 83.2, 34.4, 2802, 933), (7.811, 85.4, 65.8, 6040.9, 999), (5.717, 35.9, 20.0, 970, 4600)],
)
def test_events_md_kepler_table(speed_km_s, gamma_deg, coast_min, apogee_km, range_km) -> None:
    """The cross-check table of events.md (computed by someone else, rounded): our arc from its speed and
    angle reproduces its coast time, apogee and range to the table's rounding."""
    y0 = _launch_state(speed_km_s * 1e3, math.radians(gamma_deg), R_TABLE + 1e-3)
    _, _, _, _, _, _, ev = _coast(y0, SPHERE)
    assert ev[prop.EV_IMPACT, 0] / 60.0 == pytest.approx(coast_min, abs=0.3)
    assert (np.linalg.norm(ev[prop.EV_APOGEE, 1:4]) - R_TABLE) / 1e3 == pytest.approx(apogee_km, rel=0.01)
    r_imp = ev[prop.EV_IMPACT, 1:4]
    assert R_TABLE * math.acos(r_imp[0] / np.linalg.norm(r_imp)) / 1e3 == pytest.approx(range_km, rel=0.02)


@settings(max_examples=25, deadline=None)
@given(
    speed=st.floats(1500.0, 7500.0),
    gamma=st.floats(0.2, 1.5),
    lat=st.floats(-1.2, 1.2),
    lon=st.floats(-3.1, 3.1),
    az=st.floats(0.0, 6.28),
)
def test_conservation_in_vacuum(speed: float, gamma: float, lat: float, lon: float, az: float) -> None:
    """Without drag: inertial point mass conserves energy and r×v; with J2 energy and h_z; in rotating ECEF
    with J2 the Jacobi integral. Checked on the dense output at 50 instants of the arc."""
    r = np.array(geodetic_to_ecef(lat, lon, 1000.0))
    d = np.array(
        enu_vec_to_ecef(math.sin(az) * math.cos(gamma), math.cos(az) * math.cos(gamma), math.sin(gamma), lat, lon)
    )
    y0 = np.concatenate([r, speed * d, [1.0]])
    cases = [
        (prop.earth_model(j2=0.0, omega_rad_s=0.0, drag=False), 0.0, 0.0, True),
        (prop.earth_model(omega_rad_s=0.0, drag=False), J2, 0.0, False),
        (prop.earth_model(drag=False), J2, OMEGA_E_RAD_S, False),
    ]
    for earth, j2, w, full_h in cases:
        status, n, t0, hh, rc, _, ev = _coast(y0, earth)
        assert status == prop.STATUS_IMPACT
        t = np.linspace(0.0, ev[prop.EV_IMPACT, 0], 50)
        ys = prop.dense_sample(t0, hh, rc, n, t)
        e = np.array([jacobi_energy(*y[:6], GM_M3_S2, RE_J2_M, j2, w) for y in ys])
        scale = abs(potential_j2(*r, GM_M3_S2, RE_J2_M, 0.0))
        assert np.ptp(e) / scale < 1e-8
        if w == 0.0:
            hv = np.cross(ys[:, 0:3], ys[:, 3:6])
            hz_scale = np.linalg.norm(hv[0])
            assert np.ptp(hv[:, 2]) / hz_scale < 1e-8
            if full_h:
                assert np.max(np.linalg.norm(hv - hv[0], axis=1)) / hz_scale < 1e-8
        assert abs(ecef_to_geodetic(*ev[prop.EV_IMPACT, 1:4])[2]) < 1e-3  # m


def _ballistic_states(n: int, seed: int = 3) -> np.ndarray:
    """Mid-course states of ~1000 km shots from 39 N 127 E (descending branch included)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 6))
    for i in range(n):
        lat, lon = math.radians(39.0 + rng.normal(0, 0.5)), math.radians(128.0 + rng.normal(0, 0.5))
        r = np.array(geodetic_to_ecef(lat, lon, rng.uniform(150e3, 400e3)))
        gamma = math.radians(rng.uniform(-30.0, 30.0))
        az = math.radians(rng.uniform(60.0, 100.0))
        d = np.array(
            enu_vec_to_ecef(math.sin(az) * math.cos(gamma), math.cos(az) * math.cos(gamma), math.sin(gamma), lat, lon)
        )
        out[i, 0:3] = r
        out[i, 3:6] = rng.uniform(2500.0, 3500.0) * d
    return out


def test_propagate_to_impact_batch_matches_single_flights() -> None:
    x = _ballistic_states(40)
    beta = np.linspace(2000.0, 20000.0, 40)
    pos, t = prop.propagate_to_impact(x, 100.0, beta)
    assert pos.shape == (40, 3) and t.shape == (40,)
    assert np.all(np.isfinite(t)) and np.all(t > 100.0)
    for i in (0, 17, 39):
        p1, t1 = prop.propagate_to_impact(x[i], 100.0, beta[i])
        np.testing.assert_array_equal(p1[0], pos[i])
        assert t1[0] == t[i]
    h = np.array([ecef_to_geodetic(*p)[2] for p in pos])
    assert np.max(np.abs(h)) < 1e-3  # m: on the ellipsoid
    # drag slows the fall: the same states without drag land earlier and further
    pos0, t0 = prop.propagate_to_impact(x, 100.0, 0.0)
    assert np.all(t0 < t)
    launch = x[:, 0:3]
    assert np.all(np.linalg.norm(pos0 - launch, axis=1) > np.linalg.norm(pos - launch, axis=1))


def test_propagate_to_impact_edge_rows() -> None:
    below = np.array([*geodetic_to_ecef(0.7, 2.2, -10.0), 0.0, 0.0, -100.0])
    r = np.array(geodetic_to_ecef(0.0, 0.0, 400e3))
    orbit = np.array([*r, 0.0, math.sqrt(GM_M3_S2 / np.linalg.norm(r)) - OMEGA_E_RAD_S * r[0], 0.0])
    pos, t = prop.propagate_to_impact(np.stack([below, orbit]), 5.0, np.array([1e4, np.inf]), max_flight_s=3000.0)
    np.testing.assert_array_equal(pos[0], below[0:3])
    assert t[0] == 5.0
    assert np.all(np.isnan(pos[1])) and np.isnan(t[1])
    with pytest.raises(ValueError, match=r"shape \(n, 6\)"):
        prop.propagate_to_impact(np.zeros((3, 5)), 0.0)


def test_dense_output_matches_steps_and_rejects_outside() -> None:
    y0 = _launch_state(3000.0, 0.7, R_TABLE + 1.0)
    _, n, t0, hh, rc, _, ev = _coast(y0, SPHERE)
    ys = prop.dense_sample(t0, hh, rc, n, np.array([-1.0, 0.0, t0[5], ev[prop.EV_IMPACT, 0] + 1e4]))
    assert np.all(np.isnan(ys[0])) and np.all(np.isnan(ys[3]))
    np.testing.assert_allclose(ys[1], y0, atol=1e-6)
    np.testing.assert_allclose(ys[2], rc[5, 0], atol=1e-6)


def test_propagate_to_impact_default_tolerance_is_metre_accurate() -> None:
    x = _ballistic_states(30, seed=8)
    pos, t = prop.propagate_to_impact(x, 0.0, 8000.0)
    ref, t_ref = prop.propagate_to_impact(x, 0.0, 8000.0, rtol=1e-11)
    assert np.max(np.linalg.norm(pos - ref, axis=1)) < 5.0  # m
    assert np.max(np.abs(t - t_ref)) < 0.01  # s


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(-1.5707, 1.5707), lon=st.floats(-3.14, 3.14), h=st.floats(-100.0, 1.0e6))
def test_air_height_is_close_to_the_geodetic_height(lat: float, lon: float, h: float) -> None:
    """The cheap height the drag uses: within 1 m of the geodetic height below 120 km, 20 m up to 1000 km."""
    x, y, z = geodetic_to_ecef(lat, lon, h)
    tol = 1.0 if h < 120e3 else 20.0
    assert abs(prop.air_height_m(x, y, z, prop.earth_model()) - h) < tol
    assert prop.air_height_m(x, y, z, SPHERE) == pytest.approx(math.sqrt(x * x + y * y + z * z) - R_TABLE)
