"""Scenario files: the demo and the catalog load, their truth is physical, broken files get precise errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from triwarn.core.tracks import NATIONS, Phase
from triwarn.core.trajectory.constants import GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import ecef_to_geodetic, geodesic_inverse
from triwarn.core.trajectory.gravity import jacobi_energy
from triwarn.scenarios.scenario_file import ScenarioError, catalog_names, load_scenario

KM = 1e3


@pytest.fixture(scope="module")
def demo():
    return load_scenario("demo")


def test_demo_header(demo) -> None:
    assert demo.name == "demo"
    assert demo.epoch_ns == 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
    assert {s.split("-")[0] for s in demo.sensor_ids} == set(NATIONS)
    assert len(demo.launches) == 2


def test_demo_truth_is_short_and_hits_its_aim_points(demo) -> None:
    truth = demo.truth()
    assert truth is demo.truth()  # cached
    assert truth.object_ids == ("demo-kn23", "demo-srbm")
    flight_s = truth.impact_time_s - truth.launch_time_s
    assert np.all((flight_s > 120.0) & (flight_s < 600.0))
    assert demo.duration_s == pytest.approx(truth.impact_time_s.max() + demo.tail_s)
    for i, ln in enumerate(demo.launches):
        miss_m = geodesic_inverse(
            math.radians(truth.impact_lat_deg[i]),
            math.radians(truth.impact_lon_deg[i]),
            math.radians(ln.aim_lat_deg),
            math.radians(ln.aim_lon_deg),
        )[0]
        assert miss_m < 100.0


def test_truth_sample_rows(demo) -> None:
    truth = demo.truth()
    before = truth.sample(-1.0)
    assert not before.active.any() and not before.pos_ecef_m.any() and not before.phase.any()
    s = truth.sample(10.0)  # only the first one has launched
    assert s.active.tolist() == [True, False]
    assert s.phase.tolist() == [int(Phase.BOOST), int(Phase.UNKNOWN)]
    assert not s.pos_ecef_m[1].any() and not s.vel_ecef_m_s[1].any()
    lat, lon, h = ecef_to_geodetic(*s.pos_ecef_m[0])
    assert 0.0 < h < 20 * KM
    assert geodesic_inverse(math.radians(39.17), math.radians(127.48), lat, lon)[0] < 20 * KM
    after = truth.sample(truth.impact_time_s.max() + 1.0)
    assert not after.active.any()


def test_truth_is_physical(demo) -> None:
    """Velocity is the time derivative of position; in free flight above the air the Jacobi integral of the
    rotating frame is conserved; phases go boost -> midcourse -> terminal."""
    truth = demo.truth()
    for i in range(len(truth)):
        t = np.linspace(truth.launch_time_s[i] + 1.0, truth.impact_time_s[i] - 1.0, 400)
        active, pos, vel, phase = truth.sample_times(t)
        assert active[:, i].all()
        dt = 1e-3
        _, p2, _, _ = truth.sample_times(t + dt)
        _, p1, _, _ = truth.sample_times(t - dt)
        fd = (p2[:, i] - p1[:, i]) / (2 * dt)
        np.testing.assert_allclose(fd, vel[:, i], atol=0.05)  # m/s
        ph = phase[:, i]
        assert ph[0] == Phase.BOOST and ph[-1] == Phase.TERMINAL
        assert np.all(np.diff(ph) >= 0)
        # after burnout, above 100 km: no thrust and next to no drag, so the Jacobi integral barely moves
        # (and only down: drag takes energy away)
        hs = np.array([ecef_to_geodetic(*p)[2] for p in pos[:, i]])
        free = np.flatnonzero((t > truth.burnout_time_s[i] + 1.0) & (hs > 100 * KM))
        assert free.size > 2
        e = np.array([jacobi_energy(*pos[j, i], *vel[j, i], GM_M3_S2, RE_J2_M, J2, OMEGA_E_RAD_S) for j in free])
        assert np.ptp(e) < 5.0  # J/kg, of ~ -6e7
        assert np.all(np.diff(e) < 1e-3)
        assert truth.apogee_m[i] == pytest.approx(hs.max(), abs=2 * KM)


def test_catalog_lists_demo() -> None:
    assert "demo" in catalog_names()


def test_unknown_catalog_name() -> None:
    with pytest.raises(ScenarioError, match=r"unknown scenario 'nope'.*demo"):
        load_scenario("nope")


GOOD = """
format_version = 1
name = "t"
epoch = 2022-11-02T08:51:00+09:00
sensors = ["kr-greenpine-busan"]

