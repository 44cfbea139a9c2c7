"""Phase and class evidence against closed forms (events.md Kepler table) and the trajectory core's flights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from triwarn.core.assessment.classify import (
    M_APOGEE,
    M_ERANGE,
    M_VUP,
    M_VUP_SIGMA,
    MissileClass,
    class_from_metrics,
    energy_range_m,
    flight_metrics,
    kepler_apogee_radius_m,
    phase_from_metrics,
)
from triwarn.core.tracks import Phase
from triwarn.core.trajectory.flight import Steering, fly_missile
from triwarn.core.trajectory.missiles import get_missile

MU = 3.986004418e14
R = 6_371_000.0  # events.md Kepler table: R = 6371 km
KM = 1000.0

# events.md "A physics cross-check": H km, D km, speed at r = R km/s, flight-path angle deg
KEPLER_TABLE = [
    ("2017-07-04", 2802.0, 933.0, 6.204, 83.2),
    ("2017-11-29", 4475.0, 950.0, 7.195, 84.8),
    ("2022-11-18", 6040.9, 999.0, 7.811, 85.4),
    ("2017-08-29", 550.0, 2700.0, 4.668, 36.8),
    ("2022-10-04", 970.0, 4600.0, 5.717, 35.9),
]


def range_closed_form_m(v: float, gamma: float) -> float:
    """Range of a Kepler arc from r = R back to r = R (textbook): tan(Ψ/2) = ν sinγ cosγ / (1 − ν cos²γ)."""
    nu = v * v * R / MU
    return 2.0 * math.atan2(nu * math.sin(gamma) * math.cos(gamma), 1.0 - nu * math.cos(gamma) ** 2) * R


def state_at_surface(v: float, gamma_deg: float) -> np.ndarray:
    g = math.radians(gamma_deg)
    return np.array([R, 0.0, 0.0, v * math.sin(g), v * math.cos(g), 0.0])


@pytest.mark.parametrize(("event", "H_km", "D_km", "v_km_s", "gamma_deg"), KEPLER_TABLE)
def test_kepler_apogee_reproduces_the_published_apogee(
    event: str, H_km: float, D_km: float, v_km_s: float, gamma_deg: float
) -> None:
    x = state_at_surface(v_km_s * KM, gamma_deg)
    ra = kepler_apogee_radius_m(*x, MU)
    assert ra - R == pytest.approx(H_km * KM, rel=5e-3), event
    # and the same (v, γ) flies the published range in the closed form (checks the table's reading)
    assert range_closed_form_m(v_km_s * KM, math.radians(gamma_deg)) == pytest.approx(D_km * KM, rel=1e-2)


@pytest.mark.parametrize(("event", "H_km", "D_km", "v_km_s", "gamma_deg"), KEPLER_TABLE)
def test_energy_range_is_the_maximum_of_the_closed_form(
    event: str, H_km: float, D_km: float, v_km_s: float, gamma_deg: float
) -> None:
    v = v_km_s * KM
    best = max(range_closed_form_m(v, math.radians(g)) for g in np.linspace(1.0, 89.0, 8801))
    assert energy_range_m(R, v, MU, R) == pytest.approx(best, rel=1e-6), event
    assert energy_range_m(R, v, MU, R) >= D_km * KM * 0.999


@pytest.mark.parametrize(
    ("event", "v_km_s", "expected"),
    [
        ("2017-08-29 Hwasong-12 at 2,700 km", 4.668, MissileClass.MRBM),
        ("2022-10-04 IRBM at 4,600 km", 5.717, MissileClass.IRBM),
        ("2017-07-04 Hwasong-14 lofted", 6.204, MissileClass.ICBM),
        ("2022-11-18 Hwasong-17 lofted", 7.811, MissileClass.ICBM),
        ("short range", 2.5, MissileClass.SRBM),
    ],
)
def test_class_by_energy(event: str, v_km_s: float, expected: MissileClass) -> None:
    # a non-rotating check: put the state on the equator's pole axis so ω × r = 0
    x = np.array([[0.0, 0.0, 6_356_752.3, v_km_s * KM, 0.0, 0.0]])
    m = flight_metrics(x, np.eye(6)[None])[0]
    est = class_from_metrics(m, Phase.MIDCOURSE)
    assert est.missile_class == expected, (event, m[M_ERANGE])
    assert not est.provisional
    assert est.reasons


def test_orbital_and_too_slow() -> None:
    assert energy_range_m(R, 8_000.0, MU, R) == pytest.approx(math.pi * R)
    assert energy_range_m(R, 0.0, MU, R) == 0.0
    # at rest 100 km up, the fall converts potential energy: the same as ~1.4 km/s at the surface
    v0 = math.sqrt(2.0 * MU * (1.0 / R - 1.0 / (R + 100e3)))
    assert energy_range_m(R + 100e3, 0.0, MU, R) == pytest.approx(energy_range_m(R, v0, MU, R), rel=1e-9)
    assert math.isinf(kepler_apogee_radius_m(R, 0.0, 0.0, 0.0, 11_300.0, 0.0, MU))


@pytest.fixture(scope="module")
def hwasong12():
    """A minimum-energy-like Hwasong-12 flight east from Mupyong-ri (trajectory core, J2, drag)."""
    veh = get_missile("hwasong-12").vehicle
    return fly_missile(
        veh, math.radians(40.6), math.radians(126.4), Steering(math.radians(80.0), math.radians(35.0), 1e9)
    )


def test_phase_of_a_flight_matches_the_trajectory_core(hwasong12) -> None:
    f = hwasong12
    assert f.hit_ground
    times = [0.3 * f.burnout_t_s, 0.8 * f.burnout_t_s, f.burnout_t_s + 60.0, 0.5 * f.flight_time_s]
    times += [f.terminal_t_s + 10.0, f.flight_time_s - 5.0]
    dt = 3.0
    t_now = np.array(times)
    p, v = f.sample(t_now)
    pp, vp = f.sample(t_now - dt)
    x = np.hstack([p, v])
    xp = np.hstack([pp, vp])
    P = np.tile(np.diag([50.0**2] * 3 + [0.5**2] * 3), (len(times), 1, 1))
    m = flight_metrics(x, P, xp, P, np.full(len(times), dt))
    got = [phase_from_metrics(row).phase for row in m]
    want = [Phase(int(q)) for q in f.phase(t_now)]
    assert got == want


def test_boost_class_is_provisional_and_apogee_is_close(hwasong12) -> None:
    f = hwasong12
    t = np.array([0.5 * f.burnout_t_s, f.burnout_t_s + 30.0])
    p, v = f.sample(t)
    pp, vp = f.sample(t - 2.0)
    P = np.tile(np.diag([50.0**2] * 3 + [0.5**2] * 3), (2, 1, 1))
    m = flight_metrics(np.hstack([p, v]), P, np.hstack([pp, vp]), P, np.full(2, 2.0))
    boost = class_from_metrics(m[0], phase_from_metrics(m[0]).phase)
    coast = class_from_metrics(m[1], phase_from_metrics(m[1]).phase)
    assert boost.provisional and not coast.provisional
    assert coast.missile_class == MissileClass.IRBM
    # after burnout the Kepler apogee is the flight's apogee (drag-free above 100 km; J2 makes ~1%)
    assert m[1, M_APOGEE] == pytest.approx(f.apogee_m, rel=0.02)


def test_no_history_uses_reported_boost() -> None:
    x = np.array([[0.0, 0.0, 6_356_752.3 + 20e3, 0.0, 0.0, 1000.0]])
    m = flight_metrics(x, np.eye(6)[None])[0]
    assert phase_from_metrics(m, Phase.BOOST).phase == Phase.BOOST
    assert phase_from_metrics(m).phase == Phase.MIDCOURSE


def test_reported_boost_wins_when_the_acceleration_is_noise() -> None:
    # an infrared-only boost track: velocity σ 150 m/s, so 2 s differences cannot resolve 20 m/s² of thrust
    r = 6_356_752.3 + 10e3
    x = np.array([[0.0, 0.0, r, 0.0, 0.0, 500.0]])
    xp = np.array([[0.0, 0.0, r - 960.0, 0.0, 0.0, 460.0]])
    P = np.diag([800.0**2] * 3 + [150.0**2] * 3)[None]
    m = flight_metrics(x, P, xp, P, np.array([2.0]))[0]
    assert phase_from_metrics(m, Phase.BOOST).phase == Phase.BOOST
    assert phase_from_metrics(m, Phase.MIDCOURSE).phase == Phase.MIDCOURSE


def test_boost_profiles_tell_a_fast_solid_srbm_from_a_slow_liquid_icbm() -> None:
    """The catalog's nominal boosts: 20 s after launch a KN-23-like SRBM is far faster than the big liquid
    ICBMs, so its speed then rules them (and their intercontinental reach) out; a speed no class has fits none,
    and the bound is then the longest reach of the whole catalog."""
    from triwarn.core.assessment.classify import boost_profiles, boost_range_bound_m

    profiles = boost_profiles()
    by = {p.name: p for p in profiles}
    assert {"kn-23", "hwasong-17"} <= set(by)
    v20 = {n: float(np.interp(20.0, p.t_s, p.speed_m_s)) for n, p in by.items()}
    assert v20["kn-23"] > 3 * v20["hwasong-17"]
    r_kn, names = boost_range_bound_m(18.0, 22.0, v20["kn-23"], 20.0, profiles)
    assert "kn-23" in names and "hwasong-17" not in names
    assert 500e3 < r_kn < by["hwasong-17"].max_range_m
    r_slow, names_slow = boost_range_bound_m(18.0, 22.0, v20["hwasong-17"], 20.0, profiles)
    assert "hwasong-17" in names_slow and "kn-23" not in names_slow and r_slow > 8_000e3
    # long after every class burnt out: no class fits, the reach of the whole catalog
    r_none, none = boost_range_bound_m(900.0, 950.0, 3000.0, 20.0, profiles)
    assert none == () and r_none == max(p.max_range_m for p in profiles)


def test_the_vertical_speed_comes_with_its_own_sigma() -> None:
    """``M_VUP_SIGMA`` is √(upᵀ P_vv up) of the state's velocity covariance along the geodetic up: on the
    equator at 0° E the up is ECEF x, so it is the x velocity's σ whatever the other axes' (the assessor's
    descent test compares the vertical speed with it)."""
    x = np.array([[6_478_137.0, 0.0, 0.0, -300.0, 50.0, 20.0]])
    P = np.diag([1e4, 1e4, 1e4, 150.0**2, 900.0**2, 5.0**2])[None]
    m = flight_metrics(x, P)[0]
    assert m[M_VUP] == pytest.approx(-300.0)
    assert m[M_VUP_SIGMA] == pytest.approx(150.0)


def test_a_descent_within_the_noise_is_not_a_reentry() -> None:
    """An infrared track 11 s after launch read 739 m/s downward at 1 km below the ellipsoid, at a velocity σ
    near a thousand (close pairs seed 6): taken for a re-entry, its warning ENDED ("object impacted") when the
    track dropped out, and came back under a new id. Descending counts beyond 3σ of the vertical speed."""
    r = 6_356_752.3 - 1e3  # at the pole, 1 km below the ellipsoid: "up" is +z
    x = np.array([[0.0, 0.0, r, 0.0, 0.0, -739.0]])
    xp = np.array([[0.0, 0.0, r + 734.0, 0.0, 0.0, -729.2]])  # 1 s earlier, under gravity alone
    noisy = np.diag([2000.0**2] * 3 + [1000.0**2] * 3)[None]
    m = flight_metrics(x, noisy, xp, noisy, np.array([1.0]))[0]
    assert m[M_VUP] == pytest.approx(-739.0) and m[M_VUP_SIGMA] == pytest.approx(1000.0)
    assert phase_from_metrics(m, Phase.BOOST).phase == Phase.BOOST
    assert phase_from_metrics(m, Phase.MIDCOURSE).phase == Phase.MIDCOURSE
    # the same reading from a radar track (σ 10 m/s) is a descent
    sharp = np.diag([50.0**2] * 3 + [10.0**2] * 3)[None]
    m = flight_metrics(x, sharp, xp, sharp, np.array([1.0]))[0]
    assert phase_from_metrics(m, Phase.MIDCOURSE).phase == Phase.TERMINAL
    assert phase_from_metrics(m, Phase.BOOST).phase == Phase.TERMINAL
