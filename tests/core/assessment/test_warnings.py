"""Warning lifecycle transitions, protobuf conversion, and the picture-update glue with a real assessor."""

from __future__ import annotations

import math

import numpy as np
import pytest
from assessments import assessment

from triwarn.core.assessment.assess import AreaKind, Assessor, ThreatenedArea, WarningLevel
from triwarn.core.assessment.classify import MissileClass
from triwarn.core.assessment.warnings import WarningBook, WarningState
from triwarn.core.tracks import Phase, SystemTrack
from triwarn.core.trajectory.missiles import get_missile
from triwarn.core.trajectory.planning import plan_trajectory
from triwarn.services.wire.picture import fill_track_assessment, system_track_pb, warning_to_proto
from triwarn.v1 import picture_pb2, tracks_pb2

NS = 1_000_000_000
EEZ = ThreatenedArea(AreaKind.JP_EEZ, "Japan EEZ", 0.9)
LAND = ThreatenedArea(AreaKind.JP_LAND, "Japan land", 0.4)


def test_lifecycle_new_impact_expected_updated_ended() -> None:
    book = WarningBook()
    (w,) = book.update({1: assessment(level=WarningLevel.ADVISORY, phase=Phase.BOOST)}, [], 1 * NS)
    assert w.state == WarningState.NEW and w.level == WarningLevel.ADVISORY and w.warning_id == 1
    assert book.update({1: assessment(level=WarningLevel.ADVISORY, phase=Phase.BOOST)}, [], 2 * NS) == []
    (w,) = book.update({1: assessment(level=WarningLevel.WATCH, impact=(41.5, 137.0), areas=(EEZ,))}, [], 3 * NS)
    assert w.state == WarningState.IMPACT_EXPECTED and w.areas == (EEZ,) and w.issued_time_ns == 1 * NS
    assert w.updated_time_ns == 3 * NS and w.reasons[0].startswith("impact area determined")
    # small move: no news
    assert book.update({1: assessment(level=WarningLevel.WATCH, impact=(41.52, 137.0), areas=(EEZ,))}, [], 4 * NS) == []
    # 30 km move: updated
    (w,) = book.update({1: assessment(level=WarningLevel.WATCH, impact=(41.8, 137.0), areas=(EEZ,))}, [], 5 * NS)
    assert w.state == WarningState.UPDATED and "moved" in w.reasons[0]
    # ellipse shrinks by half: updated
    (w,) = book.update(
        {1: assessment(level=WarningLevel.WATCH, impact=(41.8, 137.0), areas=(EEZ,), ellipse_m=5000.0)}, [], 6 * NS
    )
    assert w.state == WarningState.UPDATED
    # deleted after its predicted impact: ended
    (w,) = book.update({}, [1], 700 * NS)
    assert w.state == WarningState.ENDED and w.warning_id == 1
    assert book.active == []


def test_areas_change_reannounces_and_level_rises() -> None:
    book = WarningBook()
    book.update({1: assessment(level=WarningLevel.WATCH, impact=(38.5, 137.5), areas=(EEZ,))}, [], 0)
    (w,) = book.update({1: assessment(level=WarningLevel.WARNING, impact=(38.2, 138.3), areas=(EEZ, LAND))}, [], NS)
    assert w.state == WarningState.IMPACT_EXPECTED and w.level == WarningLevel.WARNING
    assert w.reasons[0].startswith("threatened areas changed")
    (w,) = book.update({1: assessment(level=WarningLevel.NONE, impact=(39.0, 133.0), areas=())}, [], 2 * NS)
    assert w.state == WarningState.UPDATED and w.level == WarningLevel.NONE