[[launch]]
id = "a"
missile = "kn-23"
site = "wonsan"
aim_lat_deg = 39.4
aim_lon_deg = 131.0
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_good_file_and_salvo(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path, GOOD + "count = 3\ninterval_s = 15.0\n"))
    assert [ln.object_id for ln in sc.launches] == ["a-1", "a-2", "a-3"]
    assert [ln.time_s for ln in sc.launches] == [0.0, 15.0, 30.0]
    assert sc.epoch_ns == 1_667_346_660 * 10**9  # 2022-11-01T23:51:00Z


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda s: s.replace("format_version = 1", "format_version = 7"),
            r"format_version: 7 is not supported; expected 1",
        ),
        (lambda s: s + "colour = 'red'\n", r"launch 'a'.colour: unknown key"),
        (lambda s: s.replace('name = "t"\n', 'name = "t"\nfoo = 1\n'), r"foo: unknown key"),
        (lambda s: s.replace("2022-11-02T08:51:00+09:00", "2022-11-02T08:51:00"), r"epoch: .* UTC offset"),
        (lambda s: s.replace('["kr-greenpine-busan"]', "[]"), r"sensors: .* not a list of sensor ids"),
        (lambda s: s.replace('["kr-greenpine-busan"]', '["a", "a"]'), r"sensors: 'a' is listed twice"),
        (
            lambda s: s.replace('"kn-23"', '"kn-99"'),
            r"launch 'a'.missile: 'kn-99' is not a known class; expected .*kn-23",
        ),
        (lambda s: s.replace('"wonsan"', '"atlantis"'), r"site: 'atlantis' is not a known site"),
        (
            lambda s: s.replace("aim_lat_deg = 39.4", "aim_lat_deg = 95.0"),
            r"aim_lat_deg: 95.0 is out of range; expected a number in \[-90, 90\]",
        ),
        (lambda s: s.replace("aim_lat_deg = 39.4", "aim_lat_deg = nan"), r"aim_lat_deg: nan is out of range"),
        (lambda s: s.replace("aim_lat_deg = 39.4", 'aim_lat_deg = "north"'), r"aim_lat_deg: 'north' is not a number"),
        (lambda s: s.replace("aim_lat_deg = 39.4\naim_lon_deg = 131.0\n", ""), r"aim point is missing or given twice"),
        (lambda s: s + "azimuth_deg = 90.0\n", r"aim point is missing or given twice"),
        (
            lambda s: s + 'shape = "loopy"\n',
            r"shape: 'loopy' is not a shape; expected minimum_energy, lofted, depressed",
        ),
        (lambda s: s + "count = 0\n", r"count: 0 is not a salvo size"),
        (lambda s: s.replace("[[launch]]", "[[launchx]]"), r"launchx: unknown key"),
        (lambda s: s + "[launch.published]\napogee_km = [5, 1]\n", r"published.apogee_km: .* not a valid interval"),
        (lambda s: s.replace("name = ", "name == "), r"not valid TOML"),
    ],
)
def test_broken_files_name_file_key_and_expectation(tmp_path: Path, edit, pattern: str) -> None:
    p = _write(tmp_path, edit(GOOD))
    with pytest.raises(ScenarioError, match=pattern) as info:
        load_scenario(p)
    assert str(p) in str(info.value)


def test_impossible_launch_names_the_limit(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path, GOOD.replace("aim_lon_deg = 131.0", "aim_lon_deg = 150.0")))
    with pytest.raises(ScenarioError, match=r"launch 'a' cannot be flown: .*beyond the maximum range of kn-23: \d+ km"):
        sc.truth()


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario("/nonexistent/x.toml")
