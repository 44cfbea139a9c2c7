"""The per-family figures of analysis/family_metrics.py on small hand-made inputs whose answers are known, and
once on a real replay of a generated scenario."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from scipy.stats import chi2

from triwarn.analysis import family_metrics as fm
from triwarn.analysis.impact_scoring import Matched
from triwarn.analysis.recording import Series, read_grouped
from triwarn.analysis.siap import number_change_events
from triwarn.cli.main import main
from triwarn.core.assessment.areas import JP_EEZ, JP_LAND, KR_LAND, LAND, AreaMap
from triwarn.scenarios.families import generate

LAUNCH = (39.0, 127.0, 0.0)
IMPACT = (40.0, 135.0, 100.0)


def row(t_s: float, track: str, obj: str, ipp=None, lp=None, phase: int = 2, impact=IMPACT) -> Matched:
    return Matched(t_s=t_s, track_id=track, object_id=obj, ipp=ipp, lp=lp, impact=impact, launch=LAUNCH, phase=phase)


# ---- ellipse -------------------------------------------------------------------------------------------------


def test_normalised_radius_in_the_ellipse_axes() -> None:
    # major axis (2 km) pointing east, minor axis (1 km) north
    assert fm.normalised_radius(2000.0, 0.0, 2000.0, 1000.0, 90.0) == pytest.approx(1.0)
    assert fm.normalised_radius(0.0, -1000.0, 2000.0, 1000.0, 90.0) == pytest.approx(1.0)
    assert fm.normalised_radius(1000.0, 500.0, 2000.0, 1000.0, 90.0) == pytest.approx(math.sqrt(0.5))
    assert fm.normalised_radius(0.0, 0.0, 2000.0, 1000.0, 0.0) == 0.0
    assert fm.normalised_radius(10.0, 0.0, 0.0, 1000.0, 0.0) == math.inf


def test_a_calibrated_ellipse_has_median_radius_0_48_and_covers_95_percent() -> None:
    r50 = fm.CALIBRATED_MEDIAN_RADIUS
    assert r50 == pytest.approx(math.sqrt(chi2.ppf(0.5, 2) / chi2.ppf(0.95, 2)), rel=1e-12)
    assert r50 == pytest.approx(0.481, abs=5e-4)
    rng = np.random.default_rng(1)
    sig_major, sig_minor, az = 3000.0, 800.0, 30.0
    k = math.sqrt(chi2.ppf(0.95, 2))
    along, across = rng.normal(0, sig_major, 20000), rng.normal(0, sig_minor, 20000)
    a = math.radians(az)
    e, n = along * math.sin(a) + across * math.cos(a), along * math.cos(a) - across * math.sin(a)
    r = np.array([fm.normalised_radius(x, y, k * sig_major, k * sig_minor, az) for x, y in zip(e, n, strict=True)])
    assert np.mean(r <= 1.0) == pytest.approx(0.95, abs=0.005)
    assert np.median(r) == pytest.approx(0.481, abs=0.01)


def test_ellipse_radii_skip_boost_rows_and_rows_without_prediction() -> None:
    # truth 0.1 deg north of the prediction (~11.1 km); ellipse 22.2 km along north, 5 km across
    ipp = (IMPACT[0] - 0.1, IMPACT[1], 22_220.0, 5_000.0, 0.0)
    rows = [row(1.0, "1", "a", ipp, phase=1), row(2.0, "1", "a", None), row(3.0, "1", "a", ipp)]
    radii = fm.ellipse_radii(rows)
    assert len(radii) == 1 and radii[0] == pytest.approx(0.5, abs=0.005)
    assert len(fm.ellipse_radii(rows, after_boost=False)) == 2


# ---- track numbers -------------------------------------------------------------------------------------------


def test_number_changes_at_an_unresolved_group_are_told_apart(tmp_path: Path) -> None:
    # a and b fly together, 1 km apart, then part; c flies alone 100 km away. Track 1 holds a and b as one
    # (flagged: 2 objects), nearer b, until t = 5 s, when it moves onto a and track 2 takes b; c's track 3 is
    # replaced by track 4 at t = 5 s. A track is associated with its closest object only (Stone Soup's
    # TrackToTruth): a has no track before t = 5 s, so its first one is no change
    times = np.arange(10.0)
    east = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0])

    def path(offset_km: float, part: float = 0.0) -> np.ndarray:
        return np.array([(offset_km + part * max(t - 4.0, 0.0)) * 1000.0 * east for t in times])

    us = (times * 1e6).astype(np.int64)
    truth = Series({"a": (us, path(0.0)), "b": (us, path(1.0, part=20.0)), "c": (us, path(100.0))})
    early, late = times < 5, times >= 5
    tracks = Series(
        {
            "1": (us, path(0.7) * early[:, None] + path(0.0) * late[:, None]),
            "2": (us[late], path(1.0, part=20.0)[late]),
            "3": (us[early], path(100.0)[early]),
            "4": (us[late], path(100.0)[late]),
        }
    )
    picture = tmp_path / "picture.csv"
    lines = ["t_s,view,track_id,x_m,y_m,z_m,vx_m_s,vy_m_s,vz_m_s,objects"]
    for tid, (t_us, x) in tracks.rows.items():
        for t, row_x in zip(t_us, x, strict=True):
            objects = 2 if tid == "1" and t < 5e6 else 1
            lines.append(f"{t / 1e6:.3f},us,{tid},{','.join(f'{v:.1f}' for v in row_x)},{objects}")
    picture.write_text("\n".join(lines) + "\n")
    grouped = read_grouped(picture)["us"]
    assert grouped == {("1", int(t)) for t in us[early]}

    events = number_change_events(truth, tracks, us, 10_000.0)
    assert {obj: [(t, new, old) for t, new, old, _ in e] for obj, e in events.items()} == {
        "a": [],
        "b": [(5_000_000, "2", "1")],
        "c": [(5_000_000, "4", "3")],
    }
    assert fm.changes_at_groups(events, grouped) == {"a": 0, "b": 1, "c": 0}
    old = tmp_path / "old.csv"  # a recording made before the objects column
    old.write_text("t_s,view,track_id,x_m,y_m,z_m,vx_m_s,vy_m_s,vz_m_s\n")
    assert not read_grouped(old)


def test_a_missile_close_behind_another_is_not_tracked_by_the_others_track() -> None:
    # b is launched 5 s after a from the same pad and flies the same path 3 km behind it: a's track 1 is within
    # 10 km of b but closer to a, so b has no track until its own track 2 begins (no change of number); when
    # track 1 is replaced on a by track 3, that is a's change
    times = np.arange(20.0)
    us = (times * 1e6).astype(np.int64)
    east = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    a = np.array([(3_000.0 + 100.0 * t) * east for t in times])
    b = np.array([(100.0 * t) * east for t in times])
    truth = Series({"a": (us, a), "b": (us, b)})
    early, late = times < 10, times >= 10
    tracks = Series(
        {
            "1": (us[early], a[early] + 200.0 * east),
            "2": (us[times >= 5], b[times >= 5] - 200.0 * east),
            "3": (us[late], a[late]),
        }
    )
    events = number_change_events(truth, tracks, us, 10_000.0)
    assert {obj: [(t, new, old) for t, new, old, _ in e] for obj, e in events.items()} == {
        "a": [(10_000_000, "3", "1")],
        "b": [],
    }


def test_number_hops_between_missiles_not_flicker() -> None:
    rows = [row(t, "7", "a" if t < 10 else "b") for t in range(20)]  # a clean hand-over to another missile
    seq = ["a"] * 6 + ["b"] * 2 + ["a"] * 6  # a track between two missiles: its nearest flickers
    rows += [row(t, "8", o) for t, o in enumerate(seq)]
    seq = ["a"] * 6 + ["b"] * 6 + ["a"] * 6  # to b and back
    rows += [row(t, "9", o) for t, o in enumerate(seq)]
    hops = fm.number_hops(rows)
    assert [(p["track_id"], p["from"], p["to"], p["t_s"]) for p in hops] == [
        ("7", "a", "b", 10.0),
        ("9", "a", "b", 6.0),
        ("9", "b", "a", 12.0),
    ]
    assert fm.number_hops(rows, min_run=2)[1]["track_id"] == "8"


def test_a_hop_is_a_pass_only_between_resolved_missiles() -> None:
    t_us = np.array([5_000_000, 6_000_000], dtype=np.int64)
    x = np.zeros((2, 6))
    offset = np.array([3000.0, 4000.0, 0.0, 0.0, 0.0, 0.0])  # 5 km apart
    truth = Series({"a": (t_us, x), "b": (t_us, x + offset), "c": (t_us[:1], x[:1] + 1e5)})
    sep = fm.separations(truth)
    assert sep("a", "b", 6.0) == pytest.approx(5000.0)
    assert sep("a", "c", 6.0) == math.inf  # c has impacted
    hops = [
        {"from": "a", "to": "b", "t_s": 6.0},
        {"from": "a", "to": "c", "t_s": 5.0},
        {"from": "b", "to": "c", "t_s": 6.0},
    ]
    passed = fm.numbers_passed(hops, sep, resolved_m=10_000.0)
    assert [(p["from"], p["to"]) for p in passed] == [("a", "c"), ("b", "c")]
    assert passed[0]["separation_m"] == pytest.approx(1e5 * math.sqrt(3), rel=1e-9)
    assert fm.numbers_passed(hops, sep, resolved_m=4000.0)[0]["to"] == "b"


def test_owner_of_a_track_between_and_outside_its_matched_times() -> None:
    table = fm.owners([row(10.0, "1", "a"), row(20.0, "1", "b")])
    assert fm.owner_at(table, 0, "1", 5.0) == "a"  # before its first match: the first
    assert fm.owner_at(table, 0, "1", 15.0) == "a"  # coasting: the last one
    assert fm.owner_at(table, 0, "1", 20.0) == "b"
    assert fm.owner_at(table, 0, "2", 20.0) is None


# ---- launch and impact ---------------------------------------------------------------------------------------


def test_launch_error_is_the_primary_tracks_latest_estimate() -> None:
    # 0.1 deg of latitude at 39 N is 11.10 km (WGS-84 meridian arc)
    rows = [row(t, "1", "a", lp=(LAUNCH[0] + 0.5, LAUNCH[1], 30.0)) for t in range(5)]
    rows += [row(5.0, "1", "a", lp=(LAUNCH[0] + 0.1, LAUNCH[1], -4.0))]  # the latest of the primary track
    rows += [row(t, "2", "a", lp=(LAUNCH[0], LAUNCH[1], 0.0)) for t in (6.0, 7.0)]  # a duplicate: not primary
    rows += [row(1.0, "3", "b")]  # a missile never given a launch point
    errs = fm.launch_errors(rows)
    assert set(errs) == {(0, "a")}
    km, dt = errs[(0, "a")]
    assert km == pytest.approx(11.10, abs=0.02)
    assert dt == pytest.approx(4.0)


def test_impact_error_of_the_latest_prediction_60_s_before_impact() -> None:
    def ipp(dlat: float) -> tuple[float, float, float, float, float]:
        return (IMPACT[0] + dlat, IMPACT[1], 1.0, 1.0, 0.0)

    rows = [row(30.0, "1", "a", ipp(0.05)), row(40.0, "2", "a", ipp(0.01)), row(50.0, "1", "a", ipp(0.5))]
    errs = fm.impact_errors_at_tgo(rows, 60.0)
    assert errs[(0, "a")] == pytest.approx(1.11, abs=0.01)  # the row at 40 s (60 s to go at 100 s)
    assert fm.impact_errors_at_tgo(rows[2:], 60.0) == {}


# ---- warnings ------------------------------------------------------------------------------------------------


def test_true_kinds_from_the_impact_cell_and_the_ground_track() -> None:
    assert fm.true_kinds(LAND | JP_LAND, 0) == {fm.JP_LAND_K, fm.JP_EEZ_K}
    assert fm.true_kinds(JP_EEZ, LAND | KR_LAND) == {fm.JP_EEZ_K, fm.KR_OVER_K}
    assert fm.true_kinds(0, LAND | JP_LAND) == {fm.JP_OVER_K}
    assert fm.true_kinds(0, LAND) == frozenset()  # launched from land of neither nation, lands in open sea
    grid = AreaMap.load()
    tokyo, seoul = grid.flags_at(np.array([35.68, 37.57]), np.array([139.69, 126.98]))
    assert fm.true_kinds(int(tokyo), 0) == {fm.JP_LAND_K, fm.JP_EEZ_K}
    assert fm.true_kinds(int(seoul), 0) == {fm.KR_LAND_K}


def test_segments_hold_until_the_next_change_and_close_on_ended() -> None:
    rows = [
        fm.WarningRow(10.0, "us", "1", "1", "WARNING_LEVEL_WATCH", "STATE_NEW", (fm.JP_EEZ_K,)),
        fm.WarningRow(10.0, "jp", "1", "1", "WARNING_LEVEL_WATCH", "STATE_NEW", (fm.JP_EEZ_K,)),
        fm.WarningRow(15.0, "us", "1", "1", "WARNING_LEVEL_WARNING", "STATE_UPDATED", (fm.JP_LAND_K,)),
        fm.WarningRow(20.0, "us", "1", "1", "WARNING_LEVEL_WARNING", "STATE_ENDED", (fm.JP_LAND_K,)),
        fm.WarningRow(30.0, "us", "2", "4", "WARNING_LEVEL_NONE", "STATE_NEW", ()),
    ]
    segs = fm.segments(rows, "us", 40.0)
    assert [(s.warning_id, s.t0_s, s.t1_s, s.level, s.raised) for s in segs] == [
        ("1", 10.0, 15.0, "WARNING_LEVEL_WATCH", True),
        ("1", 15.0, 20.0, "WARNING_LEVEL_WARNING", True),
        ("2", 30.0, 40.0, "WARNING_LEVEL_NONE", False),
    ]


def _seg(wid: str, track: str, t0: float, t1: float, level: str, *areas: str) -> fm.Segment:
    return fm.Segment("us", wid, track, t0, t1, f"WARNING_LEVEL_{level}", areas)


def test_warning_scores_on_a_known_story() -> None:
    missiles = {
        "a": fm.Missile("a", (35.7, 139.7, 100.0), LAUNCH, 20.0, fm.true_kinds(LAND | JP_LAND, 0)),  # Japanese land
        "b": fm.Missile("b", (40.0, 132.0, 100.0), LAUNCH, 20.0, frozenset()),  # open sea
        "c": fm.Missile("c", (39.0, 134.0, 100.0), LAUNCH, 20.0, fm.true_kinds(JP_EEZ, 0)),  # Japan's EEZ
    }
    times = [float(t) for t in range(121)]
    table = fm.owners([row(t, tr, o) for t in times for tr, o in (("1", "a"), ("2", "b"), ("3", "c"))])
    segs = [
        _seg("1", "1", 10, 30, "WATCH", fm.JP_EEZ_K),  # a: WATCH first (not yet a correct land warning)
        _seg("1", "1", 30, 50, "WARNING", fm.JP_LAND_K),  # a: the correct warning from 30 s
        _seg("5", "1", 50, 120, "WARNING", fm.JP_LAND_K),  # a: re-issued under a new id
        _seg("2", "2", 10, 25, "WARNING", fm.KR_LAND_K),  # b: a false land warning, 4 s of it after burnout
        _seg("2", "2", 25, 40, "WATCH", fm.JP_EEZ_K),  # b: a false EEZ watch
        _seg("3", "3", 0, 120, "NONE", fm.JP_EEZ_K),  # c: tracked, never raised: missed
        _seg("4", "4", 0, 10, "WATCH", fm.JP_OVER_K),  # a track that is no missile
    ]
    out = fm.warning_scores(segs, table, missiles, times)
    a, b, c = (out["per_missile"][k] for k in "abc")
    assert (a["lead_s"], a["missed"], a["warning_ids"], a["warning_id_changes"]) == (70.0, False, [1, 5], 1)
    assert a["false_s"] == {"land": 0.0, "eez": 0.0, "overflight": 0.0}
    assert b["false_s"] == {"land": 15.0, "eez": 15.0, "overflight": 0.0}
    assert b["false_land_after_burnout_s"] == 4.0
    assert (b["must_warn"], b["missed"], b["lead_s"]) == (False, False, None)
    assert (c["must_warn"], c["missed"], c["lead_s"], c["warning_ids"]) == (True, True, None, [3])
    assert out["false_s_no_missile"] == {"land": 0.0, "eez": 0.0, "overflight": 10.0}
    assert a["warning_id_changes_at_groups"] == 0  # no object counts given: no track stood for a group


def test_warning_id_changes_at_groups() -> None:
    """Group track 1 (2 objects until 40 s) under warning 1 is matched to missile b until 50 s and to a after
    it; b has its own track 2 (warning 2) from 50 s: a change at a group. Missile a gets warning 1 at 50 s
    (its first: no change). Missile c's warning 3 is re-issued as 4 on its lone track 3: not at a group."""
    missiles = {k: fm.Missile(k, (40.0, 132.0, 200.0), LAUNCH, 20.0, frozenset()) for k in "abc"}
    times = [float(t) for t in range(101)]
    table = fm.owners(
        [row(t, "1", "b" if t < 50 else "a") for t in times]
        + [row(t, "2", "b") for t in times if t >= 50]
        + [row(t, "3", "c") for t in times]
    )
    segs = [_seg("1", "1", 0, 100, "NONE"), _seg("2", "2", 50, 100, "NONE")]
    segs += [_seg("3", "3", 0, 60, "NONE"), _seg("4", "3", 60, 100, "NONE")]
    objects = {
        "1": (np.array([0.0, 40.0, 60.0]), np.array([2, 2, 1])),
        "2": (np.array([50.0]), np.array([1])),
        "3": (np.array([0.0, 60.0]), np.array([1, 1])),
    }
    out = fm.warning_scores(segs, table, missiles, times, objects=objects)["per_missile"]
    assert [out[k]["warning_ids"] for k in "abc"] == [[1], [1, 2], [3, 4]]
    assert [out[k]["warning_id_changes_at_groups"] for k in "abc"] == [0, 1, 0]
    assert fm.stood_for_group(objects, "1", 45.0) and not fm.stood_for_group(objects, "1", 60.0)
    assert not fm.stood_for_group(objects, "1", -1.0) and not fm.stood_for_group(objects, "9", 10.0)


