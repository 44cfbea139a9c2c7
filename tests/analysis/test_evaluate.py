"""``triwarn evaluate`` on small synthetic recordings whose scores are known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pymap3d
import pytest

from triwarn.analysis.evaluate import evaluate, evaluate_runs, format_table
from triwarn.analysis.fusion_gain import fused_versus_single
from triwarn.analysis.recording import EvaluationError, read_picture, read_truth
from triwarn.cli.main import main

STEPS = 12


def _truth_rows() -> list[tuple[float, int, np.ndarray]]:
    rows = []
    for k in range(STEPS):
        t = 100.0 + 0.5 * k
        for obj in range(3):
            x = np.array([6.4e6 + 1e5 * obj + 3000.0 * t, 2e5 * obj, 3e6, 3000.0, 0.0, -10.0 * obj])
            rows.append((t, obj, x))
    return rows


def _write(d: Path, truth: list, picture: list) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    with (d / "truth.csv").open("w") as f:
        f.write("t_s,object_id,x_m,y_m,z_m,vx_m_s,vy_m_s,vz_m_s\n")
        for t, obj, x in truth:
            f.write(f"{t:.3f},{obj}," + ",".join(f"{v:.6f}" for v in x) + "\n")
    with (d / "picture.csv").open("w") as f:
        f.write("t_s,view,track_id,x_m,y_m,z_m,vx_m_s,vy_m_s,vz_m_s\n")
        for t, view, tid, x in picture:
            f.write(f"{t},{view},{tid}," + ",".join(repr(float(v)) for v in x) + "\n")
    return d


def _perfect(view: str = "us", offset_m: float = 0.0) -> list:
    return [(t, view, 10 + obj, x + np.array([offset_m, 0, 0, 0, 0, 0])) for t, obj, x in _truth_rows()]


def test_a_perfect_picture_scores_perfectly(tmp_path: Path) -> None:
    d = _write(tmp_path, _truth_rows(), _perfect())
    m = evaluate(d)["views"]["us"]
    assert m["SIAP Completeness"] == 1.0
    assert m["SIAP Ambiguity"] == 1.0
    assert m["SIAP Spuriousness"] == 0.0
    assert m["SIAP Position Accuracy"] == pytest.approx(0.0, abs=1e-6)
    assert m["SIAP Rate of Track Number Change"] == 0.0
    assert m["SIAP Longest Track Segment"] == 1.0
    assert m["OSPA mean"] == pytest.approx(0.0, abs=1e-6)


def test_errors_spurious_tracks_missing_objects_and_number_changes(tmp_path: Path) -> None:
    truth = _truth_rows()
    # view "jp": every object 40 m off along x, plus one spurious track 900 km away all the time
    jp = _perfect("jp", offset_m=40.0)
    jp += [(t, "jp", 99, x + np.array([9e5, 0, 0, 0, 0, 0])) for t, obj, x in truth if obj == 0]
    # view "kr": object 2 is never tracked; object 1 changes track number half way
    kr = [
        (t, "kr", (11 if t < 100.0 + 0.5 * STEPS / 2 else 21) if obj == 1 else 10, x) for t, obj, x in truth if obj != 2
    ]
    d = _write(tmp_path, truth, jp + kr)
    views = evaluate(d)["views"]
    assert views["jp"]["SIAP Completeness"] == 1.0
    assert views["jp"]["SIAP Spuriousness"] == pytest.approx(1 / 4)
    assert views["jp"]["SIAP Position Accuracy"] == pytest.approx(40.0, rel=1e-6)
    assert views["kr"]["SIAP Completeness"] == pytest.approx(2 / 3)
    assert views["kr"]["SIAP Spuriousness"] == 0.0
    assert views["kr"]["SIAP Rate of Track Number Change"] > 0.0
    assert views["kr"]["number changes per object"] == pytest.approx(1 / 2)  # object 1: one change
    assert views["kr"]["SIAP Longest Track Segment"] < 1.0


def test_subsampling_keeps_common_times(tmp_path: Path) -> None:
    d = _write(tmp_path, _truth_rows(), _perfect())
    r = evaluate(d, max_steps=4)
    assert r["steps"] == 4
    assert r["views"]["us"]["SIAP Completeness"] == 1.0


def test_command_line_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _write(tmp_path, _truth_rows(), _perfect())
    assert main(["evaluate", str(d), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["objects"] == 3 and out["views"]["us"]["SIAP Completeness"] == 1.0
    assert main(["evaluate", str(d)]) == 0
    text = capsys.readouterr().out
    assert "view us" in text and "completeness" in text
    assert format_table(out).splitlines()[0] in text


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "truth.csv").unlink(), "file not found"),
        (lambda d: (d / "picture.csv").write_text("t_s,view,x_m\n"), "missing column(s) track_id"),
        (lambda d: (d / "truth.csv").write_text((d / "truth.csv").read_text().replace("100.000", "abc", 1)), ":2: t_s"),
        (
            lambda d: (d / "truth.csv").write_text((d / "truth.csv").read_text().replace("100.000,", "nan,", 1)),
            "not finite",
        ),
    ],
)
def test_bad_recordings_give_precise_errors(tmp_path: Path, mutate, message: str) -> None:
    d = _write(tmp_path, _truth_rows(), _perfect())
    mutate(d)
    with pytest.raises(EvaluationError) as err:
        evaluate(d)
    assert message in str(err.value)


def test_a_picture_off_the_truth_clock_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shifted = [(t + 0.3, v, tid, x) for t, v, tid, x in _perfect()]
    d = _write(tmp_path, _truth_rows(), shifted)
    assert main(["evaluate", str(d)]) == 2
    assert "same evaluation clock" in capsys.readouterr().err


def test_scoring_from_the_first_track(tmp_path: Path) -> None:
    # the picture starts tracking every object only at the 5th step: completeness 7/12 overall, 1 from then on
    late = [(t, v, tid, x) for t, v, tid, x in _perfect() if t >= 100.0 + 0.5 * 5]
    d = _write(tmp_path, _truth_rows(), late)
    assert evaluate(d)["views"]["us"]["SIAP Completeness"] == pytest.approx(7 / 12)
    r = evaluate(d, from_first_track=True)
    assert r["views"]["us"]["SIAP Completeness"] == 1.0 and r["from_first_track"]


def test_held_only_scores_the_times_some_nation_holds_a_track(tmp_path: Path) -> None:
    # the picture has a gap at steps 4-7, exactly when (says truth.csv) no nation held a track
    gap = {100.0 + 0.5 * k for k in range(4, 8)}
    picture = [(t, v, tid, x) for t, v, tid, x in _perfect() if t not in gap]
    d = _write(tmp_path, _truth_rows(), picture)
    lines = (d / "truth.csv").read_text().splitlines()
    out = [lines[0] + ",held"]
    for line in lines[1:]:
        out.append(line + (",0" if float(line.split(",")[0]) in gap else ",1"))
    (d / "truth.csv").write_text("\n".join(out) + "\n")
    assert evaluate(d)["views"]["us"]["SIAP Completeness"] == pytest.approx(8 / 12)
    r = evaluate(d, held_only=True)
    assert r["views"]["us"]["SIAP Completeness"] == 1.0
    assert r["views"]["us"]["number changes per object"] == 0.0
    (d / "truth.csv").write_text("\n".join([*out[:2], out[2].rsplit(",", 1)[0] + ",maybe"]) + "\n")
    with pytest.raises(EvaluationError, match="held = 'maybe'"):
        evaluate(d, held_only=True)


# ----------------------------------------------------------------------------------------------------------
# impact point, launch point, first impact prediction, Monte Carlo runs (issue 6 item 6)
# ----------------------------------------------------------------------------------------------------------

IMPACT = (40.0, 135.0, 405.0)  # true impact lat, lon, time (s)
LAUNCH = (39.0, 127.5, 0.0)


def _geodetic_at(lat_deg: float, lon_deg: float, east_m: float, north_m: float) -> tuple[float, float]:
    lat, lon, _ = pymap3d.enu2geodetic(east_m, north_m, 0.0, lat_deg, lon_deg, 0.0)
    return float(lat), float(lon)


def _write_assessed(d: Path, orientation_deg: float = 0.0, first_ipp_step: int = 2) -> Path:
    """One object; track 7 follows it with an impact prediction 10 km north of the true impact (95% ellipse
    20 x 5 km, major axis at ``orientation_deg``) from step ``first_ipp_step`` on, and a launch estimate 5 km east
    of the true launch point, 3 s late; track 99 is 900 km away (never matched) and claims a perfect impact."""
    d.mkdir(parents=True, exist_ok=True)
    ipp_lat, ipp_lon = _geodetic_at(IMPACT[0], IMPACT[1], 0.0, 10_000.0)
    lp_lat, lp_lon = _geodetic_at(LAUNCH[0], LAUNCH[1], 5_000.0, 0.0)
    truth = [
        "t_s,object_id,x_m,y_m,z_m,vx_m_s,vy_m_s,vz_m_s,phase,impact_lat_deg,impact_lon_deg,impact_t_s,"
        "launch_lat_deg,launch_lon_deg,launch_t_s,held"
    ]
    picture = [
        "t_s,view,track_id,x_m,y_m,z_m,vx_m_s,vy_m_s,vz_m_s,nations,ipp_lat_deg,ipp_lon_deg,ipp_time_s,"
        "ipp_semi_major_m,ipp_semi_minor_m,ipp_orientation_deg,lp_lat_deg,lp_lon_deg,lp_time_s"
    ]
    for t, obj, x in _truth_rows():
        if obj != 0:
            continue
        state = ",".join(f"{v:.3f}" for v in x)
        truth.append(f"{t:.3f},a,{state},2,{IMPACT[0]},{IMPACT[1]},{IMPACT[2]},{LAUNCH[0]},{LAUNCH[1]},{LAUNCH[2]},1")
        k = round((t - 100.0) / 0.5)
        ipp = f"{ipp_lat},{ipp_lon},405,20000,5000,{orientation_deg}" if k >= first_ipp_step else ",,,,,"
        picture.append(f"{t:.3f},us,7,{state},us,{ipp},{lp_lat},{lp_lon},3.0")
        far = ",".join(f"{v:.3f}" for v in x + np.array([9e5, 0, 0, 0, 0, 0]))
        picture.append(f"{t:.3f},us,99,{far},us,{IMPACT[0]},{IMPACT[1]},405,20000,5000,0,,,")
    (d / "truth.csv").write_text("\n".join(truth) + "\n")
    (d / "picture.csv").write_text("\n".join(picture) + "\n")
    return d


def test_impact_and_launch_errors_on_a_known_recording(tmp_path: Path) -> None:
    a = evaluate(_write_assessed(tmp_path), max_steps=0)["views"]["us"]["assessment"]
    rows = STEPS - 2  # track 7 from step 2 on; track 99 is never matched
    assert a["impact"]["n"] == rows and a["coverage"] == 1.0  # 10 km north inside a 20 km north-south semi-axis
    assert a["rows_after_boost"] == rows and a["coverage_after_boost"] == 1.0  # phase 2 (midcourse) throughout
    # times 101 .. 105.5 s: time to go 304 .. 299.5 s, all within the 300 s window (+-5 s)
    at300 = a["impact_at_tgo"]["300"]
    assert at300["n"] == rows
    assert at300["mean_km"] == pytest.approx(10.0, abs=1e-3) and at300["max_km"] == pytest.approx(10.0, abs=1e-3)
    assert a["impact_at_tgo"]["60"]["n"] == 0
    # the latest prediction at 300 s to go is the one of t = 105 s (age 0); at 60 s to go the last one, from
    # t = 105.5 s, 239.5 s old (no track after it)
    latest = a["impact_latest_at_tgo"]
    assert latest["300"]["n"] == 1 and latest["300"]["max_age_s"] == pytest.approx(0.0)
    assert latest["60"]["mean_km"] == pytest.approx(10.0, abs=1e-3)
    assert latest["60"]["max_age_s"] == pytest.approx(405.0 - 60.0 - 105.5)
    (bin_300,) = [b for b in a["impact"]["bins"] if b["tgo_s"][0] == 300.0]
    assert bin_300["n"] == sum(1 for k in range(2, STEPS) if 405.0 - (100.0 + 0.5 * k) >= 300.0)
    for which in ("all", "last", "primary"):
        assert a["launch"][which]["mean_km"] == pytest.approx(5.0, abs=1e-3)
        assert a["launch"][which]["time_mean_s"] == pytest.approx(3.0)
    assert a["launch"]["all"]["n"] == STEPS and a["launch"]["last"]["n"] == 1
    assert a["first_impact_delay_s"]["per_object"] == {"a": pytest.approx(1.0)}  # 2 steps of 0.5 s


def test_an_ellipse_across_the_error_does_not_cover_it(tmp_path: Path) -> None:
    # major axis east-west: the 10 km north error is outside the 5 km north-south semi-axis
    a = evaluate(_write_assessed(tmp_path, orientation_deg=90.0))["views"]["us"]["assessment"]
    assert a["coverage"] == 0.0 and a["impact"]["n"] == STEPS - 2


def test_monte_carlo_runs_are_pooled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_assessed(tmp_path / "run-001", orientation_deg=0.0)  # covered
    _write_assessed(tmp_path / "run-002", orientation_deg=90.0)  # not covered
    r = evaluate_runs(tmp_path)
    us = r["views"]["us"]
    assert r["runs"] == 2 and us["coverage_per_run"] == [1.0, 0.0]
    assert us["assessment"]["coverage"] == pytest.approx(0.5)
    assert us["assessment"]["launch"]["last"]["n"] == 2  # one latest estimate per run
    assert us["SIAP Completeness"] == 1.0
    assert main(["evaluate", str(tmp_path), "--runs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["views"]["us"]["assessment"]["coverage"] == 1.0
    assert main(["evaluate", str(tmp_path)]) == 0
    assert "per run 1.000, 0.000" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path), "--runs", "3"]) == 2
    assert "--runs 3 asked, 2 run(s) recorded" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvaluationError, match=r"neither truth\.csv nor run-"):
        evaluate_runs(tmp_path / "empty")


def test_fused_error_against_single_nations(tmp_path: Path) -> None:
    truth = read_truth(_write(tmp_path, _truth_rows(), _perfect("us", offset_m=30.0)) / "truth.csv")
    fused = read_picture(tmp_path / "picture.csv")["us"]
    _write(tmp_path / "none", _truth_rows(), _perfect("us", offset_m=80.0) + _perfect("jp", offset_m=50.0)[:6])
    singles = read_picture(tmp_path / "none" / "picture.csv")
    r = fused_versus_single(truth, fused, singles)
    assert r["best_nation"] == "jp" and r["n"] == 6
    assert r["fused_mean_m"] == pytest.approx(30.0) and r["best_mean_m"] == pytest.approx(50.0)
    assert r["ratio"] == pytest.approx(0.6)
    assert r["oracle"]["best_mean_m"] == pytest.approx((6 * 50.0 + 30 * 80.0) / 36)
