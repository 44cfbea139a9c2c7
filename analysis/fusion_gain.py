"""Does fusion beat the best single nation? Position errors of a fused picture against each nation's own
picture, at the (object, time) pairs both hold a track within the association threshold (ECEF, metres)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from triwarn.analysis.recording import Series


def position_errors(truth: Series, tracks: Series, association_m: float = 10_000.0) -> dict[tuple[Any, int], float]:
    """Position error (m) of the nearest track to each true object at each time, where one is within
    ``association_m``: ``{(object_id, t_us): error_m}``."""
    at: dict[int, list[np.ndarray]] = defaultdict(list)
    for t, x in tracks.rows.values():
        for k in range(t.size):
            at[int(t[k])].append(x[k, :3])
    stacked = {t: np.array(v) for t, v in at.items()}
    out: dict[tuple[Any, int], float] = {}
    for obj, (t, x) in truth.rows.items():
        for k in range(t.size):
            p = stacked.get(int(t[k]))
            if p is None:
                continue
            d = float(np.min(np.linalg.norm(p - x[k, :3], axis=1)))
            if d <= association_m:
                out[(obj, int(t[k]))] = d
    return out


def fused_versus_single(
    truth: Series, fused: Series, singles: dict[str, Series], association_m: float = 10_000.0
) -> dict[str, Any]:
    """The fused picture's position error against each single nation's, at the (object, time) both hold.

    ``singles``: one series per nation holding only that nation's own fused tracks (the views of a replay whose
    policy releases nothing). The best single nation is the one with the smallest mean error over the times
    it and the fused picture both hold an object; ``ratio`` = fused mean / best nation's mean (< 1: fusion helps).
    ``oracle`` is stricter: at each (object, time) the smallest error of any nation then.
    """
    f = position_errors(truth, fused, association_m)
    per: dict[str, dict[str, float]] = {}
    best_at: dict[tuple[Any, int], float] = {}
    for nation, series in singles.items():
        s = position_errors(truth, series, association_m)
        for k, v in s.items():
            best_at[k] = min(best_at.get(k, math.inf), v)
        common = sorted(set(f) & set(s), key=lambda k: (str(k[0]), k[1]))
        if not common:
            continue
        per[nation] = {
            "n": len(common),
            "fused_mean_m": float(np.mean([f[k] for k in common])),
            "nation_mean_m": float(np.mean([s[k] for k in common])),
        }
    if not per:
        return {"per_nation": per, "best_nation": None, "fused_mean_m": math.nan, "best_mean_m": math.nan}
    best = min(per, key=lambda n: per[n]["nation_mean_m"])
    b = per[best]
    both = [k for k in f if k in best_at]
    return {
        "per_nation": per,
        "oracle": {  # at each (object, time), the nation with the smallest error then
            "n": len(both),
            "fused_mean_m": float(np.mean([f[k] for k in both])),
            "best_mean_m": float(np.mean([best_at[k] for k in both])),
        },
        "best_nation": best,
        "fused_mean_m": b["fused_mean_m"],
        "best_mean_m": b["nation_mean_m"],
        "ratio": b["fused_mean_m"] / b["nation_mean_m"] if b["nation_mean_m"] > 0 else math.nan,
        "n": b["n"],
    }