def test_pool_means_recordings_and_pools_missiles() -> None:
    def rec(completeness: float, launch: dict, lead: float | None, missed: bool) -> dict:
        per = {"x": {"lead_s": lead, "must_warn": True, "missed": missed, "warning_id_changes": 1,
                     "false_s": {"land": 2.0, "eez": 0.0, "overflight": 0.0},
                     "false_land_after_burnout_s": 1.0 if missed else 0.0}}  # fmt: skip
        return {
            "missiles": 1, "completeness": completeness, "ambiguity": 1.0, "spuriousness": 0.0,
            "number_changes_per_missile": 0.0, "number_changes_at_groups_per_missile": 1.0 if missed else 0.0,
            "numbers_passed": [{}] if missed else [], "number_hops": [{}, {}],
            "launch": launch,
            "impact_60s_km": {"x": 1.0}, "radii_after_boost": [0.2, 1.5] if missed else [0.5],
            "warnings": {"per_missile": per, "false_s_no_missile": {"land": 0.0, "eez": 1.0, "overflight": 0.0}},
        }  # fmt: skip

    out = fm.pool([rec(1.0, {"x": [1.0, 2.0]}, 50.0, False), rec(0.5, {}, None, True)])
    assert out["completeness"] == 0.75 and out["missiles"] == 2
    assert (out["numbers_passed"], out["number_hops"]) == (1, 4)
    assert out["number_changes_at_groups_per_missile"] == 0.5
    assert out["launch_missing"] == 1 and out["launch_km_p95"] == 1.0
    assert out["coverage_after_boost"] == pytest.approx(2 / 3)
    assert out["median_radius_after_boost"] == 0.5
    assert (out["must_warn"], out["missed"], out["lead_s_median"]) == (2, 1, 50.0)
    assert out["false_s"]["land"] == 4.0 and out["false_s_per_missile"]["land"] == 2.0
    assert out["false_s_no_missile"]["eez"] == 2.0
    assert out["false_land_after_burnout_share"] == 0.5
    assert out["warning_id_changes_per_missile"] == 1.0
    assert out["warning_id_changes_at_groups_per_missile"] == 0.0  # (records without the figure count none)


