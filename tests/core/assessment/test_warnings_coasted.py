"""A track without a sensor update never escalates its warning: the assessments of its coasted states (the last
measured motion extrapolated, e.g. a boost that has since ended) may narrow the warning, and raise it back, but
never past its last sensor-backed warning (no other area, no higher level); a sensor update lets it escalate."""

from __future__ import annotations

from dataclasses import replace

import pytest
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
    # it stands on its last sensor-backed areas: Japan land not added, the EEZ (which land at WATCH would name)
    # not dropped
    assert _kinds(w) == {AreaKind.JP_EEZ, AreaKind.JP_OVERFLIGHT}
    assert any("stands at WATCH" in r for r in w.reasons) and not any("WARNING" in r for r in w.reasons[:1])
    # still coasting, still predicting land: nothing new to say, and land never appears
    later = book.update({1: replace(coasted, time_ns=125 * NS)}, [], 125 * NS)
    assert all(AreaKind.JP_LAND not in _kinds(x) and x.level <= WarningLevel.WATCH for x in later)


def test_a_coasted_state_may_lower_the_warning_and_raise_it_back_to_what_a_sensor_backed() -> None:
    book = WarningBook()
    fresh = assessment(1, level=WarningLevel.WARNING, impact=(36.0, 138.0), t_s=100.0, areas=(JP_LAND,))
    book.update({1: fresh}, [], 100 * NS)
    lower = assessment(1, level=WarningLevel.ADVISORY, impact=(38.0, 134.0), t_s=120.0, fresh_s=100.0)
    (w,) = book.update({1: lower}, [], 120 * NS)
    assert w.state == WarningState.COASTING and w.level == WarningLevel.ADVISORY and not w.areas
    back = replace(fresh, time_ns=130 * NS, fresh_ns=100 * NS)
    (w,) = book.update({1: back}, [], 130 * NS)
    assert w.level == WarningLevel.WARNING and _kinds(w) == {AreaKind.JP_LAND}


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


def test_a_state_predicted_past_escalate_stale_s_does_not_escalate_before_the_track_coasts() -> None:
    """A node's track that lost a missile in boost is reported CONFIRMED for 5 s and coasts only after 10 s: its
    predicted states (here 7.5 s after its last measurement, which came after the warning) may not raise a land
    WARNING in between."""
    book = WarningBook()
    book.update({1: _watch(100.0, areas=(JP_EEZ, JP_OVER))}, [], 100 * NS)
    stale = assessment(
        1, level=WarningLevel.WARNING, impact=(36.0, 138.0), t_s=108.0, fresh_s=100.5, areas=(JP_LAND, JP_OVER)
    )
    out = book.update({1: stale}, [], 108 * NS)
    assert all(w.state != WarningState.COASTING for w in out)  # not coasting yet (10 s)
    assert all(w.level == WarningLevel.WATCH and AreaKind.JP_LAND not in _kinds(w) for w in out)
    # the same prediction 3 s after a measurement escalates
    (w,) = book.update({1: replace(stale, time_ns=110 * NS, fresh_ns=107 * NS)}, [], 110 * NS)
    assert w.level == WarningLevel.WARNING and AreaKind.JP_LAND in _kinds(w)


def test_without_a_measurement_since_the_warning_stood_it_does_not_escalate() -> None:
    """No sensor update since the last sensor-backed warning (1 s later, same sensor time): a prediction, not
    acted on; the next measurement lets it escalate."""
    book = WarningBook()
    book.update({1: _watch(100.0, fresh_s=99.5, areas=(JP_EEZ, JP_OVER))}, [], 100 * NS)
    same = assessment(
        1, level=WarningLevel.WARNING, impact=(36.0, 138.0), t_s=101.0, fresh_s=99.5, areas=(JP_LAND, JP_OVER)
    )
    (w,) = book.update({1: same}, [], 101 * NS)  # the impact point moved: news, but at WATCH, without land
    assert w.level == WarningLevel.WATCH and AreaKind.JP_LAND not in _kinds(w)
    (w,) = book.update({1: replace(same, time_ns=102 * NS, fresh_ns=101_500_000_000)}, [], 102 * NS)
    assert w.level == WarningLevel.WARNING and AreaKind.JP_LAND in _kinds(w)
    assert w.sensor_time_ns == 101_500_000_000


def test_a_sensor_time_that_goes_back_blocks_one_assessment_only() -> None:
    """The freshest member leaves the track: its sensor time goes back (99 s after 100 s). That assessment is no
    news; the next measurement (99.8 s, still before the warning's) lets the warning escalate."""
    book = WarningBook()
    book.update({1: _watch(100.0, areas=(JP_EEZ, JP_OVER))}, [], 100 * NS)
    land = assessment(
        1, level=WarningLevel.WARNING, impact=(36.0, 138.0), t_s=101.0, fresh_s=99.0, areas=(JP_LAND, JP_OVER)
    )
    (w,) = book.update({1: land}, [], 101 * NS)
    assert w.level == WarningLevel.WATCH and AreaKind.JP_LAND not in _kinds(w)
    (w,) = book.update({1: replace(land, time_ns=102 * NS, fresh_ns=99_800_000_000)}, [], 102 * NS)
    assert w.level == WarningLevel.WARNING and AreaKind.JP_LAND in _kinds(w)


def test_escalate_stale_s_must_not_exceed_coast_after_s() -> None:
    with pytest.raises(ValueError, match="escalate_stale_s"):
        WarningBook(escalate_stale_s=12.0)
