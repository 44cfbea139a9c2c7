"""The rules that make a warning something people can act on (issue 14 item 7): a land area is named only past
its probability threshold, a path that can still change raises a WATCH before a WARNING, a missile out of
coverage keeps its warning (COASTING) under the same id, only a false track is CANCELLED, and a phase change
updates the warning's reasons. Hand-built assessments through :class:`WarningBook`, the level rule
(:func:`warning_level`) on hand-picked probabilities, and the real assessor on a flight onto Japan's land."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from assessments import assessment

from triwarn.core.assessment.assess import (
    AREA_NAMES,
    AreaKind,
    Assessment,
    Assessor,
    ThreatenedArea,
    WarningLevel,
    warning_level,
)
from triwarn.core.assessment.warnings import WarningBook, WarningState
from triwarn.core.tracks import Phase, SystemTrack
from triwarn.core.trajectory.missiles import get_missile
from triwarn.core.trajectory.planning import plan_trajectory

NS = 1_000_000_000
JP_LAND = ThreatenedArea(AreaKind.JP_LAND, "Japan land", 0.6)
EEZ = ThreatenedArea(AreaKind.JP_EEZ, "Japan EEZ", 0.9)
OVER = [ThreatenedArea(AreaKind.JP_OVERFLIGHT, AREA_NAMES[AreaKind.JP_OVERFLIGHT], 1.0)]
RULE = dict(p_land=0.3, p_eez=0.2, land_confirm_s=10.0)


def watch(tid: int = 1, **kw: Any) -> Assessment:
    """A WATCH on Japan's EEZ with an impact 600 s from the epoch, unless ``kw`` says otherwise."""
    base: dict[str, Any] = dict(level=WarningLevel.WATCH, impact=(41.5, 137.0), areas=(EEZ,))
    return assessment(tid, **(base | kw))


# --- the level rule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p_jp", "p_kr", "p_sea", "boosting", "held_s", "level", "kinds"),
    [
        # land below p_land is never named, however long: the EEZ watch (land or water of Japan) carries it
        (0.25, 0.0, 0.05, False, 60.0, WarningLevel.WATCH, {AreaKind.JP_EEZ}),
        # land past p_land held long enough: a WARNING naming the land (and not the EEZ)
        (0.6, 0.0, 0.3, False, 10.0, WarningLevel.WARNING, {AreaKind.JP_LAND}),
        # ... not held long enough yet (just after burnout, a new or re-acquired track): a WATCH, no land named
        (0.6, 0.0, 0.3, False, 9.0, WarningLevel.WATCH, {AreaKind.JP_EEZ}),
        # ... boosting: a WATCH whatever the hold
        (0.9, 0.0, 0.1, True, 60.0, WarningLevel.WATCH, {AreaKind.JP_EEZ}),
        # ROK land before its warning: a WATCH that names no land (there is no ROK sea area)
        (0.0, 0.9, 0.0, False, 2.0, WarningLevel.WATCH, set()),
        (0.0, 0.9, 0.0, False, 12.0, WarningLevel.WARNING, {AreaKind.KR_LAND}),
        # Japan's EEZ below p_eez: nothing threatened
        (0.05, 0.0, 0.1, False, 0.0, WarningLevel.NONE, set()),
    ],
)
def test_warning_level_names_an_area_only_past_its_threshold(p_jp, p_kr, p_sea, boosting, held_s, level, kinds) -> None:  # type: ignore[no-untyped-def]
    got, named, reasons = warning_level(p_jp, p_kr, p_sea, [], boosting, held_s, **RULE)
    assert got == level and {a.kind for a in named} == kinds and reasons


def test_an_overflight_is_a_watch_naming_it() -> None:
    level, named, _ = warning_level(0.0, 0.0, 0.0, OVER, False, 0.0, **RULE)
    assert level == WarningLevel.WATCH and [a.kind for a in named] == [AreaKind.JP_OVERFLIGHT]


