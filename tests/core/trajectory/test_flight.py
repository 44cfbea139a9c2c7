"""Powered flight: staging against the rocket equation, mass bookkeeping, drag, phases, missile data files."""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import numpy as np
import pytest

from triwarn.core.tracks import Phase
from triwarn.core.trajectory import propagate as prop
from triwarn.core.trajectory.constants import G0_M_S2
from triwarn.core.trajectory.flight import FlightError, Stage, Steering, Vehicle, fly_missile
from triwarn.core.trajectory.missiles import CATEGORIES, MissileError, missile_classes, parse_missiles

TWO_STAGE = Vehicle(
    name="test-2",
    stages=(
        Stage.from_isp(thrust_n=600e3, isp_s=280.0, burn_s=100.0, dry_kg=2000.0, cda_m2=0.8),
        Stage.from_isp(thrust_n=100e3, isp_s=310.0, burn_s=80.0, dry_kg=500.0, cda_m2=0.6),
    ),
    rv_mass_kg=700.0,
    rv_beta_kg_m2=8000.0,
    t_vert_s=10.0,
)
LAT, LON = math.radians(39.0), math.radians(127.0)


def test_stage_from_isp() -> None:
    s = Stage.from_isp(thrust_n=300e3, isp_s=250.0, burn_s=60.0, dry_kg=1.0, cda_m2=0.1)
    assert s.mdot_kg_s == pytest.approx(300e3 / (250.0 * G0_M_S2))
    assert s.prop_kg == pytest.approx(s.mdot_kg_s * 60.0)
    assert s.isp_s == pytest.approx(250.0)


def test_staging_obeys_the_rocket_equation() -> None:
    """No gravity, no air, no rotation: the burnout speed is Σ Isp g0 ln(m0/mf) over the stages (Tsiolkovsky),
    with the dry mass of stage 1 dropped between them (a vertical shot: the thrust keeps its direction)."""
    space = prop.earth_model(mu_m3_s2=0.0, j2=0.0, omega_rad_s=0.0, drag=False)
    f = fly_missile(TWO_STAGE, LAT, LON, Steering(0.3, math.pi / 2, 1e9), earth=space, max_flight_s=200.0)
    assert f.status == prop.STATUS_TIME_LIMIT
    s1, s2 = TWO_STAGE.stages
    m0 = TWO_STAGE.launch_mass_kg
    m1 = m0 - s1.prop_kg
    m2 = s2.dry_kg + s2.prop_kg + TWO_STAGE.rv_mass_kg
    dv = s1.isp_s * G0_M_S2 * math.log(m0 / m1) + s2.isp_s * G0_M_S2 * math.log(m2 / (m2 - s2.prop_kg))
    assert f.burnout_t_s == pytest.approx(180.0)
    assert f.staging_t_s == (100.0,)
    assert f.burnout_speed_m_s == pytest.approx(dv, rel=1e-8)
    assert f.burnout_state[6] == pytest.approx(TWO_STAGE.rv_mass_kg)  # the RV flies on alone
    # the mass on the dense output: full at launch, stage 1 dropped at 100 s
    t = np.array([0.0, 50.0, 99.999, 100.001, 150.0])
    y = prop.dense_sample(*f.steps[:3], f.steps[3], t)
    np.testing.assert_allclose(y[:, 6], [m0, m0 - 50 * s1.mdot_kg_s, m1, m2, m2 - 50 * s2.mdot_kg_s], atol=0.5)


def test_cut_off_and_drag() -> None:
    steer = Steering(math.radians(90.0), math.radians(40.0), 150.0)
    f = fly_missile(TWO_STAGE, LAT, LON, steer)
    assert f.hit_ground and f.burnout_t_s == pytest.approx(150.0)
    no_air = fly_missile(TWO_STAGE, LAT, LON, steer, earth=prop.earth_model(drag=False))
    assert no_air.range_m > f.range_m  # drag only takes energy away
    assert no_air.burnout_speed_m_s > f.burnout_speed_m_s
    full = fly_missile(TWO_STAGE, LAT, LON, Steering(steer.azimuth_rad, steer.pitch_end_rad, 1e9))
    assert full.burnout_t_s == pytest.approx(TWO_STAGE.total_burn_s)
    assert full.range_m > f.range_m


