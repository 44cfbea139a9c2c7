"""Coasted states: the fusion engine reports when each system track was last updated by a sensor
(``SystemTrack.fresh_ns``), and the assessor leaves the impact predictions of a gliding track's coasted states
out of the impact area while predictions from updated states are in its window."""

from __future__ import annotations

import math

import numpy as np
from pymap3d.vincenty import vdist

from triwarn.core.assessment.assess import Assessor
from triwarn.core.fusion.engine import FusionEngine
from triwarn.core.tracks import LocalTrackBatch, Phase, Status, SystemTrack
from triwarn.core.trajectory.missiles import get_missile
from triwarn.core.trajectory.planning import plan_trajectory

NS = 1_000_000_000
KM = 1000.0
P_TRACK = np.diag([200.0**2] * 3 + [4.0**2] * 3)  # a fused track's accuracy (assumption for the test)


def _batch(k: int, t_ns: int, x: np.ndarray, status: Status, hit_ns: int | None = None) -> LocalTrackBatch:
    return LocalTrackBatch(
        nation="us",
        node_id="us-radar-1",
        batch_seq=k,
        bd_seq=k,
        sent_time_ns=t_ns,
        track_numbers=np.array([7], dtype=np.int64),
        time_ns=np.array([t_ns], dtype=np.int64),
        x=x[None].copy(),
        P=np.diag([100.0**2] * 3 + [2.0**2] * 3)[None].copy(),
        phase=np.array([int(Phase.MIDCOURSE)], dtype=np.int64),
        status=np.array([int(status)], dtype=np.int64),
        quality=np.array([0.9]),
        beta_kg_m2=np.array([0.0]),
        last_update_ns=np.zeros(0, np.int64) if hit_ns is None else np.array([hit_ns], dtype=np.int64),
    )


def test_engine_reports_the_newest_sensor_update_of_a_coasting_track() -> None:
    engine = FusionEngine()
    x0 = np.array([-3.2e6, 4.0e6, 3.9e6, 1500.0, -800.0, 300.0])
    t0 = 1_700_000_000 * NS
    seen: list[SystemTrack] = []
    statuses = [Status.CONFIRMED] * 4 + [Status.COASTING] * 4
    for k, status in enumerate(statuses):
        t = t0 + k * NS
        x = x0.copy()
        x[:3] += x0[3:] * k
        seen += engine.ingest(_batch(k, t, x, status)).changed
    assert seen, "no system track reported"
    last_fresh = t0 + 3 * NS
    for t in seen:
        assert t.fresh_ns == min(t.time_ns, last_fresh), (t.time_ns - t0, t.fresh_ns - t0)
    assert seen[-1].time_ns == t0 + 7 * NS and seen[-1].time_ns - seen[-1].fresh_ns == 4 * NS


def test_engine_takes_the_nodes_last_measurement_update_of_a_track_still_confirmed() -> None:
    """A node reports a track CONFIRMED for coast_after_s (5 s) after its last measurement: a track that lost its
    object drifts off meanwhile. Where the node reports its last measurement update, the system track's
    fresh_ns is that time, not the state's."""
    engine = FusionEngine()
    x0 = np.array([-3.2e6, 4.0e6, 3.9e6, 1500.0, -800.0, 300.0])
    t0 = 1_700_000_000 * NS
    seen: list[SystemTrack] = []
    for k in range(8):
        t = t0 + k * NS
        x = x0.copy()
        x[:3] += x0[3:] * k
        hit = t0 + min(k, 3) * NS  # the last measurement at t0 + 3 s, still CONFIRMED after it
        seen += engine.ingest(_batch(k, t, x, Status.CONFIRMED, hit_ns=hit)).changed
    assert seen[-1].time_ns == t0 + 7 * NS and seen[-1].fresh_ns == t0 + 3 * NS
    # an absurd last update (5 min before the state) counts as last_update_max_age_s (30 s) old
    t = t0 + 8 * NS
    (track,) = engine.ingest(_batch(8, t, x0, Status.CONFIRMED, hit_ns=t - 300 * NS)).changed
    assert track.fresh_ns == t - 30 * NS


def _kn23():
    """The 2019 KN-23 (gliding, L/D 3): (sample(t) -> (pos, vel), impact lat, lon, impact time s)."""
    from triwarn.scenarios.scenario_file import load_scenario

    truth = load_scenario("2019-07-25-kn23-depressed").truth()

    def sample(t: float) -> tuple[np.ndarray, np.ndarray]:
        s = truth.sample(t)
        return s.pos_ecef_m[0], s.vel_ecef_m_s[0]

    return sample, truth.impact_lat_deg[0], truth.impact_lon_deg[0], truth.impact_time_s[0]