def test_the_warning_names_the_named_areas_not_every_listed_one() -> None:
    book = WarningBook()
    low_land = ThreatenedArea(AreaKind.JP_LAND, "Japan land", 0.05)
    (w,) = book.update({1: watch(areas=(low_land, EEZ), named=(EEZ,))}, [], 0)
    assert w.state == WarningState.IMPACT_EXPECTED and w.areas == (EEZ,)


# --- the book ----------------------------------------------------------------------------------------------


def test_a_phase_change_updates_the_warning_and_its_reasons() -> None:
    book = WarningBook()
    book.update({1: watch(reasons=("mid-course reason",))}, [], 0)
    (w,) = book.update({1: watch(t_s=1.0, phase=Phase.TERMINAL, reasons=("terminal reason",))}, [], NS)
    assert w.state == WarningState.UPDATED and w.warning_id == 1
    assert "phase midcourse -> terminal" in w.reasons[0] and "terminal reason" in w.reasons
    assert w.reasons[-1].startswith("phase terminal") and "mid-course reason" not in w.reasons


def test_a_track_without_sensor_updates_coasts_and_continues_under_the_same_id() -> None:
    book = WarningBook(coast_after_s=10.0)
    (w0,) = book.update({1: watch(t_s=100.0)}, [], 100 * NS)
    assert book.update({1: watch(t_s=108.0, fresh_s=100.0)}, [], 108 * NS) == []  # 8 s: not yet
    (w,) = book.update({1: watch(t_s=112.0, fresh_s=100.0)}, [], 112 * NS)
    assert w.state == WarningState.COASTING and w.warning_id == w0.warning_id and w.level == WarningLevel.WATCH
    assert w.sensor_time_ns == 100 * NS and "no sensor update for 12 s" in w.reasons[0]
    assert book.update({1: watch(t_s=120.0, fresh_s=100.0)}, [], 120 * NS) == []  # still coasting: no news
    (w,) = book.update({1: watch(t_s=130.0)}, [], 130 * NS)
    assert w.state == WarningState.UPDATED and w.warning_id == w0.warning_id
    assert "re-acquired after 30 s" in w.reasons[0] and w.sensor_time_ns == 130 * NS


def test_a_deleted_track_coasts_until_its_predicted_impact_and_a_reacquired_one_keeps_the_id() -> None:
    book = WarningBook(coast_end_s=60.0, min_held_s=0.0)
    (w0,) = book.update({1: watch(t_s=100.0, impact_t_s=600.0)}, [], 100 * NS)
    # a 6 s dropout mid-flight: the fusion service deletes the track; the warning coasts
    (w,) = book.update({}, [1], 106 * NS)
    assert w.state == WarningState.COASTING and w.warning_id == w0.warning_id and w.areas == (EEZ,)
    assert w.sensor_time_ns == 100 * NS and "out of coverage" in w.reasons[0]
    assert book.update({}, [], 200 * NS) == [] and [x.warning_id for x in book.active] == [w0.warning_id]
    # re-acquired under the same track number, no prediction yet: still coasting on the last one
    assert book.update({1: watch(t_s=300.0, impact=None, level=WarningLevel.ADVISORY)}, [], 300 * NS) == []
    (w,) = book.update({1: watch(t_s=301.0, impact_t_s=600.0)}, [], 301 * NS)
    assert w.state == WarningState.UPDATED and w.warning_id == w0.warning_id and "re-acquired" in w.reasons[0]
    # lost again: coasts until 60 s after the predicted impact, then ends (not cancelled)
    (w,) = book.update({}, [1], 320 * NS)
    assert w.state == WarningState.COASTING
    assert book.update({}, [], 659 * NS) == []
    (w,) = book.update({}, [], 660 * NS)
    assert w.state == WarningState.ENDED and w.warning_id == w0.warning_id and "impact time passed" in w.reasons[0]
    assert book.active == []