def test_phases_and_sampling() -> None:
    f = fly_missile(TWO_STAGE, LAT, LON, Steering(math.radians(90.0), math.radians(45.0), 1e9))
    t = np.array([-1.0, 10.0, f.burnout_t_s + 1.0, f.reentry_t_s + 1.0, f.impact_t_s + 1.0])
    assert f.phase(t).tolist() == [Phase.UNKNOWN, Phase.BOOST, Phase.MIDCOURSE, Phase.TERMINAL, Phase.UNKNOWN]
    pos, vel = f.sample(t)
    assert np.isnan(pos[0]).all() and np.isnan(pos[-1]).all() and np.isfinite(vel[1:4]).all()
    assert f.burnout_t_s < f.apogee_t_s < f.reentry_t_s < f.impact_t_s
    bare = fly_missile(TWO_STAGE, LAT, LON, Steering(0.0, 0.5, 1e9), store=False)
    with pytest.raises(FlightError, match="store=False"):
        bare.sample(np.array([1.0]))


def test_quasi_ballistic_glide_extends_the_range() -> None:
    kn23 = missile_classes()["kn-23"].vehicle
    assert kn23.rv_lift_to_drag > 0.0
    ballistic = Vehicle(**{**kn23.__dict__, "rv_lift_to_drag": 0.0})
    steer = Steering(math.radians(75.0), math.radians(15.0), 1e9)
    glide = fly_missile(kn23, LAT, LON, steer)
    plain = fly_missile(ballistic, LAT, LON, steer)
    assert glide.apogee_m == pytest.approx(plain.apogee_m, abs=1e-3)  # lift only after apogee (m)
    assert glide.range_m > plain.range_m + 50e3  # m


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (dict(stages=()), "1 to 3 stages"),
        (dict(rv_mass_kg=0.0), "rv_mass_kg must be positive"),
        (dict(rv_beta_kg_m2=math.nan), "rv_beta_kg_m2 must be positive"),
        (dict(stages=(Stage(10e3, 10.0, 60.0, 500.0, 0.1),)), "does not lift the launch weight"),
        (dict(stages=(Stage(600e3, 10.0, -1.0, 500.0, 0.1),)), "burn_s must be a positive number"),
    ],
)
def test_vehicle_validation(change: dict, pattern: str) -> None:
    with pytest.raises(FlightError, match=pattern):
        Vehicle(**{**TWO_STAGE.__dict__, **change})


def test_bad_launch_point() -> None:
    with pytest.raises(FlightError, match="latitude must be within"):
        fly_missile(TWO_STAGE, 2.0, 0.0, Steering(0.0, 0.5, 10.0))
    with pytest.raises(FlightError, match="finite"):
        fly_missile(TWO_STAGE, math.nan, 0.0, Steering(0.0, 0.5, 10.0))


def test_missile_catalog() -> None:
    classes = missile_classes()
    cats = {m.category for m in classes.values()}
    assert {"SRBM", "MRBM", "IRBM", "ICBM", "SLBM"} == cats == set(CATEGORIES)
    assert {m.propulsion for m in classes.values()} == {"liquid", "solid"}
    assert any(len(m.vehicle.stages) == 3 for m in classes.values())
    doc = tomllib.loads(resources.files("triwarn.core.trajectory.data").joinpath("missiles.toml").read_text())
    assert doc["meta"]["assumption"] is True and all(m["assumption"] is True for m in doc["missile"])


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda d: d["missile"][0].pop("assumption"), "assumption = true"),
        (lambda d: d["missile"][0]["stage"][0].pop("burn_s"), "missing key 'burn_s'"),
        (lambda d: d["missile"][0]["stage"][0].update(thrust_kn=100.0), "exactly one of 'isp_s' or 'thrust_kn'"),
        (lambda d: d["missile"][0].update(category="XRBM"), "'category' must be one of"),
        (lambda d: d["missile"][0].update(rv_mass_kg="heavy"), "'rv_mass_kg' = 'heavy' is not a finite number"),
        (lambda d: d["meta"].update(format_version=2), "format_version must be 1"),
    ],
)
def test_missile_file_errors(edit, pattern: str) -> None:
    doc = tomllib.loads(resources.files("triwarn.core.trajectory.data").joinpath("missiles.toml").read_text())
    edit(doc)
    with pytest.raises(MissileError, match=pattern):
        parse_missiles(doc)
