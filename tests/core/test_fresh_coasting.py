"""Coasted states: the fusion engine reports when each system track was last updated by a sensor
(``SystemTrack.fresh_ns``), and the assessor leaves the impact predictions of coasted states out of the
impact area while predictions from updated states are in its window."""

from __future__ import annotations

import math

import numpy as np
from pymap3d.vincenty import vdist

from triwarn.core.trajectory.assess import Assessor
from triwarn.core.trajectory.engine import FusionEngine
from triwarn.core.trajectory.missiles import get_missile
from triwarn.core.trajectory.planning import plan_trajectory
from triwarn.core.trajectory.tracks import LocalTrackBatch, Phase, Status, SystemTrack

NS = 1_000_000_000
KM = 1000.0
P_TRACK = np.diag([200.0**2] * 3 + [4.0**2] * 3)  # a fused track's accuracy (assumption for the test)


def _batch(k: int, t_ns: int, x: np.ndarray, status: Status) -> LocalTrackBatch:
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


def _flight():
    # an IRBM from Mupyong-ri to east of Kamaishi (the 2022-10-04 overflight), as in test_assess.py
    mc = get_missile("hwasong-12")
    plan = plan_trajectory(mc.vehicle, 40.6, 126.4, aim_lat_deg=33.70, aim_lon_deg=177.25, shape="minimum_energy")
    return plan.flight


def _miss_km(a, f) -> float:
    d = vdist(a.impact.lat_deg, a.impact.lon_deg, math.degrees(f.impact_lat_rad), math.degrees(f.impact_lon_rad))[0]
    return float(d) / KM


def _states(f, seed: int):
    """20 updated states at 1 Hz on the descent, then 15 coasted ones of a missile that left the coasting model
    (the coasted states follow it here, as a stand-in for their drift): (time_ns, x, fresh_ns of the track)."""
    rng = np.random.default_rng(seed)
    t_start = f.flight_time_s - 400.0
    out = []
    for j in range(35):
        t = t_start + j
        p, v = f.sample(np.array([t]))
        x = np.r_[p[0], v[0]] + rng.multivariate_normal(np.zeros(6), P_TRACK)
        coasted = j >= 20
        if coasted:  # the missile turns away at 3 m/s² across its path (cross-range, horizontal)
            side = np.cross(v[0], p[0])
            side /= np.linalg.norm(side)
            tau = j - 19.0
            x[:3] += 0.5 * 3.0 * tau**2 * side
            x[3:] += 3.0 * tau * side
        fresh_ns = round((t_start + 19) * NS) if coasted else round(t * NS)
        out.append((round(t * NS), x, fresh_ns))
    return out


def test_coasted_predictions_are_left_out_of_the_impact_area() -> None:
    f = _flight()
    for seed in (1, 2, 3):
        states = _states(f, seed)
        runs = {}
        for known in (True, False):  # fresh_ns given, or 0 (unknown: every prediction is used, as before)
            a = Assessor(coast_tolerance_s=0.5)  # states 1 s past the newest update count as coasted
            runs[known] = [
                a.assess([SystemTrack(1, t, x, P_TRACK, ("us",), (), fresh_ns=fr if known else 0)], t)[1]
                for t, x, fr in states
            ]
        last_fresh = runs[True][19]
        for r in runs[True][20:]:
            # the same predictions make the area: that of the last updated state, whatever the coasted drift
            assert r.impact.valid
            assert math.isclose(r.impact.lat_deg, last_fresh.impact.lat_deg, rel_tol=0.0, abs_tol=1e-9)
            assert math.isclose(r.impact.lon_deg, last_fresh.impact.lon_deg, rel_tol=0.0, abs_tol=1e-9)
            assert math.isclose(r.impact.ellipse.semi_major_m, last_fresh.impact.ellipse.semi_major_m, rel_tol=1e-9)
            assert abs(r.impact.time_ns - last_fresh.impact.time_ns) <= 1000
        # without fresh_ns the drifted predictions pull the area off the truth
        assert _miss_km(runs[True][-1], f) < _miss_km(runs[False][-1], f) - 1.0, (
            _miss_km(runs[True][-1], f),
            _miss_km(runs[False][-1], f),
        )


def test_a_track_that_only_coasts_keeps_an_impact_area() -> None:
    """Nothing updated in the window (the newest sensor update 100 s before): every prediction is used."""
    f = _flight()
    states = _states(f, 4)
    a, b = Assessor(), Assessor()
    t_old = states[0][0] - 100 * NS
    for t, x, _ in states:
        ra = a.assess([SystemTrack(1, t, x, P_TRACK, ("us",), (), fresh_ns=t_old)], t)[1]
        rb = b.assess([SystemTrack(1, t, x, P_TRACK, ("us",), ())], t)[1]
        assert ra.impact.valid
        assert (ra.impact.lat_deg, ra.impact.lon_deg) == (rb.impact.lat_deg, rb.impact.lon_deg)
