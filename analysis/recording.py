"""Recording and evaluation helpers of the assessment: the picture.csv cells of a track's impact and launch
point (for ``triwarn replay --record``) and the impact scoring of ``triwarn evaluate``.

(The fusion service itself merges assessments into its picture updates: ``FusionService.assessment_updates``
in services/fusion.py, with :func:`triwarn.services.wire.picture.fill_track_assessment` and the view's
:class:`triwarn.core.assessment.warnings.WarningBook`.)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from triwarn.core.assessment.assess import Assessment

# ----------------------------------------------------------------------------------------------------------
# recording and evaluation helpers (for `triwarn replay --record` and `triwarn evaluate`)
# ----------------------------------------------------------------------------------------------------------

#: picture.csv columns of a track's impact prediction (empty cells while there is none)
IPP_COLUMNS: tuple[str, ...] = (
    "ipp_lat_deg",
    "ipp_lon_deg",
    "ipp_time_s",
    "ipp_semi_major_m",
    "ipp_semi_minor_m",
    "ipp_orientation_deg",
)
#: picture.csv columns of a track's launch point estimate
LAUNCH_COLUMNS: tuple[str, ...] = ("lp_lat_deg", "lp_lon_deg", "lp_time_s")


def ipp_cells(a: Assessment | None, epoch_ns: int) -> list[str]:
    """The :data:`IPP_COLUMNS` cells of one track (times in seconds since ``epoch_ns``)."""
    if a is None or not a.impact.valid:
        return [""] * len(IPP_COLUMNS)
    i, e = a.impact, a.impact.ellipse
    return [
        f"{i.lat_deg:.6f}",
        f"{i.lon_deg:.6f}",
        f"{(i.time_ns - epoch_ns) / 1e9:.3f}",
        f"{e.semi_major_m:.1f}",
        f"{e.semi_minor_m:.1f}",
        f"{e.orientation_deg:.2f}",
    ]


def launch_cells(a: Assessment | None, epoch_ns: int) -> list[str]:
    """The :data:`LAUNCH_COLUMNS` cells of one track."""
    if a is None or not a.launch.valid:
        return [""] * len(LAUNCH_COLUMNS)
    lp = a.launch
    return [f"{lp.lat_deg:.6f}", f"{lp.lon_deg:.6f}", f"{(lp.time_ns - epoch_ns) / 1e9:.3f}"]


def ground_offset_en_m(lat0_deg: float, lon0_deg: float, lat_deg: float, lon_deg: float) -> tuple[float, float]:
    """East and north offsets (m) of a ground point in the tangent plane at (lat0, lon0) (WGS-84)."""
    from triwarn.core.trajectory.frames import ecef_to_enu, geodetic_to_ecef

    x, y, z = geodetic_to_ecef(math.radians(lat_deg), math.radians(lon_deg), 0.0)
    e, n, _ = ecef_to_enu(x, y, z, math.radians(lat0_deg), math.radians(lon0_deg), 0.0)
    return float(e), float(n)


def inside_ellipse(e_m: float, n_m: float, semi_major_m: float, semi_minor_m: float, orientation_deg: float) -> bool:
    """Whether an east-north offset lies inside the ellipse (major axis at azimuth ``orientation_deg``)."""

    az = math.radians(orientation_deg)
    along = e_m * math.sin(az) + n_m * math.cos(az)  # along the major axis
    across = e_m * math.cos(az) - n_m * math.sin(az)
    if not (semi_major_m > 0.0 and semi_minor_m > 0.0):
        return False
    return (along / semi_major_m) ** 2 + (across / semi_minor_m) ** 2 <= 1.0


def score_impacts(
    rows: Sequence[tuple[float, float, float, float, float, float, float, float, float]],
    tgo_edges_s: Sequence[float] = (0.0, 30.0, 60.0, 120.0, 300.0, 600.0, float("inf")),
) -> dict[str, Any]:
    """Impact-point error against time to go and the ellipse's coverage, from matched rows
    ``(t_s, ipp_lat, ipp_lon, semi_major_m, semi_minor_m, orientation_deg, true_lat, true_lon, true_impact_t_s)``
    (one per track-truth pair and evaluation time; pool the rows of several Monte Carlo runs for coverage).
    Returns ``{"bins": [{"tgo_s": [lo, hi], "n", "mean_err_km", "max_err_km", "coverage"}], "coverage", "n"}``."""

    errs: list[tuple[float, float, bool]] = []
    for t, la, lo, a, b, o, tla, tlo, tt in rows:
        if not all(math.isfinite(v) for v in (la, lo, tla, tlo, tt)):
            continue
        e, n = ground_offset_en_m(la, lo, tla, tlo)
        errs.append((tt - t, math.hypot(e, n), inside_ellipse(e, n, a, b, o)))
    bins = []
    for lo_s, hi_s in itertools.pairwise(tgo_edges_s):
        sel = [(d, ok) for tgo, d, ok in errs if lo_s <= tgo < hi_s]
        bins.append(
            {
                "tgo_s": [lo_s, hi_s],
                "n": len(sel),
                "mean_err_km": (sum(d for d, _ in sel) / len(sel) / 1e3) if sel else math.nan,
                "max_err_km": (max(d for d, _ in sel) / 1e3) if sel else math.nan,
                "coverage": (sum(ok for _, ok in sel) / len(sel)) if sel else math.nan,
            }
        )
    n_all = len(errs)
    return {"bins": bins, "n": n_all, "coverage": (sum(ok for *_, ok in errs) / n_all) if n_all else math.nan}
