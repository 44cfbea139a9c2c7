"""Hand-built assessments for the warning tests (tests/core/assessment/test_warning*.py)."""

from __future__ import annotations

from triwarn.core.assessment.assess import Assessment, Ellipse, ImpactPoint, LaunchPoint, ThreatenedArea, WarningLevel
from triwarn.core.assessment.classify import MissileClass
from triwarn.core.tracks import Phase

NS = 1_000_000_000


def assessment(
    tid: int = 1,
    *,
    level: WarningLevel = WarningLevel.ADVISORY,
    impact: tuple[float, float] | None = None,
    impact_t_s: float = 600.0,
    areas: tuple[ThreatenedArea, ...] = (),
    phase: Phase = Phase.MIDCOURSE,
    ellipse_m: float = 10_000.0,
    t_s: float = 0.0,
    fresh_s: float | None = None,
    named: tuple[ThreatenedArea, ...] | None = None,
    reasons: tuple[str, ...] | None = None,
    state: tuple[float, ...] = (),
) -> Assessment:
    """An ICBM track's assessment at ``t_s`` (s), a sensor's last update at ``fresh_s`` (default ``t_s``), its
    impact at ``impact`` (lat, lon degrees; None: no prediction) at ``impact_t_s``; the warning names ``named``
    (None: every area of ``areas``)."""
    ip = (
        ImpactPoint(True, impact[0], impact[1], round(impact_t_s * NS), 2.0, Ellipse(ellipse_m, ellipse_m / 2, 30.0))
        if impact
        else ImpactPoint(False)
    )
    return Assessment(
        track_id=tid,
        time_ns=round(t_s * NS),
        phase=phase,
        phase_reasons=("test",),
        missile_class=MissileClass.ICBM,
        class_provisional=False,
        class_reasons=("test",),
        apogee_m=6.0e6,
        launch=LaunchPoint(False),
        impact=ip,
        areas=areas,
        overflight=(),
        level=level,
        reasons=(f"level {level.name}",) if reasons is None else reasons,
        named_areas=named,
        fresh_ns=round((t_s if fresh_s is None else fresh_s) * NS),
        state_ecef=state,
    )
