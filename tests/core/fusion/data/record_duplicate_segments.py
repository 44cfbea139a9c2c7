"""Record the nations' local track batches of catalog-scenario segments where duplicate system tracks
appeared before the fusion engine held tentative tracks (for tests/core/fusion/test_engine.py).

Run: ``python tests/core/fusion/data/record_duplicate_segments.py`` (writes ``duplicate_segments.npz`` beside it).
The batches come from the national nodes' simulators and trackers at the time of recording; the test replays
the recorded file, so later tracker changes do not change what it checks.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording import record_segment

SEGMENTS = [
    ("2023-07-12-hwasong18", 2, 120.0, 170.0),
    ("2023-07-12-hwasong18", 3, 120.0, 170.0),
    ("2022-11-18-hwasong17-lofted", 1, 255.0, 295.0),
    ("2017-05-14-hwasong12-lofted", 1, 1540.0, 1700.0),
]
out = {}
for k, (scen, seed, t_a, t_b) in enumerate(SEGMENTS):
    run = record_segment(scen, seed, t_a, t_b, lambda truth, t: truth.sample(t).pos_ecef_m[0])
    out.update({f"s{k}_{key[3:]}": v for key, v in run.items()})  # "s0_x" -> "s{k}_x"
    out[f"s{k}_name"] = np.asarray(f"{scen} seed {seed} T+{t_a:.0f}..{t_b:.0f} s")
    print(scen, seed, int(run["s0_batch"].max()) + 1, run["s0_num"].size)
np.savez_compressed(Path(__file__).resolve().parent / "duplicate_segments.npz", **out)
