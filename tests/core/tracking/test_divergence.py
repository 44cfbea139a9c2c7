"""Trackers that never diverge (issue 14, item 4): the motion model stays stable where the drag is stiff, and a
track outside any flight envelope, or with a non-finite or exploded estimate, is dropped unpublished."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
import pytest
from filter_cases import scipy_rhs
from scipy.integrate import solve_ivp

from triwarn.core.tracking import layout, measurement, motion
from triwarn.core.tracking.tracker import DIVERGED_REASONS, Tracker, TrackerConfig, diverged
from triwarn.core.trajectory.frames import geodetic_to_ecef

LAT, LON = math.radians(37.0), math.radians(131.0)
SIG = (1e-3, 1e-3, 15.0)


@pytest.mark.parametrize("beta", [100.0, 30.0])
def test_prediction_with_stiff_drag_is_stable_and_matches_an_independent_integrator(beta: float) -> None:
    """A light object (β 30-100 kg/m²) at 8 km and 1.5 km/s: ρ|v|/β = 8-26 /s, so a 1 s RK4 step multiplied the
    velocity by ~10² per step (the state reached 3.7e9 m after 2 s at β = 100, 1.5e22 m at β = 30). Predicted in
    1 s calls as the tracker does, against SciPy's RK45 on the same equations."""
    lat, lon = math.radians(38.0), math.radians(132.0)
    x = np.zeros(layout.NX)
    x[:3] = geodetic_to_ecef(lat, lon, 8e3)
    x[3:6] = pymap3d.enu2uvw(300.0, 0.0, -1500.0, lat, lon, deg=False)
    x[6] = math.log(beta)
    atm = motion.VALLADO_EXP_ATMOSPHERE
    sol = solve_ivp(scipy_rhs(beta, atm, np.zeros(3)), (0.0, 6.0), x[:6], rtol=1e-10, atol=1e-6)
    P = np.eye(layout.NX) * 100.0
    params = motion.model_params(1.0, 100e3, 1.0, 0.05)
    for _ in range(6):
        motion.predict_one(x, P, 1.0, 1.0, 0.0, 1e-5, params, atm)
    assert np.linalg.norm(x[:3] - sol.y[:3, -1]) < 5.0  # metres, after ~1 km of fall
    assert np.linalg.norm(x[3:6] - sol.y[3:, -1]) < 1.0  # m/s, at a terminal speed of 40-80 m/s
    assert np.all(np.isfinite(P)) and np.all(np.linalg.eigvalsh(P) > 0)
    assert math.sqrt(np.trace(P[:3, :3])) < 30e3  # the drag model's error (q_drag_s); it was 1e7 m and more


def test_drag_split_is_one_piece_where_the_drag_is_not_stiff() -> None:
    """Tracks of missiles (β of thousands of kg/m², or above the air) are predicted exactly as before."""
    lat, lon = math.radians(38.0), math.radians(132.0)
    atm = motion.VALLADO_EXP_ATMOSPHERE
    for h_m, beta, speed in [(300e3, 5000.0, 7000.0), (20e3, 5000.0, 3000.0), (5e3, 5000.0, 2000.0)]:
        x = np.zeros(layout.NX)
        x[:3] = geodetic_to_ecef(lat, lon, h_m)
        x[3] = speed
        x[6] = math.log(beta)
        assert motion.drag_split(x, 1.0, atm) == 1
    x[6] = math.log(100.0)  # at 5 km (ρ = 0.614 kg/m³), 2 km/s: ρ|v|/β = 12.3 /s
    assert motion.drag_split(x, 1.0, atm) == 13
    assert motion.drag_split(x, 0.05, atm) == 1


