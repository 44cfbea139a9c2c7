"""NationSim on the catalog scenarios: every nation's confirmed tracks follow true objects (false alarms never
become confirmed tracks), every object seen long enough is tracked, and a sensor file error is precise."""

from __future__ import annotations

import numpy as np
import pytest

from triwarn.core.tracks import NATIONS, Status
from triwarn.scenarios.scenario_file import catalog_names, load_scenario
from triwarn.sensors.sim.catalog import SensorCatalogError
from triwarn.sensors.sim.nation import NationSim


@pytest.mark.parametrize("name", catalog_names())
@pytest.mark.parametrize("nation", NATIONS)
def test_no_false_tracks_and_every_seen_object_tracked(name: str, nation: str) -> None:
    assert name in catalog_names()
    sc = load_scenario(name)
    sim = NationSim(nation, sc, seed=4)
    assert set(sim.sensor_ids) <= set(sc.sensor_ids)
    sim.scan_log = []
    truth = sim.truth
    tracked: set[int] = set()
    for t in np.arange(0.0, sc.duration_s + 30.0, 1.0):
        lt = sim.step(float(t))
        for i in np.flatnonzero(lt.status == Status.CONFIRMED):
            t_i = float(lt.t_s[i])
            s = truth.sample(t_i)
            d = np.linalg.norm(s.pos_ecef_m - lt.x[i, :3], axis=1)
            for k in np.flatnonzero(~s.active):  # an object that impacted moments ago: compare at its impact
                if 0.0 <= t_i - truth.impact_time_s[k] < 10.0:
                    at_impact = truth.sample(float(truth.impact_time_s[k]) - 1e-3).pos_ecef_m[k]
                    d[k] = np.linalg.norm(at_impact - lt.x[i, :3])
                else:
                    d[k] = np.inf
            assert d.min() < 20e3, (nation, float(t), int(lt.track_numbers[i]), float(d.min()))
            tracked.add(int(np.argmin(d)))
    fa = sum(int((s.truth_index < 0).sum()) for s in sim.scan_log or [])
    assert fa > 100  # the sensors did raise false alarms
    # objects detected on at least 10 scans have a confirmed track
    hits = np.zeros(len(truth.object_ids), np.int64)
    for s in sim.scan_log or []:
        np.add.at(hits, s.truth_index[s.truth_index >= 0], 1)
    assert set(np.flatnonzero(hits >= 10).tolist()) <= tracked


def test_a_scenario_naming_an_unknown_sensor_is_a_precise_error() -> None:
    class Sc:
        sensor_ids = ("us-tpy2-shariki", "us-tpy2-nowhere")
        epoch_ns = 0

        def truth(self):  # pragma: no cover - not reached
            raise AssertionError

    with pytest.raises(SensorCatalogError, match=r"'us-tpy2-nowhere'.*not in the catalog"):
        NationSim("us", Sc(), seed=1)
    with pytest.raises(ValueError, match="unknown nation"):
        NationSim("cn", Sc(), seed=1)
