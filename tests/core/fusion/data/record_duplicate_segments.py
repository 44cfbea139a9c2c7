"""Record the nations' local track batches of catalog-scenario segments where duplicate system tracks
appeared before the fusion engine held tentative tracks (for tests/core/fusion/test_engine.py).

Run: ``python tests/core/data/record_duplicate_segments.py`` (writes ``duplicate_segments.npz`` beside it).
The batches come from the national nodes' simulators and trackers at the time of recording; the test replays
the recorded file, so later tracker changes do not change what it checks.
"""

from pathlib import Path

import numpy as np

from triwarn.core.tracks import NATIONS
from triwarn.scenarios.scenario_file import load_scenario
from triwarn.services.node import Node
from triwarn.services.runtime.clock import ManualClock
from triwarn.services.runtime.settings import Settings

SEGMENTS = [
    ("2023-07-12-hwasong18", 2, 120.0, 170.0),
    ("2023-07-12-hwasong18", 3, 120.0, 170.0),
    ("2022-11-18-hwasong17-lofted", 1, 255.0, 295.0),
    ("2017-05-14-hwasong12-lofted", 1, 1540.0, 1700.0),
]
out = {}
for k, (scen, seed, t_a, t_b) in enumerate(SEGMENTS):
    scenario = load_scenario(scen)
    truth = scenario.truth()
    t0 = scenario.epoch_ns
    clock = ManualClock(t0)
    base = Settings().replace(scenario=scen, seed=seed, scenario_t0_ns=t0, scenario_loop=False, clock_speed=1.0)
    nodes = {n: Node(base.replace(nation=n, node_id=""), clock) for n in NATIONS}
    rows = {f: [] for f in ("batch", "nation", "sent", "num", "t", "x", "P", "phase", "status", "beta")}
    nb = 0
    truth_t, truth_x = [], []
    for i, t in enumerate(np.arange(0.0, t_b, base.update_period_s)):
        clock.set(t0 + round(t * 1e9))
        for j, node in enumerate(nodes.values()):
            b = node.step(float(t), batch_seq=i, bd_seq=1)
            if t < t_a:
                continue
            n = len(b)
            rows["batch"] += [nb] * n
            rows["nation"] += [j] * n
            rows["sent"] += [b.sent_time_ns] * n
            rows["num"] += list(b.track_numbers)
            rows["t"] += list(b.time_ns)
            rows["x"] += list(b.x)
            rows["P"] += list(b.P)
            rows["phase"] += list(b.phase)
            rows["status"] += list(b.status)
            rows["beta"] += list(b.beta_kg_m2)
            if n == 0:  # an empty batch still counts (it ends the node's other tracks)
                rows["batch"].append(nb)
                rows["nation"].append(j)
                rows["sent"].append(b.sent_time_ns)
                rows["num"].append(-1)
                rows["t"].append(0)
                rows["x"].append(np.zeros(6))
                rows["P"].append(np.zeros((6, 6)))
                rows["phase"].append(0)
                rows["status"].append(0)
                rows["beta"].append(0.0)
            nb += 1
        if t >= t_a:
            s = truth.sample(float(t))
            truth_t.append(t0 + round(t * 1e9))
            truth_x.append(s.pos_ecef_m[0])
    for f, v in rows.items():
        out[f"s{k}_{f}"] = np.asarray(v)
    out[f"s{k}_truth_t"] = np.asarray(truth_t, dtype=np.int64)
    out[f"s{k}_truth_r"] = np.asarray(truth_x)
    out[f"s{k}_name"] = np.asarray(f"{scen} seed {seed} T+{t_a:.0f}..{t_b:.0f} s")
    print(scen, seed, nb, len(rows["num"]))
np.savez_compressed(Path(__file__).resolve().parent / "duplicate_segments.npz", **out)