def test_cancelled_only_when_named_false_or_merged_and_ids_never_reused() -> None:
    book = WarningBook()
    tracks = {t: assessment(t, impact=(40.0, 130.0 + 2.0 * t)) for t in (1, 2, 3)} | {4: assessment(4)}
    out = book.update(tracks, [], 0)
    assert [w.warning_id for w in out] == [1, 2, 3, 4] and all(w.state == WarningState.NEW for w in out)
    # track 1 dropped 10 s in, long before its impact at 600 s: out of coverage, not false
    (w,) = book.update({}, [1], 10 * NS)
    assert w.state == WarningState.COASTING and w.warning_id == 1
    # track 2 named false by the caller; track 3 merged into another track (a duplicate): cancelled
    (w,) = book.update({}, [], 11 * NS, false_track_ids=[2])
    assert w.state == WarningState.CANCELLED and "false" in w.reasons[0]
    (w,) = book.update({}, [3], 12 * NS, merged_track_ids=[3])
    assert w.state == WarningState.CANCELLED and "duplicate" in w.reasons[0]
    # track 4 seen in the terminal phase without a prediction, then dropped: it impacted
    book.update({4: assessment(4, phase=Phase.TERMINAL)}, [], 12 * NS)
    (w,) = book.update({}, [4], 13 * NS)
    assert w.state == WarningState.ENDED
    # a new track gets a new id, and an unknown deletion is ignored
    (w,) = book.update({5: assessment(5)}, [99], 14 * NS)
    assert w.warning_id == 5
    assert {x.warning_id for x in book.active} == {1, 5}


def test_warning_and_track_to_proto() -> None:
    book = WarningBook()
    a = assessment(level=WarningLevel.WARNING, impact=(38.0, 138.4), areas=(LAND, EEZ))
    (w,) = book.update({1: a}, [], 5)
    msg = warning_to_proto(w)
    back = picture_pb2.Warning.FromString(msg.SerializeToString())
    assert back.warning_id == 1 and back.track_id == 1
    assert back.level == picture_pb2.WARNING_LEVEL_WARNING
    assert back.state == picture_pb2.Warning.STATE_IMPACT_EXPECTED
    assert [x.kind for x in back.areas] == [picture_pb2.AREA_KIND_JP_LAND, picture_pb2.AREA_KIND_JP_EEZ]
    assert back.areas[0].probability == pytest.approx(0.4)
    assert list(back.reasons) == list(w.reasons) and back.issued_time_ns == 5
    t = picture_pb2.SystemTrack()
    fill_track_assessment(t, a)
    assert t.missile_class == picture_pb2.MISSILE_CLASS_ICBM and t.phase == tracks_pb2.FLIGHT_PHASE_MIDCOURSE
    assert t.impact.valid and t.impact.lat_deg == 38.0 and t.impact.ellipse.confidence == 0.95
    assert t.impact.impact_time_ns == 600 * NS and t.impact.ellipse.orientation_deg == 30.0
    assert not t.launch_point.valid and t.warning_level == picture_pb2.WARNING_LEVEL_WARNING
    assert [x.kind for x in t.threatened_areas] == [picture_pb2.AREA_KIND_JP_LAND, picture_pb2.AREA_KIND_JP_EEZ]


def test_enum_values_match_the_wire_contract() -> None:
    for lvl in WarningLevel:
        assert picture_pb2.WarningLevel.Name(int(lvl)) == f"WARNING_LEVEL_{lvl.name}"
    for kind in AreaKind:
        assert picture_pb2.AreaKind.Name(int(kind)) == f"AREA_KIND_{kind.name}"
    for st in WarningState:
        assert picture_pb2.Warning.State.Name(int(st)) == f"STATE_{st.name}"
    for c in MissileClass:
        name = "UNSPECIFIED" if c == MissileClass.UNKNOWN else c.name
        assert picture_pb2.MissileClass.Name(int(c)) == f"MISSILE_CLASS_{name}"