def _irbm():
    """An IRBM from Mupyong-ri to east of Kamaishi (the 2022-10-04 overflight; ballistic), as in test_assess.py."""
    mc = get_missile("hwasong-12")
    plan = plan_trajectory(mc.vehicle, 40.6, 126.4, aim_lat_deg=33.70, aim_lon_deg=177.25, shape="minimum_energy")
    f = plan.flight

    def sample(t: float) -> tuple[np.ndarray, np.ndarray]:
        p, v = f.sample(np.array([t]))
        return p[0], v[0]

    return sample, math.degrees(f.impact_lat_rad), math.degrees(f.impact_lon_rad), f.flight_time_s


def _latlon(a) -> tuple[float, float]:
    return a.impact.lat_deg, a.impact.lon_deg


def _states(sample, t_start: float, seed: int):
    """20 updated states at 1 Hz from ``t_start``, then 15 coasted ones that drift off the flight (3 m/s²
    across its path, horizontal: a stand-in for a coasting model the missile has left):
    (time_ns, x, fresh_ns of the track)."""
    rng = np.random.default_rng(seed)
    out = []
    for j in range(35):
        t = t_start + j
        p, v = sample(t)
        x = np.r_[p, v] + rng.multivariate_normal(np.zeros(6), P_TRACK)
        coasted = j >= 20
        if coasted:
            side = np.cross(v, p)
            side /= np.linalg.norm(side)
            tau = j - 19.0
            x[:3] += 0.5 * 3.0 * tau**2 * side
            x[3:] += 3.0 * tau * side
        fresh_ns = round((t_start + 19) * NS) if coasted else round(t * NS)
        out.append((round(t * NS), x, fresh_ns))
    return out


def _assess(states, known: bool, **kw):
    a = Assessor(**kw)
    out = [
        a.assess([SystemTrack(1, t, x, P_TRACK, ("us",), (), fresh_ns=fr if known else 0)], t)[1] for t, x, fr in states
    ]
    return out


def test_coasted_predictions_of_a_glider_are_left_out_of_the_impact_area() -> None:
    """The KN-23 seen gliding from 110 s to go, then coasted: the area stays that of the updated states
    (fresh_ns known), where without fresh_ns the drifted predictions move it."""
    sample, _, _, t_imp = _kn23()
    for seed in (1, 2, 3):
        states = _states(sample, t_imp - 110.0, seed)
        runs = {known: _assess(states, known, coast_tolerance_s=0.5) for known in (True, False)}
        assert any(r.startswith("gliding (lift seen") for r in runs[True][19].reasons), runs[True][19].reasons
        last_fresh = runs[True][19]
        for r in runs[True][20:]:
            # the same predictions make the area: that of the last updated state, whatever the coasted drift
            assert r.impact.valid
            assert math.isclose(r.impact.lat_deg, last_fresh.impact.lat_deg, rel_tol=0.0, abs_tol=1e-9)
            assert math.isclose(r.impact.lon_deg, last_fresh.impact.lon_deg, rel_tol=0.0, abs_tol=1e-9)
            assert math.isclose(r.impact.ellipse.semi_major_m, last_fresh.impact.ellipse.semi_major_m, rel_tol=1e-9)
            assert abs(r.impact.time_ns - last_fresh.impact.time_ns) <= 1000
        # without fresh_ns the drifted predictions move the area
        moved_km = float(
            vdist(runs[True][-1].impact.lat_deg, runs[True][-1].impact.lon_deg, *_latlon(runs[False][-1]))[0] / KM
        )
        assert moved_km > 0.2, moved_km


def test_coasted_predictions_of_a_track_not_seen_gliding_are_kept() -> None:
    """A ballistic IRBM's coasted states follow the trackers' ballistic model: their predictions stay in."""
    sample, _, _, t_imp = _irbm()
    states = _states(sample, t_imp - 400.0, 1)
    known, unknown = _assess(states, True, coast_tolerance_s=0.5), _assess(states, False, coast_tolerance_s=0.5)
    assert not any(r.startswith("gliding") for r in known[-1].reasons)
    assert [(r.impact.lat_deg, r.impact.lon_deg) for r in known] == [
        (r.impact.lat_deg, r.impact.lon_deg) for r in unknown
    ]


def test_a_glider_that_only_coasts_keeps_an_impact_area() -> None:
    """Nothing updated in the window (the newest sensor update 100 s before): every prediction is used."""
    sample, _, _, t_imp = _kn23()
    states = _states(sample, t_imp - 110.0, 4)
    t_old = states[0][0] - 100 * NS
    a, b = Assessor(), Assessor()
    for t, x, _ in states:
        ra = a.assess([SystemTrack(1, t, x, P_TRACK, ("us",), (), fresh_ns=t_old)], t)[1]
        rb = b.assess([SystemTrack(1, t, x, P_TRACK, ("us",), ())], t)[1]
        assert ra.impact.valid
        assert (ra.impact.lat_deg, ra.impact.lon_deg) == (rb.impact.lat_deg, rb.impact.lon_deg)
