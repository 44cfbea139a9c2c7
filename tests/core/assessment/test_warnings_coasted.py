"""A track without a sensor update never escalates its warning: the assessments of its coasted states (the last
measured motion extrapolated, e.g. a boost that has since ended) may narrow the warning, never add an area or
raise its level; the first sensor update lets it escalate again."""

from __future__ import annotations

from assessments import NS, assessment

from triwarn.core.assessment.assess import AreaKind, ThreatenedArea, WarningLevel
from triwarn.core.assessment.warnings import WarningBook, WarningState

JP_LAND = ThreatenedArea(AreaKind.JP_LAND, "Japan", 0.8)
JP_EEZ = ThreatenedArea(AreaKind.JP_EEZ, "Japan EEZ", 0.6)
JP_OVER = ThreatenedArea(AreaKind.JP_OVERFLIGHT, "Japan", 1.0)


def _watch(t_s: float, fresh_s: float | None = None, **kw) -> object:
    return assessment(1, level=WarningLevel.WATCH, impact=(38.0, 140.0), t_s=t_s, fresh_s=fresh_s, **kw)


def _kinds(w) -> set[AreaKind]:
    return {x.kind for x in w.areas}


def test_a_coasted_state_neither_adds_areas_nor_raises_the_level() -> None:
    book = WarningBook()
    (w,) = book.update({1: _watch(100.0, areas=(JP_EEZ, JP_OVER))}, [], 100 * NS)
    assert w.state == WarningState.IMPACT_EXPECTED and _kinds(w) == {AreaKind.JP_EEZ, AreaKind.JP_OVERFLIGHT}
    # 20 s without a sensor update; the coasted state now predicts Japan land at WARNING
    coasted = assessment(
        1, level=WarningLevel.WARNING, impact=(36.0, 138.0), t_s=120.0, fresh_s=100.0, areas=(JP_LAND, JP_OVER)
    )
    (w,) = book.update({1: coasted}, [], 120 * NS)
    assert w.state == WarningState.COASTING
    assert w.level == WarningLevel.WATCH
    assert _kinds(w) == {AreaKind.JP_OVERFLIGHT}  # Japan land not added; the EEZ it no longer predicts dropped
    assert any("level held at WATCH" in r for r in w.reasons)
    # still coasting, still predicting land: nothing new to say, and land never appears
    later = book.update({1: coasted.__class__(**{**coasted.__dict__, "time_ns": 125 * NS})}, [], 125 * NS)
    assert all(AreaKind.JP_LAND not in _kinds(x) and x.level <= WarningLevel.WATCH for x in later)


def test_a_sensor_update_lets_the_warning_escalate_again() -> None:
    book = WarningBook()
    book.update({1: _watch(100.0, areas=(JP_OVER,))}, [], 100 * NS)
    coasted = assessment(
        1, level=WarningLevel.WARNING, impact=(36.0, 138.0), t_s=120.0, fresh_s=100.0, areas=(JP_LAND,)
    )
    (w,) = book.update({1: coasted}, [], 120 * NS)
    assert w.level == WarningLevel.WATCH and AreaKind.JP_LAND not in _kinds(w)
    fresh = assessment(1, level=WarningLevel.WARNING, impact=(36.0, 138.0), t_s=121.0, areas=(JP_LAND,))
    (w,) = book.update({1: fresh}, [], 121 * NS)
    assert w.state == WarningState.IMPACT_EXPECTED
    assert w.level == WarningLevel.WARNING and _kinds(w) == {AreaKind.JP_LAND}


def test_a_coasted_state_may_lower_the_level() -> None:
    book = WarningBook()
    book.update(
        {1: assessment(1, level=WarningLevel.WARNING, impact=(36.0, 138.0), t_s=100.0, areas=(JP_LAND,))}, [], 100 * NS
    )
    lower = assessment(1, level=WarningLevel.ADVISORY, impact=(38.0, 134.0), t_s=120.0, fresh_s=100.0)
    (w,) = book.update({1: lower}, [], 120 * NS)
    assert w.state == WarningState.COASTING and w.level == WarningLevel.ADVISORY and not w.areas