def _assess_into(assessor, book, changed, deleted, msgs, update, now_ns):  # type: ignore[no-untyped-def]
    """What the fusion service does with an update's assessments (``FusionService.assess`` and
    ``assessment_updates``): assess, fill the track messages, run the warning book, forget deleted tracks."""
    assessor.forget(list(deleted))
    assessments = assessor.assess(list(changed), now_ns) if changed else {}
    for track, msg in zip(changed, msgs, strict=True):
        fill_track_assessment(msg, assessments[track.track_id])
    update.warnings.extend(warning_to_proto(w) for w in book.update(assessments, deleted, now_ns))


def test_assessments_fill_a_picture_update_and_the_book_ends_a_deleted_track() -> None:
    f = plan_trajectory(
        get_missile("kn-23").vehicle, 39.17, 127.48, aim_lat_deg=39.40, aim_lon_deg=132.60, shape="minimum_energy"
    ).flight
    P = np.diag([200.0**2] * 3 + [4.0**2] * 3)
    assessor, book = Assessor(), WarningBook()
    seen: list[picture_pb2.Warning] = []
    for t in (40.0, 45.0, 0.5 * f.flight_time_s):
        p, v = f.sample(np.array([t]))
        track = SystemTrack(9, round(t * NS), np.r_[p[0], v[0]], P, ("us",), ())
        update = picture_pb2.PictureUpdate()
        msgs = [system_track_pb(track)]
        _assess_into(assessor, book, [track], [], msgs, update, round(t * NS))
        assert msgs[0].impact.valid
        seen.extend(update.warnings)
    assert seen[0].state == picture_pb2.Warning.STATE_NEW and seen[0].track_id == 9
    last = assessor.last(9)
    assert last is not None and last.impact.valid
    update = picture_pb2.PictureUpdate()
    _assess_into(assessor, book, [], [9], [], update, round((f.flight_time_s + 1) * NS))
    assert [w.state for w in update.warnings] == [picture_pb2.Warning.STATE_ENDED]
    assert assessor.last(9) is None  # forgotten with the deleted track
    assert math.isfinite(msgs[0].impact.ellipse.semi_major_m)


def test_while_boosting_only_level_changes_are_news() -> None:
    book = WarningBook()
    b = dict(phase=Phase.BOOST)
    book.update({1: assessment(level=WarningLevel.NONE, impact=(39.5, 128.0), **b)}, [], 0)
    # the instantaneous impact point races 200 km downrange and into the EEZ: no news while boosting
    assert book.update({1: assessment(level=WarningLevel.NONE, impact=(39.9, 130.5), **b)}, [], NS) == []
    # once the boost corridor reaches an area, the impact is expected there: announced while still boosting
    (w,) = book.update({1: assessment(level=WarningLevel.WATCH, impact=(40.5, 136.0), areas=(EEZ,), **b)}, [], 2 * NS)
    assert w.state == WarningState.IMPACT_EXPECTED and w.level == WarningLevel.WATCH
    # after burnout the same area is not announced again; the impact point's move is an update
    (w,) = book.update({1: assessment(level=WarningLevel.WATCH, impact=(40.6, 136.9), areas=(EEZ,))}, [], 3 * NS)
    assert w.state == WarningState.UPDATED and "moved" in w.reasons[0]


