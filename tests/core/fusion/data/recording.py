"""Shared by the recorders beside it: every nation's local track batches of one scenario segment, as the nodes'
simulators and trackers give them, in the layout of ``duplicate_segments.npz`` (run ``s0``)."""

from collections.abc import Callable
from pathlib import Path

import numpy as np

from triwarn.core.tracks import NATIONS
from triwarn.scenarios.scenario_file import load_scenario
from triwarn.services.node import Node
from triwarn.services.runtime.clock import ManualClock
from triwarn.services.runtime.settings import Settings

FIELDS = ("batch", "nation", "sent", "num", "t", "x", "P", "phase", "status", "beta")


def record_segment(
    scenario_name: str | Path, seed: int, t_a: float, t_b: float, truth_of: Callable[[object, float], np.ndarray]
) -> dict[str, np.ndarray]:
    """The batches of every nation's node from scenario time ``t_a`` to ``t_b`` (the nodes run from 0), and the
    truth ``truth_of(truth, t_s)`` at each cycle from ``t_a``."""
    scenario = load_scenario(scenario_name)
    truth = scenario.truth()
    t0 = scenario.epoch_ns
    clock = ManualClock(t0)
    base = Settings().replace(
        scenario=str(scenario_name), seed=seed, scenario_t0_ns=t0, scenario_loop=False, clock_speed=1.0
    )
    nodes = {n: Node(base.replace(nation=n, node_id=""), clock) for n in NATIONS}
    rows: dict[str, list] = {f: [] for f in FIELDS}
    nb = 0
    truth_t, truth_r = [], []
    for i, t in enumerate(np.arange(0.0, t_b, base.update_period_s)):
        clock.set(t0 + round(t * 1e9))
        for j, node in enumerate(nodes.values()):
            b = node.step(float(t), batch_seq=i, bd_seq=1)
            if t < t_a:
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
        if t >= t_a:
            truth_t.append(t0 + round(t * 1e9))
            truth_r.append(truth_of(truth, float(t)))
    out = {f"s0_{f}": np.asarray(v) for f, v in rows.items()}
    out["s0_truth_t"] = np.asarray(truth_t, dtype=np.int64)
    out["s0_truth_r"] = np.asarray(truth_r)
    return out