# ---- a real recording ----------------------------------------------------------------------------------------


def test_score_a_replayed_generated_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "thin.toml"
    scenario.write_text(generate("thin-coverage", 1).toml())  # one hwasong-12 seen by US sensors only
    assert main(["replay", str(scenario), "--fast", "--record", str(tmp_path / "rec")]) == 0
    r = fm.score_recording(tmp_path / "rec")
    assert r["missiles"] == 1
    assert 0.0 <= r["completeness"] <= 1.0 and r["ambiguity"] >= 1.0
    (m,) = r["warnings"]["per_missile"].values()
    assert m["must_warn"] == (fm.JP_EEZ_K in m["kinds"] or fm.KR_LAND_K in m["kinds"] or fm.JP_LAND_K in m["kinds"])
    pooled = fm.pool([r])
    assert pooled["rows_after_boost"] > 0 and 0.0 <= pooled["coverage_after_boost"] <= 1.0


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benches" / "quality_families.py"
    spec = importlib.util.spec_from_file_location("quality_families", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_family_benchmark_on_one_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    out = tmp_path / "q.json"
    args = ["--families", "thin-coverage", "--seeds", "1", "--jobs", "1", "--work", str(tmp_path / "w")]
    assert bench.main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "thin-coverage seed 1: 1 missile(s)" in text and "lp95km" in text
    result = json.loads(out.read_text())
    (row,) = result["families"]
    assert row["family"] == "thin-coverage" and row["seeds"] == [1] and row["missiles"] == 1
    assert set(row["meets"]) == set(bench.TARGETS)
    assert (tmp_path / "w" / "thin-coverage" / "seed-0001.toml").read_text() == generate("thin-coverage", 1).toml()
    # scoring again without replaying gives the same figures
    assert bench.main([*args, "--no-replay", "--out", str(out)]) == 0
    again = json.loads(out.read_text())["families"][0]
    assert again["completeness"] == row["completeness"] and again["lead_s_median"] == row["lead_s_median"]


def test_the_benchmark_tells_scenarios_without_infrared(tmp_path: Path) -> None:
    bench = _bench()
    for seed, infrared in ((1, True), (8, False), (6, False)):  # US sensors only; IR out; Japan's sensors only
        path = tmp_path / f"thin-{seed}.toml"
        path.write_text(generate("thin-coverage", seed).toml())
        assert bench.has_infrared(str(path)) is infrared
