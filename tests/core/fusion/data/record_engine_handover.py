"""Record the nations' local track batches of the catalog segment where the KN-23's system track number changed
(for tests/core/fusion/test_engine_handover.py): 2019-07-25-kn23-depressed, seed 3, T+25..75 s. The US infrared-only
boost track is deleted at T+38 s, and the KR radar track that starts in the same cycle did not gate against
the dormant system track's prediction (3-5 km and 0.4-0.8 km/s off), so it became a second number until the
JP track reacquired the first at T+68 s.

Run: ``python tests/core/data/record_engine_handover.py`` (writes ``engine_handover_kn23.npz`` beside it, in
the layout of ``duplicate_segments.npz``). The batches come from the national nodes' simulators and trackers at
the time of recording; the test replays the recorded file, so later tracker changes do not change what it
checks.
"""

from pathlib import Path

import numpy as np

from triwarn.core.tracks import NATIONS
from triwarn.scenarios.scenario_file import load_scenario
from triwarn.services.node import Node
from triwarn.services.runtime.clock import ManualClock
from triwarn.services.runtime.settings import Settings

SCENARIO, SEED, T_A, T_B = "2019-07-25-kn23-depressed", 3, 25.0, 75.0
FIELDS = ("batch", "nation", "sent", "num", "t", "x", "P", "phase", "status", "beta")

scenario = load_scenario(SCENARIO)
truth = scenario.truth()
t0 = scenario.epoch_ns
clock = ManualClock(t0)
base = Settings().replace(scenario=SCENARIO, seed=SEED, scenario_t0_ns=t0, scenario_loop=False, clock_speed=1.0)
nodes = {n: Node(base.replace(nation=n, node_id=""), clock) for n in NATIONS}
rows: dict[str, list] = {f: [] for f in FIELDS}
nb = 0
truth_t, truth_r = [], []
for i, t in enumerate(np.arange(0.0, T_B, base.update_period_s)):
    clock.set(t0 + round(t * 1e9))
    for j, node in enumerate(nodes.values()):
        b = node.step(float(t), batch_seq=i, bd_seq=1)
        if t < T_A:
            continue
        n = len(b)
        for f, v in zip(FIELDS, ([nb] * n, [j] * n, [b.sent_time_ns] * n, b.track_numbers, b.time_ns, b.x, b.P,
                                 b.phase, b.status, b.beta_kg_m2), strict=True):  # fmt: skip
            rows[f] += list(v)
        if n == 0:  # an empty batch still counts (it ends the node's other tracks)
            empty = (nb, j, b.sent_time_ns, -1, 0, np.zeros(6), np.zeros((6, 6)), 0, 0, 0.0)
            for f, v in zip(FIELDS, empty, strict=True):
                rows[f].append(v)
        nb += 1
    if t >= T_A:
        truth_t.append(t0 + round(t * 1e9))
        truth_r.append(truth.sample(float(t)).pos_ecef_m[0])  # the first missile (the second flies 23 min later)
out = {f"s0_{f}": np.asarray(v) for f, v in rows.items()}
out["s0_truth_t"] = np.asarray(truth_t, dtype=np.int64)
out["s0_truth_r"] = np.asarray(truth_r)
out["s0_name"] = np.asarray(f"{SCENARIO} seed {SEED} T+{T_A:.0f}..{T_B:.0f} s")
np.savez_compressed(Path(__file__).resolve().parent / "engine_handover_kn23.npz", **out)
print(SCENARIO, SEED, nb, len(rows["num"]))