def test_diverged_names_each_reason() -> None:
    cfg = TrackerConfig()
    r = np.array(geodetic_to_ecef(LAT, LON, 100e3))
    x = np.zeros((7, 6))
    x[:, :3] = r
    x[:, 3] = 2000.0
    P = np.tile(np.diag([1e4] * 3 + [1e2] * 3), (7, 1, 1))
    x[1, 0] = np.nan
    x[2, :3] = r / np.linalg.norm(r) * 1.7e13  # the local track
    x[3, :3] = r / np.linalg.norm(r) * 6.0e6  # ~380 km under the ground
    x[4, 3] = 40e3  # a meteor's speed
    P[5, 0, 0] = -1.0
    P[6, 3:6, 3:6] *= 1e6  # √tr P_vv = 17 km/s
    why = diverged(x, P, cfg)
    names = ["sane", *DIVERGED_REASONS]
    assert [names[c] for c in why] == ["sane", "non-finite", "height", "height", "speed", "covariance", "covariance"]


def test_a_slow_low_track_long_after_it_began_is_stalled() -> None:
    """A track sitting on a launch site (1 km up, 50 m/s) 60 s after it began follows no missile; the same 10 s
    after it began, or a lofted ICBM at apogee (5,850 km, 126 m/s), is sane."""
    cfg = TrackerConfig()
    x = np.zeros((3, 6))
    x[0, :3] = geodetic_to_ecef(LAT, LON, 1e3)
    x[1, :3] = geodetic_to_ecef(LAT, LON, 1e3)
    x[2, :3] = geodetic_to_ecef(LAT, LON, 5.85e6)
    x[:2, 3] = 50.0
    x[2, 3] = 126.0
    P = np.tile(np.eye(6) * 1e4, (3, 1, 1))
    why = diverged(x, P, cfg, np.array([60.0, 10.0, 2000.0]))
    assert why.tolist() == [1 + DIVERGED_REASONS.index("stalled"), 0, 0]
    assert diverged(x, P, cfg).tolist() == [0, 0, 0]  # without ages: no stall test


def _scans(tr: Tracker, sp: np.ndarray, truth_at, times: np.ndarray, rng: np.random.Generator):
    """Feed one radar scan per time (one measurement of the object), report after each; the reports' rows."""
    rows = []
    for t in times:
        x = np.zeros(layout.NX)
        x[:6] = truth_at(t)
        z = np.empty(layout.MAX_Z)
        H = np.empty((layout.MAX_Z, layout.NX))
        measurement.measure_h(x, sp, z, H)
        tr.process_scan(0, float(t), (z[:3] + np.array(SIG) * rng.standard_normal(3))[None])
        tf = tr.report(float(t))
        rows += [(float(t), xk.copy(), Pk.copy()) for xk, Pk in zip(tf.x, tf.P, strict=True)]
    return rows


def test_a_track_outside_the_flight_envelope_is_never_published() -> None:
    """Radar measurements of an object at 12 km/s (a meteor: no missile flies so fast) fed at 20 Hz make a
    track that the tracker confirms and follows; no state it publishes is faster than the envelope's 9 km/s:
    the track is dropped once its estimate leaves the envelope, counted as 'speed'. The same tracker with the
    envelope opened publishes speeds above 10 km/s (the test can fail)."""
    sp = measurement.radar_row(np.array(geodetic_to_ecef(LAT, LON, 30.0)), LAT, LON, *SIG)
    lat, lon = math.radians(38.5), math.radians(132.0)
    r0 = np.array(geodetic_to_ecef(lat, lon, 90e3))
    v0 = np.array(pymap3d.enu2uvw(-9e3, 0.0, -8e3, lat, lon, deg=False))
    times = np.arange(0.0, 2.0, 0.05)

    def truth_at(t: float) -> np.ndarray:
        return np.concatenate([r0 + v0 * t, v0])

    cfg = TrackerConfig()
    tr = Tracker(sp[None], cfg)
    rows = _scans(tr, sp, truth_at, times, np.random.default_rng(3))
    assert all(np.linalg.norm(x[3:6]) <= cfg.envelope_max_speed_m_s for _, x, _ in rows)
    assert tr.diverged["speed"] >= 1
    open_cfg = TrackerConfig(envelope_max_speed_m_s=math.inf)
    rows = _scans(Tracker(sp[None], open_cfg), sp, truth_at, times, np.random.default_rng(3))
    assert max(np.linalg.norm(x[3:6]) for _, x, _ in rows) > 10e3


