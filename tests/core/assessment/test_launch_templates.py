"""Time since launch and launch point from the catalog classes' flights (templates), on flights the templates
were not built from (other pitches, cut-offs, sites and azimuths)."""

from __future__ import annotations

import math

import numpy as np
from pymap3d.vincenty import vdist

from triwarn.core.assessment.launch import estimate_launch
from triwarn.core.assessment.launch_templates import (
    earliest_time_at_height,
    template_launch,
    templates,
    time_since_launch,
)
from triwarn.core.trajectory.flight import Steering, fly_missile
from triwarn.core.trajectory.frames import ecef_to_geodetic
from triwarn.core.trajectory.missiles import missile_classes

P = np.diag([300.0**2] * 3 + [15.0**2] * 3)


def _flights(seed: int, per_class: int = 2):
    """Off-grid flights of every class: pitch 15-85°, cut-off 35-100% of the burn, sites over the DPRK."""
    rng = np.random.default_rng(seed)
    for name, mc in missile_classes().items():
        for _ in range(per_class):
            lat, lon = math.radians(rng.uniform(38.0, 41.0)), math.radians(rng.uniform(124.5, 129.5))
            steer = Steering(
                math.radians(rng.uniform(80.0, 200.0)),
                math.radians(rng.uniform(15.0, 85.0)),
                rng.uniform(0.35, 1.0) * mc.vehicle.total_burn_s,
            )
            f = fly_missile(mc.vehicle, lat, lon, steer)
            if f.hit_ground:
                yield name, lat, lon, f


def test_templates_cover_every_class() -> None:
    tp = templates()
    assert set(tp.names) == set(missile_classes())
    assert np.isfinite(tp.tau_s).all() and np.isfinite(tp.h_m).all() and np.isfinite(tp.ground_m).all()
    assert set(np.unique(tp.cls).tolist()) == set(range(len(tp.names)))


def test_time_since_launch_after_burnout_is_honest() -> None:
    """After burnout one state cannot tell a short-burn class from a longer one cut early: the estimate is
    within 3σ of the truth on ≥ 90% of the states, and its median error stays under 25 s (the gravity-turn
    model alone: 28-32 s median, 120-155 s at the 95th percentile, on the same kind of states)."""
    errs, z = [], []
    for _, _, _, f in _flights(21):
        ts = np.arange(f.burnout_t_s + 5.0, min(f.apogee_t_s, f.burnout_t_s + 300.0), 40.0)
        if ts.size == 0:
            continue
        p, v = f.sample(ts)
        for t, x in zip(ts, np.hstack([p, v]), strict=True):
            r = time_since_launch(x, P)
            if r.valid:
                errs.append(abs(r.tau_s - t))
                z.append(abs(r.tau_s - t) / r.sigma_s)
    assert len(errs) >= 40
    assert float(np.mean(np.asarray(z) <= 3.0)) >= 0.9
    assert float(np.median(errs)) < 25.0


def test_boost_states_keep_the_gravity_turn_time_and_get_a_pad_near_the_truth() -> None:
    """Early in the boost the back-propagated time (a few seconds) is kept; the point is within 5 km of the pad
    on 90% of the states."""
    t_err, lp_err = [], []
    for _, lat, lon, f in _flights(22):
        ts = np.arange(15.0, 0.6 * f.burnout_t_s, 15.0)
        if ts.size == 0:
            continue
        p, v = f.sample(ts)
        X = np.hstack([p, v])
        ests = estimate_launch(X, np.repeat(P[None], ts.size, 0), 0.0)
        for t, x, e in zip(ts, X, ests, strict=True):
            out = template_launch(x, P, e, True)
            assert out.valid
            t_err.append(abs(-out.t_s - t))
            lp_err.append(float(vdist(out.lat_deg, out.lon_deg, math.degrees(lat), math.degrees(lon))[0]))
    assert len(t_err) >= 20
    assert float(np.percentile(t_err, 90)) < 15.0
    assert float(np.median(t_err)) < 5.0
    assert float(np.percentile(lp_err, 90)) < 5_000.0


def test_a_state_no_class_can_fly_is_left_to_the_gravity_turn_model() -> None:
    """9 km/s at 20 km height, climbing: no catalog class; the template step returns its input unchanged."""
    from triwarn.core.trajectory.frames import enu_vec_to_ecef, geodetic_to_ecef

    la, lo = math.radians(39.0), math.radians(127.0)
    pos = np.array(geodetic_to_ecef(la, lo, 20e3))
    vel = np.array(enu_vec_to_ecef(6000.0, 0.0, 6700.0, la, lo))
    x = np.r_[pos, vel]
    assert not time_since_launch(x, P).valid
    est = estimate_launch(x[None], P[None], 0.0)[0]
    assert template_launch(x, P, est, True) is est


