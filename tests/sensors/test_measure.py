"""Radar and infrared measurement generation: geometry (horizon, mask, range, boost only) against pymap3d,
and noise, bias, detection probability and false-alarm statistics against their catalog values."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pymap3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from triwarn.core.tracking import layout
from triwarn.core.tracks import Phase
from triwarn.core.trajectory.constants import A_M, B_M
from triwarn.core.trajectory.frames import geodetic_to_ecef
from triwarn.sensors.sim.catalog import load_catalog
from triwarn.sensors.sim.infrared import InfraredModel
from triwarn.sensors.sim.measure import los_clear
from triwarn.sensors.sim.radar import RadarModel

CAT = load_catalog()


def _radar(sensor_id: str = "us-tpy2-seongju", **changes: float) -> RadarModel:
    return RadarModel(dataclasses.replace(CAT[sensor_id], **changes), 0)


def _ecef(lat_deg: float, lon_deg: float, h_m: float) -> np.ndarray:
    return np.array(geodetic_to_ecef(math.radians(lat_deg), math.radians(lon_deg), h_m))


@settings(max_examples=150, deadline=None)
@given(
    dlat=st.floats(-12.0, 12.0),
    dlon=st.floats(-12.0, 12.0),
    h=st.floats(-100.0, 1.2e6),
)
def test_radar_never_sees_below_the_horizon_the_mask_or_beyond_its_range(dlat: float, dlon: float, h: float) -> None:
    radar = _radar(pd=1.0, false_alarms_per_scan=0.0)
    s = radar.sensor
    lat, lon = math.degrees(s.lat_rad) + dlat, math.degrees(s.lon_rad) + dlon
    pos = _ecef(lat, lon, h)[None]
    vel = np.zeros((1, 3))
    scan = radar.scan(0.0, pos, vel, np.ones(1, np.bool_), np.random.default_rng(0))
    _az, el, rng = pymap3d.ecef2aer(*pos[0], s.lat_rad, s.lon_rad, s.h_m, deg=False)
    seen = bool(scan.visible[0])
    if seen:
        assert el >= s.elevation_mask_rad - 1e-9 and rng <= s.max_range_m
        assert len(scan) == 1 and scan.truth_index[0] == 0
    else:
        assert len(scan) == 0
    # clearly inside the coverage: seen (an elevation above the local horizontal never crosses the Earth)
    if el > s.elevation_mask_rad + 1e-6 and rng < s.max_range_m - 1.0:
        assert seen


def test_horizon_cases_by_construction() -> None:
    radar = _radar("jp-fps5-sado", pd=1.0, false_alarms_per_scan=0.0, elevation_mask_rad=0.0)
    s = radar.sensor
    lat0, lon0 = math.degrees(s.lat_rad), math.degrees(s.lon_rad)
    # 1000 km east at 10 km height is far below the horizon (drop ~78 km); at 300 km height it is above
    far_low = _ecef(lat0, lon0 + 1000e3 / (111.32e3 * math.cos(s.lat_rad)), 10e3)
    far_high = _ecef(lat0, lon0 + 1000e3 / (111.32e3 * math.cos(s.lat_rad)), 300e3)
    pos = np.array([far_low, far_high])
    vis = radar.visible(pos, np.zeros((2, 3)), np.ones(2, np.bool_))
    assert vis.tolist() == [False, True]
    # the line of sight through the Earth is blocked, along the surface it is not
    site = radar.site_ecef_m
    assert not los_clear(*site, *(-site), A_M, B_M)
    assert los_clear(*site, *(site * 1.5), A_M, B_M)
    # an inactive object is never seen
    assert not radar.visible(pos[1:], np.zeros((1, 3)), np.zeros(1, np.bool_))[0]


def test_radar_noise_bias_and_detection_statistics() -> None:
    radar = _radar("us-tpy2-shariki", false_alarms_per_scan=0.0)
    s = radar.sensor
    lat0, lon0 = math.degrees(s.lat_rad), math.degrees(s.lon_rad)
    x, y, z = pymap3d.aer2ecef(250.0, 20.0, 600e3, lat0, lon0, s.h_m)
    pos = np.array([[x, y, z]])
    vel = np.array([[1000.0, -2000.0, 500.0]])
    rng = np.random.default_rng(5)
    n = 4000
    errs = []
    for _ in range(n):
        scan = radar.scan(0.0, pos, vel, np.ones(1, np.bool_), rng)
        if len(scan):
            errs.append(scan.z[0])
    errs = np.array(errs)
    k = errs.shape[0]
    # detection probability: binomial, 4 sigma
    assert abs(k / n - s.pd) < 4 * math.sqrt(s.pd * (1 - s.pd) / n)
    az, el, r = pymap3d.ecef2aer(x, y, z, s.lat_rad, s.lon_rad, s.h_m, deg=False)
    los = (pos[0] - radar.site_ecef_m) / r
    truth = np.array([az, el, r, float(los @ vel[0])])
    e = errs - truth
    e[:, 0] = np.remainder(e[:, 0] + math.pi, 2 * math.pi) - math.pi
    sig = np.array([s.sigma_az_rad, s.sigma_el_rad, s.sigma_range_m, s.sigma_range_rate_m_s])
    bias = np.array([s.bias_az_rad, s.bias_el_rad, s.bias_range_m, 0.0])
    # sample mean = bias within 4 standard errors
    assert np.all(np.abs(e.mean(axis=0) - bias) < 4 * sig / math.sqrt(k))
    # sample variances: (k-1) s²/σ² ~ χ²(k-1), two-sided 99.9 %
    lo, hi = chi2.ppf([0.0005, 0.9995], k - 1)
    stat = (k - 1) * e.var(axis=0, ddof=1) / sig**2
    assert np.all((stat > lo) & (stat < hi)), stat
    # independent components: correlation coefficients small
    c = np.corrcoef(e.T)
    assert np.all(np.abs(c[np.triu_indices(4, 1)]) < 4 / math.sqrt(k))
    assert errs.shape[1] == 4  # this radar reports range rate


def test_false_alarms_are_poisson_with_the_catalog_rate_and_inside_the_coverage() -> None:
    radar = _radar("kr-greenpine-busan", false_alarms_per_scan=2.0)
    s = radar.sensor
    rng = np.random.default_rng(9)
    counts = []
    for _ in range(3000):
        scan = radar.scan(0.0, np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, np.bool_), rng)
        assert np.all(scan.truth_index == -1)
        counts.append(len(scan))
        if len(scan):
            assert np.all(scan.z[:, 1] >= s.elevation_mask_rad) and np.all(scan.z[:, 2] <= s.max_range_m)
            assert scan.z.shape[1] == 3  # no range rate for this radar
    counts = np.array(counts)
    assert abs(counts.mean() - 2.0) < 4 * math.sqrt(2.0 / counts.size)
    assert abs(counts.var() / counts.mean() - 1.0) < 0.1  # Poisson dispersion


def test_infrared_sees_boost_only_and_reports_angles_with_its_noise() -> None:
    ir = InfraredModel(dataclasses.replace(CAT["us-sbirs-geo-1"], pd=1.0, false_alarms_per_scan=0.0), 0)
    s = ir.sensor
    pos = np.array([_ecef(39.0, 127.5, 40e3), _ecef(39.5, 128.0, 200e3), _ecef(-39.0, -53.0, 100e3)])
    active = np.ones(3, np.bool_)
    phase = np.array([Phase.BOOST, Phase.MIDCOURSE, Phase.BOOST])
    vis = ir.visible(pos, active, phase)
    assert vis.tolist() == [True, False, False]  # midcourse: no plume; antipode of the satellite: behind Earth
    rng = np.random.default_rng(3)
    X, Y, Z = ir.axes
    u = (pos[0] - ir.sat_ecef_m) / np.linalg.norm(pos[0] - ir.sat_ecef_m)
    truth = np.array([math.atan2(u @ Y, u @ X), math.asin(u @ Z)])
    z = np.array([ir.scan(0.0, pos[:1], active[:1], phase[:1], rng).z[0] for _ in range(3000)])
    e = z - truth
    assert np.all(np.abs(e.mean(axis=0) - s.bias_los_rad) < 4 * s.sigma_los_rad / math.sqrt(len(z)))
    lo, hi = chi2.ppf([0.0005, 0.9995], len(z) - 1)
    stat = (len(z) - 1) * e.var(axis=0, ddof=1) / s.sigma_los_rad**2
    assert np.all((stat > lo) & (stat < hi))


@pytest.mark.parametrize("sid", [s.id for s in CAT.sensors])
def test_every_catalog_sensor_builds_and_gives_its_tracker_row(sid: str) -> None:
    s = CAT[sid]
    model = RadarModel(s, 0) if s.kind == "radar" else InfraredModel(s, 0)
    row = model.tracker_row()
    assert row.shape == (layout.SP_LEN,) and np.all(np.isfinite(row))
    assert int(row[6]) == model.dim
    # white noise and the registration bias's magnitude, kept apart (the tracker considers the bias)
    if s.kind == "radar":
        np.testing.assert_allclose(row[7:10], [s.sigma_az_rad, s.sigma_el_rad, s.sigma_range_m])
        np.testing.assert_allclose(row[layout.I_BIAS : layout.I_BIAS + 3], np.abs(model.bias[:3]))
    else:
        assert row[7] == s.sigma_los_rad and row[layout.I_BIAS] == abs(s.bias_los_rad)
