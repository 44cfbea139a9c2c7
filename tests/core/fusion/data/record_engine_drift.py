"""Record the nations' local track batches of the close-pair segment where a missile's system track number moved
to a new number (for tests/core/fusion/test_engine_handover.py): close-pair family seed 7 (two hwasong-14 from
Wonsan 44.4 s apart), T+0..200 s. At T+171-175 s the US node's track of the second missile drifts off it while
still updated; released from the system track each cycle, it rejoined it in the same cycle, until the JP and KR
tracks were released one by one and the number stayed on the US track alone: the missile got number 4.

Run: ``python tests/core/fusion/data/record_engine_drift.py`` (writes ``engine_drift_close_pair_7.npz`` beside
it). As for the hand-over recording, the test replays the file, so later tracker changes do not change what it
checks.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recording import record_segment

from triwarn.scenarios.families import generate

FAMILY, SEED, T_A, T_B = "close-pair", 7, 0.0, 200.0

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / f"{FAMILY}-{SEED}.toml"
    path.write_text(generate(FAMILY, SEED).toml(), encoding="utf-8")
    out = record_segment(path, SEED, T_A, T_B, lambda truth, t: truth.sample(t).pos_ecef_m[:2])  # both missiles
out["s0_name"] = np.asarray(f"{FAMILY} seed {SEED} T+{T_A:.0f}..{T_B:.0f} s")
np.savez_compressed(Path(__file__).resolve().parent / "engine_drift_close_pair_7.npz", **out)
print(FAMILY, SEED, int(out["s0_batch"].max()) + 1, out["s0_num"].size)