def test_an_earlier_state_tells_a_short_burn_class_from_a_longer_burner_cut_early() -> None:
    """States 5 and 20 s after burnout of off-grid flights, with the state 15 s before (both with 40 m/s of
    velocity noise per axis): fitting both states at least halves the median error on the short-burn classes
    (whose states a longer-burning class cut early also reaches, later, while it was still thrusting 15 s
    before), does not make the median over all classes worse, and stays honest (within 3σ on ≥ 90%). An
    earlier state that no flight can have passed (the same state 1,000 s before) leaves no row: the state
    alone decides."""
    p_noise = np.diag([300.0**2] * 3 + [40.0**2] * 3)
    rng = np.random.default_rng(24)
    err: dict[bool, dict[bool, list[float]]] = {s: {c: [] for c in (False, True)} for s in (False, True)}
    z = []
    for name, _, _, f in _flights(23, per_class=3):
        short = missile_classes()[name].vehicle.total_burn_s < 40.0
        for after in (5.0, 20.0):
            t = f.burnout_t_s + after
            if t >= f.apogee_t_s:
                continue
            p, v = f.sample(np.array([t - 15.0, t]))
            x0, x = np.hstack([p, v]) + rng.multivariate_normal(np.zeros(6), p_noise, 2)
            r0, r1 = time_since_launch(x, p_noise), time_since_launch(x, p_noise, earlier=(x0, p_noise, 15.0))
            if r0.valid and r1.valid:
                err[short][False].append(abs(r0.tau_s - t))
                err[short][True].append(abs(r1.tau_s - t))
                z.append(abs(r1.tau_s - t) / r1.sigma_s)
            if r0.valid:
                r2 = time_since_launch(x, p_noise, earlier=(x, p_noise, 1_000.0))
                assert r2.valid and r2.tau_s == r0.tau_s and r2.sigma_s == r0.sigma_s
    assert len(err[True][True]) >= 10 and len(z) >= 50
    assert np.median(err[True][True]) < 0.5 * np.median(err[True][False]), err[True]
    every = {c: np.median(err[False][c] + err[True][c]) for c in (False, True)}
    assert every[True] <= every[False], every
    assert float(np.mean(np.asarray(z) <= 3.0)) >= 0.9


def test_an_earlier_state_no_flight_passed_leaves_the_newest_state_alone() -> None:
    """An earlier state that no catalog flight passes dt before any of its rows (the newest state, 20 s before,
    falling instead of climbing: a track that took another object's states) fits no class on both states: the
    newest state alone decides, as without it."""
    for _, _, _, f in _flights(25, per_class=1):
        t = f.burnout_t_s + 20.0
        if t >= f.apogee_t_s:
            continue
        p, v = f.sample(np.array([t]))
        x = np.r_[p[0], v[0]]
        x0 = np.r_[p[0], -v[0]]
        r0, r1 = time_since_launch(x, P), time_since_launch(x, P, earlier=(x0, P, 20.0))
        assert r1.valid == r0.valid
        if r0.valid:
            assert (r1.tau_s, r1.sigma_s, r1.classes) == (r0.tau_s, r0.sigma_s, r0.classes)


def test_the_earliest_time_at_a_height_never_exceeds_a_flights_time_there() -> None:
    """The launch-time bound's premise: no flight (off the templates' grid: other pitches, cut-offs, sites and
    azimuths) is anywhere at a height earlier than :func:`earliest_time_at_height` of it."""
    checked = 0
    for name, _, _, f in _flights(11, per_class=3):
        t = np.arange(1.0, f.apogee_t_s if math.isfinite(f.apogee_t_s) else f.impact_t_s, 2.0)  # up to apogee
        p, _ = f.sample(t)
        for ti, pi in zip(t, p, strict=True):
            h = ecef_to_geodetic(*pi)[2]
            assert earliest_time_at_height(h) <= ti, (name, ti, h)
            checked += 1
    assert checked > 1000
    # and it is a bound that says something: tens of seconds to the heights a radar first sees
    assert earliest_time_at_height(0.0) == 0.0
    assert 10.0 <= earliest_time_at_height(30_000.0) <= 40.0
    assert earliest_time_at_height(30_000.0) <= earliest_time_at_height(60_000.0)
