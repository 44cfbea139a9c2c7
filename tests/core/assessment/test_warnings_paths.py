"""One warning per object when a lost track's last impact prediction was poor: the coasting warning continues
on the live track that flies its path (WarningBook.same_path_m), not beside it for the rest of the flight."""

from __future__ import annotations

import math

import numpy as np
from assessments import NS, assessment

from triwarn.core.assessment.assess import AreaKind, ThreatenedArea, WarningLevel
from triwarn.core.assessment.warnings import WarningBook, WarningState
from triwarn.core.tracks import Phase
from triwarn.core.trajectory.flight import Steering, fly_missile
from triwarn.core.trajectory.missiles import get_missile

JP_LAND = ThreatenedArea(AreaKind.JP_LAND, "Japan", 0.8)
JP_OVER = ThreatenedArea(AreaKind.JP_OVERFLIGHT, "Japan", 1.0)


def _state(f, t_s: float) -> tuple[float, ...]:
    p, v = f.sample(np.array([t_s]))
    return tuple(float(c) for c in np.r_[p[0], v[0]])


def _flight(lat_deg: float, lon_deg: float):
    return fly_missile(
        get_missile("hwasong-15").vehicle, math.radians(lat_deg), math.radians(lon_deg),
        Steering(math.radians(95.0), math.radians(35.0), 1e9),
    )  # fmt: skip


def _run(live_flight) -> tuple[list, list]:
    """Track 1 (a WARNING on Japanese land from a poor last prediction) is lost at T+300 s; track 2, started at
    T+250 s on ``live_flight``, predicts an impact far beyond Japan. Returns the changes at the deletion and at
    the next update."""
    f = _flight(39.0, 125.5)
    book = WarningBook()
    lost = assessment(
        1, level=WarningLevel.WARNING, impact=(36.0, 138.0), impact_t_s=1500.0, areas=(JP_LAND,),
        t_s=300.0, ellipse_m=20_000.0, state=_state(f, 300.0),
    )  # fmt: skip
    book.update({1: lost}, [], 300 * NS)
    live = assessment(
        2, level=WarningLevel.WATCH, impact=(20.0, 175.0), impact_t_s=1900.0, areas=(JP_OVER,),
        t_s=360.0, ellipse_m=20_000.0, state=_state(live_flight, 360.0),
    )  # fmt: skip
    book.update({2: live}, [], 360 * NS)
    at_delete = book.update({2: live}, [1], 361 * NS)
    later = book.update({}, [], 362 * NS)
    return at_delete, later


def test_a_lost_track_whose_path_a_live_track_flies_continues_on_it() -> None:
    at_delete, _ = _run(_flight(39.0, 125.5))
    cancelled = [w for w in at_delete if w.state == WarningState.CANCELLED]
    continued = [w for w in at_delete if w.state == WarningState.UPDATED and w.track_id == 2]
    assert [w.warning_id for w in cancelled] == [2]  # the live track's newer warning was the duplicate
    assert [w.warning_id for w in continued] == [1]  # the older one goes on, on track 2, with its areas
    assert {a.kind for a in continued[0].areas} == {AreaKind.JP_OVERFLIGHT}
    assert not any(w.state == WarningState.COASTING for w in at_delete)


def test_a_lost_track_on_another_path_keeps_coasting() -> None:
    at_delete, _ = _run(_flight(40.5, 128.5))  # another missile, ~250 km away
    assert [w.state for w in at_delete if w.warning_id == 1] == [WarningState.COASTING]
    assert not any(w.state == WarningState.CANCELLED for w in at_delete)


def test_boosting_tracks_are_not_compared_by_path() -> None:
    from triwarn.core.assessment.warnings import _same_path

    f = _flight(39.0, 125.5)
    a = assessment(1, t_s=100.0, phase=Phase.BOOST, state=_state(f, 100.0))
    b = assessment(2, t_s=100.0, state=_state(f, 100.0))
    assert not _same_path(a, b, 20_000.0, 50.0)
    assert _same_path(
        assessment(1, t_s=300.0, state=_state(f, 300.0)),
        assessment(2, t_s=400.0, state=_state(f, 400.0)),
        20_000.0,
        50.0,
    )
