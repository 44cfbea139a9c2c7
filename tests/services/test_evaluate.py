"""``triwarn evaluate`` on small synthetic recordings whose scores are known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from triwarn.services.cli import main
from triwarn.services.evaluate import EvaluationError, evaluate, format_table

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
