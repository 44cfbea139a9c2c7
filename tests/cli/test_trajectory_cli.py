"""`triwarn trajectory` and `triwarn scenario`: JSON keys, auto-picked class, clear errors, validate/list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triwarn.cli.main import main


def test_trajectory_json_picks_a_class(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["trajectory", "--launch", "39.17,127.48", "--impact", "39.6,131.2", "--apogee-km", "90", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    for key in ("apogee_km", "range_km", "flight_time_s", "impact_lat_deg", "impact_lon_deg"):
        assert isinstance(out[key], float)
    assert out["apogee_km"] == pytest.approx(90.0, abs=0.01)
    assert out["impact_lat_deg"] == pytest.approx(39.6, abs=1e-3)
    assert out["chosen_automatically"] is True


def test_trajectory_refuses_with_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["trajectory", "--launch", "39.17,127.48", "--impact", "39.6,131.2", "--missile", "kn-25", "--json"]
    assert main([*args, "--apogee-km", "5000"]) == 2
    assert "beyond what kn-25 can reach" in json.loads(capsys.readouterr().out)["error"]
    assert main(["trajectory", "--launch", "39.17,nan", "--impact", "39.6,131.2", "--json"]) == 2
    assert "launch longitude must be a finite number" in json.loads(capsys.readouterr().out)["error"]
    assert main(["trajectory", "--launch", "39.17", "--impact", "39.6,131.2"]) == 2
    assert "LAT,LON" in capsys.readouterr().err  # an error message goes to stderr (JSON errors stay on stdout)


def test_scenario_list_and_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "list", "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert "demo" in names and len(names) >= 9
    assert main(["scenario", "validate", "demo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] and len(out["flights"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('format_version = 1\nname = "x"\nepoch = 2020-01-01T00:00:00Z\nsensors = ["a"]\n')
    assert main(["scenario", "validate", str(bad)]) == 1
    msg = capsys.readouterr().out
    assert str(bad) in msg and "launch: no [[launch]] tables; expected at least one [[launch]] table" in msg