def test_every_published_track_of_a_light_object_in_the_air_is_inside_the_envelope() -> None:
    """A light object (β = 60 kg/m²) falling through the air, seen for 8 s and then coasting to deletion: every
    report (CONFIRMED, COASTING, DELETED) within a few km of the truth, nothing dropped as diverged."""
    sp = measurement.radar_row(np.array(geodetic_to_ecef(LAT, LON, 30.0)), LAT, LON, *SIG)
    lat, lon = math.radians(37.5), math.radians(131.5)
    x0 = np.zeros(6)
    x0[:3] = geodetic_to_ecef(lat, lon, 12e3)
    x0[3:] = pymap3d.enu2uvw(800.0, 0.0, -1200.0, lat, lon, deg=False)
    atm = motion.VALLADO_EXP_ATMOSPHERE
    times = np.arange(0.0, 40.0, 1.0)
    truth = solve_ivp(scipy_rhs(60.0, atm, np.zeros(3)), (0.0, 39.0), x0, t_eval=times, rtol=1e-10, atol=1e-6).y.T
    tr = Tracker(sp[None])
    rng = np.random.default_rng(0)
    seen = 0
    for k, t in enumerate(times):
        z = np.zeros((0, 3))
        if k < 8:
            x = np.zeros(layout.NX)
            x[:6] = truth[k]
            zz = np.empty(layout.MAX_Z)
            H = np.empty((layout.MAX_Z, layout.NX))
            measurement.measure_h(x, sp, zz, H)
            z = (zz[:3] + np.array(SIG) * rng.standard_normal(3))[None]
        tr.process_scan(0, float(t), z)
        tf = tr.report(float(t))
        for xk in tf.x:
            seen += 1
            assert np.linalg.norm(xk[:3] - truth[k, :3]) < 20e3
            assert np.linalg.norm(xk[3:6]) < 3000.0
    assert seen > 8
    assert sum(tr.diverged.values()) == 0


def test_a_slow_object_low_in_the_air_is_dropped_once_stalled() -> None:
    """Radar measurements of something slow low in the air (2 km up, 60 m/s: an aircraft, or a track sitting
    on a launch site) make a confirmed track; from 45 s after it began it is no longer published, counted as
    'stalled'."""
    sp = measurement.radar_row(np.array(geodetic_to_ecef(LAT, LON, 30.0)), LAT, LON, *SIG)
    lat, lon = math.radians(37.3), math.radians(131.2)
    r0 = np.array(geodetic_to_ecef(lat, lon, 2e3))
    v0 = np.array(pymap3d.enu2uvw(60.0, 0.0, 0.0, lat, lon, deg=False))
    times = np.arange(0.0, 60.0, 1.0)

    def truth_at(t: float) -> np.ndarray:
        return np.concatenate([r0 + v0 * t, v0])

    tr = Tracker(sp[None])
    rng = np.random.default_rng(5)
    seen: dict[int, list[float]] = {}
    for t in times:
        x = np.zeros(layout.NX)
        x[:6] = truth_at(t)
        z = np.empty(layout.MAX_Z)
        H = np.empty((layout.MAX_Z, layout.NX))
        measurement.measure_h(x, sp, z, H)
        tr.process_scan(0, float(t), (z[:3] + np.array(SIG) * rng.standard_normal(3))[None])
        for n in tr.report(float(t)).track_numbers.tolist():
            seen.setdefault(n, []).append(float(t))
    first = seen[min(seen)]
    assert first[0] < 10.0 and 40.0 < first[-1] < 46.0  # tracked at first, not published once 45 s old
    assert tr.diverged["stalled"] >= 1
    # (the measurements then start a new track, itself dropped 45 s after it began)