def test_recording_cells_and_impact_scoring() -> None:
    from pymap3d.vincenty import vreckon

    from triwarn.analysis.impact_scoring import inside_ellipse, score_impacts
    from triwarn.analysis.recording import IPP_COLUMNS, LAUNCH_COLUMNS, ipp_cells, launch_cells

    a = assessment(level=WarningLevel.WATCH, impact=(41.5, 137.0), impact_t_s=600.0, areas=(EEZ,))
    cells = ipp_cells(a, epoch_ns=100 * NS)
    assert len(cells) == len(IPP_COLUMNS) and cells[:3] == ["41.500000", "137.000000", "500.000"]
    assert ipp_cells(None, 0) == [""] * 6 and launch_cells(a, 0) == [""] * len(LAUNCH_COLUMNS)
    # an ellipse 10 x 4 km, long north-east
    assert inside_ellipse(6000.0, 6000.0, 10_000.0, 4_000.0, 45.0)  # 8.5 km along the major axis
    assert not inside_ellipse(3000.0, -3000.0, 10_000.0, 4_000.0, 45.0)  # 4.2 km across it
    # truth 3 km north (inside) 60 s before impact; 20 km east (outside) 400 s before impact
    n_lat, n_lon = (float(v) for v in vreckon(41.5, 137.0, 3000.0, 0.0))
    e_lat, e_lon = (float(v) for v in vreckon(41.5, 137.0, 20_000.0, 90.0))
    rows = [
        (540.0, 41.5, 137.0, 10_000.0, 4_000.0, 0.0, n_lat, n_lon, 600.0),
        (200.0, 41.5, 137.0, 10_000.0, 4_000.0, 0.0, e_lat, e_lon, 600.0),
        (300.0, math.nan, math.nan, 1.0, 1.0, 0.0, 41.0, 137.0, 600.0),  # no prediction: skipped
    ]
    s = score_impacts(rows)
    assert s["n"] == 2 and s["coverage"] == 0.5
    by = {tuple(b["tgo_s"]): b for b in s["bins"]}
    assert by[(60.0, 120.0)]["n"] == 1 and by[(60.0, 120.0)]["mean_err_km"] == pytest.approx(3.0, abs=1e-3)
    assert by[(300.0, 600.0)]["max_err_km"] == pytest.approx(20.0, abs=1e-3)
    assert by[(300.0, 600.0)]["coverage"] == 0.0


def test_assessor_keeps_the_last_assessment() -> None:
    a = Assessor()
    assert a.last(5) is None


def test_a_noisy_infrared_state_does_not_end_the_warning_at_a_dropout() -> None:
    """Close pairs seed 6: 11 s after launch an infrared track's state read 739 m/s downward, within a velocity
    σ of a thousand. Taken for a re-entry near the ground, its predicted impact was seconds away, and when the
    track dropped out the warning ENDED ("object impacted"); the track came back under its number with a new
    warning. Descending counts beyond 3σ of the vertical speed: the warning coasts through the dropout and
    continues under its id."""
    f = plan_trajectory(
        get_missile("hwasong-15").vehicle, 39.0, 125.7, aim_lat_deg=40.5, aim_lon_deg=136.0, shape="minimum_energy"
    ).flight
    P_ir = np.diag([2000.0**2] * 3 + [1000.0**2] * 3)
    P_radar = np.diag([200.0**2] * 3 + [10.0**2] * 3)
    assessor, book = Assessor(), WarningBook()
    changes = []
    for t in np.arange(5.0, 12.0, 1.0):  # infrared, boosting
        p, v = f.sample(np.array([t]))
        x = np.r_[p[0], v[0]]
        if t == 11.0:  # the noisy one: 739 m/s downward
            up = p[0] / np.linalg.norm(p[0])
            x[3:] -= (float(x[3:] @ up) + 739.0) * up
        track = SystemTrack(2, round(t * NS), x, P_ir, ("us",), (), Phase.BOOST)
        changes += book.update(assessor.assess([track], round(t * NS)), [], round(t * NS))
    assert assessor.last(2).phase == Phase.BOOST
    assessor.forget([2])
    changes += book.update({}, [2], round(12.0 * NS))  # the track drops out ...
    assert all(w.state != WarningState.ENDED for w in changes), [w.reasons[0] for w in changes]
    for t in np.arange(20.0, 26.0, 1.0):  # ... and a radar takes it back under its number
        p, v = f.sample(np.array([t]))
        track = SystemTrack(2, round(t * NS), np.r_[p[0], v[0]], P_radar, ("us",), (), Phase.BOOST)
        changes += book.update(assessor.assess([track], round(t * NS)), [], round(t * NS))
    assert {w.warning_id for w in changes} == {changes[0].warning_id}
    assert next(w for w in book.active if w.track_id == 2).state != WarningState.COASTING
