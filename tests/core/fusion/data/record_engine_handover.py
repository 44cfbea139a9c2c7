"""Record the nations' local track batches of the catalog segment where the KN-23's system track number changed
(for tests/core/fusion/test_engine_handover.py): 2019-07-25-kn23-depressed, seed 3, T+25..75 s. The US infrared-only
boost track is deleted at T+38 s, and the KR radar track that starts in the same cycle did not gate against
the dormant system track's prediction (3-5 km and 0.4-0.8 km/s off), so it became a second number until the
JP track reacquired the first at T+68 s.

Run: ``python tests/core/fusion/data/record_engine_handover.py`` (writes ``engine_handover_kn23.npz`` beside it, in
the layout of ``duplicate_segments.npz``). The batches come from the national nodes' simulators and trackers at
the time of recording; the test replays the recorded file, so later tracker changes do not change what it
checks.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording import record_segment

SCENARIO, SEED, T_A, T_B = "2019-07-25-kn23-depressed", 3, 25.0, 75.0

# the first missile (the second flies 23 min later)
out = record_segment(SCENARIO, SEED, T_A, T_B, lambda truth, t: truth.sample(t).pos_ecef_m[0])
out["s0_name"] = np.asarray(f"{SCENARIO} seed {SEED} T+{T_A:.0f}..{T_B:.0f} s")
np.savez_compressed(Path(__file__).resolve().parent / "engine_handover_kn23.npz", **out)
print(SCENARIO, SEED, int(out["s0_batch"].max()) + 1, out["s0_num"].size)