def test_a_lost_track_without_a_prediction_ends_after_lost_after_s() -> None:
    book = WarningBook(lost_after_s=300.0, min_held_s=0.0)
    book.update({7: watch(7, t_s=10.0, impact=None, level=WarningLevel.ADVISORY, areas=())}, [], 10 * NS)
    (w,) = book.update({}, [7], 20 * NS)
    assert w.state == WarningState.COASTING
    assert book.update({}, [], 309 * NS) == []
    (w,) = book.update({}, [], 310 * NS)
    assert w.state == WarningState.ENDED


def test_a_track_deleted_at_its_predicted_impact_ends_unless_it_was_boosting() -> None:
    book = WarningBook(impact_slack_s=30.0, lost_after_s=300.0, min_held_s=0.0)
    book.update({1: watch(t_s=500.0, impact_t_s=600.0, phase=Phase.TERMINAL)}, [], 500 * NS)
    (w,) = book.update({}, [1], 575 * NS)
    assert w.state == WarningState.ENDED and book.active == []
    # a boosting track's impact time is a lower bound (the instantaneous impact point's): lost in boost, it coasts
    book.update({2: watch(2, t_s=20.0, impact_t_s=40.0, phase=Phase.BOOST)}, [], 20 * NS)
    (w,) = book.update({}, [2], 25 * NS)
    assert w.state == WarningState.COASTING
    assert book.update({}, [], 319 * NS) == []
    (w,) = book.update({}, [], 320 * NS)
    assert w.state == WarningState.ENDED


# --- the assessor: a flight onto Japan's land ---------------------------------------------------------------


def test_a_first_track_after_burnout_raises_a_watch_before_a_land_warning() -> None:
    """A Nodong aimed at Honshu, first tracked after burnout (as a track re-acquired after a gap is: new to
    the assessor): the first assessments are a WATCH that does not name the land; the WARNING naming Japan's
    land comes once every assessment named it for ``land_confirm_s``."""
    f = plan_trajectory(
        get_missile("nodong").vehicle, 39.17, 127.48, aim_lat_deg=35.45, aim_lon_deg=133.2, shape="minimum_energy"
    ).flight
    P = np.diag([100.0**2] * 3 + [2.0**2] * 3)
    assessor = Assessor(land_confirm_s=10.0)
    t0 = 0.5 * f.flight_time_s
    levels: list[tuple[float, WarningLevel, set[AreaKind]]] = []
    for dt in np.arange(0.0, 16.0, 2.0):
        t = t0 + dt
        p, v = f.sample(np.array([t]))
        track = SystemTrack(3, round(t * NS), np.r_[p[0], v[0]], P, ("jp",), ())
        a = assessor.assess([track], round(t * NS))[3]
        levels.append((float(dt), a.level, {x.kind for x in a.warning_areas}))
    assert any(x.kind == AreaKind.JP_LAND and x.probability > 0.9 for x in a.areas)
    for dt, level, kinds in levels:
        if dt < 10.0:
            assert level == WarningLevel.WATCH and AreaKind.JP_LAND not in kinds, (dt, level, kinds)
        else:
            assert level == WarningLevel.WARNING and AreaKind.JP_LAND in kinds, (dt, level, kinds)


def test_a_lost_track_whose_object_another_track_holds_is_a_duplicate() -> None:
    book = WarningBook()
    book.update({1: watch(1, t_s=100.0), 2: watch(2, t_s=100.0)}, [], 100 * NS)  # one object, two tracks
    (w,) = book.update({}, [2], 101 * NS)  # the newer one ends: a duplicate, not a coasting missile
    assert w.state == WarningState.CANCELLED and w.warning_id == 2 and "duplicate of warning 1" in w.reasons[0]
    assert [x.warning_id for x in book.active] == [1]


