"""The Japan MOD's public statements for the scenario catalog's events (events.md), reproduced by the assessor
on the catalog's truth flights: inside or outside Japan's EEZ, overflight of Japan or not."""

from __future__ import annotations

import numpy as np
import pytest

from triwarn.core.trajectory.assess import AreaKind, Assessor, WarningLevel
from triwarn.core.trajectory.scenario import load_scenario
from triwarn.core.trajectory.tracks import SystemTrack

NS = 1_000_000_000
P_TRACK = np.diag([200.0**2] * 3 + [4.0**2] * 3)  # a fused track's accuracy (assumption for the test)

# (catalog name, impact inside Japan's EEZ, overflew Japan) as stated by Japan's MOD (events.md)
STATEMENTS = [
    ("2017-07-04-hwasong14", True, False),
    ("2017-11-29-hwasong15", True, False),
    ("2022-11-18-hwasong17-lofted", True, False),
    ("2023-07-12-hwasong18", False, False),
    ("2017-08-29-hwasong12-overflight", False, True),
    ("2022-10-04-irbm-japan-overflight", False, True),
]


def assess_at(truth, k: int, times: list[float], seed: int) -> list:
    rng = np.random.default_rng(seed)
    a = Assessor()
    out = []
    for t in times:
        s = truth.sample(t)
        x = np.r_[s.pos_ecef_m[k], s.vel_ecef_m_s[k]] + rng.multivariate_normal(np.zeros(6), P_TRACK)
        out.append(a.assess([SystemTrack(1, round(t * NS), x, P_TRACK, ("jp", "kr", "us"), ())], round(t * NS))[1])
    return out


@pytest.mark.parametrize(("name", "in_eez", "overflight"), STATEMENTS)
def test_mod_statement(name: str, in_eez: bool, overflight: bool) -> None:
    truth = load_scenario(name).truth()
    k = 0
    t_launch, t_bo, t_imp = truth.launch_time_s[k], truth.burnout_time_s[k], truth.impact_time_s[k]
    early, late = assess_at(truth, k, [t_bo + 30.0, t_bo + 35.0, t_imp - 300.0], seed=len(name))[1:]
    # overflight: judged on the path predicted shortly after burnout, before the missile reaches Japan
    assert (AreaKind.JP_OVERFLIGHT in early.overflight) == overflight, name
    assert AreaKind.KR_OVERFLIGHT not in early.overflight
    # impact area: judged 300 s before impact
    p = {x.kind: x.probability for x in late.areas}
    assert late.impact.valid
    assert (p.get(AreaKind.JP_EEZ, 0.0) > 0.5) == in_eez, (name, p)
    assert p.get(AreaKind.JP_LAND, 0.0) < 0.05 and p.get(AreaKind.KR_LAND, 0.0) < 0.05
    assert late.level == (WarningLevel.WATCH if in_eez else WarningLevel.NONE), name
    assert early.level >= (WarningLevel.WATCH if (in_eez or overflight) else WarningLevel.NONE), name
    assert t_launch <= t_bo < t_imp
