"""What the terminal views say: the piped view prints only changes of substance, the header counts warnings by
level, and a boosting track's countdown says it is an estimate."""

from __future__ import annotations

import io

from triwarn.services.subscriber import ClientPicture, LineSink, track_time_to_impact, warning_counts
from triwarn.services.trust import labels
from triwarn.v1 import picture_pb2, tracks_pb2

PU = picture_pb2.PictureUpdate


def _track(track_id: int, phase: int, lat: float, lon: float, level: int = picture_pb2.WARNING_LEVEL_NONE) -> object:
    t = picture_pb2.SystemTrack(track_id=track_id, phase=phase, warning_level=level, altitude_m=50e3)
    t.impact.valid = True
    t.impact.lat_deg, t.impact.lon_deg = lat, lon
    t.impact.ellipse.semi_major_m = 20e3
    return t


def _delta(seq: int, *tracks: object, warnings: tuple[object, ...] = ()) -> picture_pb2.PictureUpdate:
    return PU(seq=seq, kind=PU.KIND_DELTA, view=tracks_pb2.NATION_US, tracks=tracks, warnings=warnings)


def _run(updates: list[picture_pb2.PictureUpdate]) -> list[str]:
    out = io.StringIO()
    sink, picture = LineSink(out, impact_step_km=10.0), ClientPicture()
    for u in updates:
        picture.apply(u)
        sink.update(u, picture)
    return out.getvalue().splitlines()


def test_the_piped_view_prints_a_line_only_when_something_of_substance_changes() -> None:
    mid = tracks_pb2.FLIGHT_PHASE_MIDCOURSE
    lines = _run(
        [
            PU(seq=1, kind=PU.KIND_SNAPSHOT, view=tracks_pb2.NATION_US),
            _delta(2, _track(7, mid, 39.0, 132.0)),
            _delta(3, _track(7, mid, 39.01, 132.02)),  # moved ~2 km: nothing to say
            _delta(4, _track(7, mid, 39.2, 132.0)),  # moved ~22 km
            _delta(5, _track(7, mid, 39.2, 132.0, level=picture_pb2.WARNING_LEVEL_WATCH)),
            _delta(6, _track(7, mid, 39.2, 132.0, level=picture_pb2.WARNING_LEVEL_WATCH)),
        ]
    )
    assert [line.split()[1] for line in lines] == ["1", "2", "4", "5"]
    assert lines[1].startswith("seq 2 track 7 new") and "impact 39.00,132.00" in lines[1]
    assert "level watch" in lines[3]


def test_the_piped_view_prints_the_label_first_and_when_it_changes() -> None:
    mid = tracks_pb2.FLIGHT_PHASE_MIDCOURSE
    updates = [PU(seq=1, kind=PU.KIND_SNAPSHOT, view=tracks_pb2.NATION_JP)] + [
        _delta(seq, _track(7, mid, 39.0 + seq, 132.0)) for seq in (2, 3, 4)
    ]
    for u, policy in zip(updates, ("p1", "p1", "p1", "p2"), strict=True):  # the seq changes, the marking not
        u.label.CopyFrom(labels.make_label(policy, "jp", u.seq))
    updates[2].label_signature.key_id = "fusion-us"
    lines = _run(updates)
    assert [line for line in lines if " label " in line] == [
        "seq 1 label UNCLASSIFIED//DEVELOPMENT REL TO JPN (policy p1), unsigned",
        "seq 3 label UNCLASSIFIED//DEVELOPMENT REL TO JPN (policy p1), signed by the fusion service",
        "seq 4 label UNCLASSIFIED//DEVELOPMENT REL TO JPN (policy p2), unsigned",
    ]
    assert lines[0].startswith("seq 1 label") and lines[1].startswith("seq 1 snapshot of view jp")


def test_the_header_counts_warnings_by_level_and_not_those_at_none() -> None:
    picture = ClientPicture()
    warnings = [
        picture_pb2.Warning(
            warning_id=1, level=picture_pb2.WARNING_LEVEL_NONE, state=picture_pb2.Warning.STATE_UPDATED
        ),
        picture_pb2.Warning(warning_id=2, level=picture_pb2.WARNING_LEVEL_WATCH, state=picture_pb2.Warning.STATE_NEW),
    ]
    picture.apply(PU(seq=1, kind=PU.KIND_SNAPSHOT, warnings=warnings[:1]))
    assert warning_counts(picture) == "no warnings"
    picture.apply(_delta(2, warnings=tuple(warnings[1:])))
    assert warning_counts(picture) == "1 watch"


def test_a_boosting_tracks_countdown_says_it_is_a_lower_bound() -> None:
    picture = ClientPicture()
    picture.apply(PU(seq=1, kind=PU.KIND_SNAPSHOT, time_ns=1_000_000_000_000))
    boost = _track(1, tracks_pb2.FLIGHT_PHASE_BOOST, 39.0, 132.0)
    boost.impact.impact_time_ns = 1_000_000_000_000 + 200 * 10**9
    mid = picture_pb2.SystemTrack()
    mid.CopyFrom(boost)
    mid.phase = tracks_pb2.FLIGHT_PHASE_MIDCOURSE
    assert track_time_to_impact(boost, picture).startswith("≥ 3:")
    assert track_time_to_impact(mid, picture).startswith("3:")