def test_an_object_reacquired_under_a_new_track_number_keeps_its_warning_id() -> None:
    book = WarningBook(min_held_s=0.0)
    (w0,) = book.update({1: watch(1, t_s=100.0)}, [], 100 * NS)
    book.update({}, [1], 110 * NS)  # out of coverage: coasting
    # another missile, landing 300 km away: a different object, the warning coasts on
    (other,) = book.update({3: watch(3, t_s=120.0, impact=(41.5, 140.6))}, [], 120 * NS)
    assert other.warning_id == 2 and {x.warning_id for x in book.active} == {1, 2}
    # the object re-acquired as track 5 (same impact point and time): warning 1 continues on track 5
    out = book.update({5: watch(5, t_s=200.0)}, [], 200 * NS)
    assert [(w.warning_id, w.state) for w in out] == [
        (3, WarningState.IMPACT_EXPECTED),
        (3, WarningState.CANCELLED),
        (w0.warning_id, WarningState.UPDATED),
    ]
    assert out[-1].track_id == 5 and "track 1 re-acquired as track 5" in out[-1].reasons[0]
    assert {(x.warning_id, x.track_id) for x in book.active} == {(1, 5), (2, 3)}
    # it goes on as track 5's warning
    (w,) = book.update({5: watch(5, t_s=201.0, phase=Phase.TERMINAL)}, [], 201 * NS)
    assert w.warning_id == 1 and w.track_id == 5 and "phase midcourse -> terminal" in w.reasons[0]


def test_a_briefly_held_track_not_seen_again_is_judged_false() -> None:
    book = WarningBook(min_held_s=30.0, false_after_s=30.0)
    book.update({1: watch(1, t_s=100.0), 2: watch(2, t_s=100.0, impact=(38.0, 133.0))}, [], 100 * NS)
    # both lost: track 1 held 20 s, track 2 held 40 s
    (w,) = book.update({}, [1], 120 * NS)
    assert w.state == WarningState.COASTING
    (w,) = book.update({}, [2], 140 * NS)
    assert w.state == WarningState.COASTING
    assert book.update({}, [], 149 * NS) == []
    (w,) = book.update({}, [], 150 * NS)  # 30 s after track 1's deletion
    assert w.warning_id == 1 and w.state == WarningState.CANCELLED and "judged false" in w.reasons[0]
    assert [x.warning_id for x in book.active] == [2]  # held long enough: a missile out of coverage
    # a briefly held track re-acquired within false_after_s keeps its warning
    book.update({3: watch(3, t_s=200.0, impact=(36.0, 131.0))}, [], 200 * NS)
    book.update({}, [3], 205 * NS)
    (w,) = book.update({3: watch(3, t_s=215.0, impact=(36.0, 131.0))}, [], 215 * NS)
    assert w.state == WarningState.UPDATED and "re-acquired" in w.reasons[0]
    assert book.update({}, [], 300 * NS) == []


def test_a_track_lost_while_boosting_is_not_taken_for_its_neighbour() -> None:
    """Ripple fire: two missiles 30 s apart on one corridor. The first one's track drops out in boost; the
    corridors overlap, but a boosting track's impact tells missiles apart poorly: its warning coasts and
    continues when the track number comes back."""
    book = WarningBook()
    boost = dict(phase=Phase.BOOST, ellipse_m=400e3)
    (w1, w2) = book.update({1: watch(1, t_s=40.0, **boost), 2: watch(2, t_s=40.0, **boost)}, [], 40 * NS)
    (w,) = book.update({}, [1], 64 * NS)
    assert w.warning_id == w1.warning_id and w.state == WarningState.COASTING
    (w,) = book.update({1: watch(1, t_s=67.0)}, [], 67 * NS)
    assert w.warning_id == w1.warning_id and w.state == WarningState.UPDATED and "re-acquired" in w.reasons[0]
    assert {x.warning_id for x in book.active} == {w1.warning_id, w2.warning_id}
