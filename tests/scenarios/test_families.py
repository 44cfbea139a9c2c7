"""Scenario families: every generated file validates and flies, respects its family's bounds, and is the same
for the same seed (property tests over seeds)."""

from __future__ import annotations

import itertools
import json
import tomllib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triwarn.cli.main import main
from triwarn.core.assessment.areas import AreaMap
from triwarn.scenarios import families as fam
from triwarn.scenarios.scenario_file import Scenario, parse_scenario
from triwarn.sensors.sim.catalog import load_catalog

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
#: every example plans and flies all its launches (about 0.3 s per distinct launch)
FEW = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def flown(family: str, seed: int) -> Scenario:
    """The generated file, parsed as `triwarn scenario validate` parses it, and flown."""
    text = fam.generate(family, seed).toml()
    sc = parse_scenario(tomllib.loads(text), f"{family}-{seed}")
    sc.truth()  # raises ScenarioError when a launch cannot be flown
    return sc


def aim_kinds(sc: Scenario) -> set[str | None]:
    truth = sc.truth()
    flags = AreaMap.load().flags_at(truth.impact_lat_deg, truth.impact_lon_deg)
    return {fam.aim_kind_of(int(f)) for f in flags}


@FEW
@given(seed=SEEDS)
def test_raid_bounds(seed: int) -> None:
    sc = flown("raid", seed)
    n = len(sc.launches)
    assert 10 <= n <= 30
    t = np.array([ln.time_s for ln in sc.launches])
    assert t.max() - t.min() < fam.RAID_WINDOW_S
    assert 2 <= len({(ln.launch_lat_deg, ln.launch_lon_deg) for ln in sc.launches}) <= 6
    classes = {ln.missile for ln in sc.launches}
    assert classes <= set(fam.SHORT + fam.MEDIUM)
    assert classes & set(fam.SHORT) and classes & set(fam.MEDIUM)  # mixed
    launchers: dict[str, list[float]] = defaultdict(list)
    for ln in sc.launches:
        launchers[ln.object_id.split("-")[0]].append(ln.time_s)
    sizes = [len(v) for v in launchers.values()]
    assert max(sizes) >= 2 and all(s <= 6 for s in sizes)  # at least one ripple, none larger than 6
    for times in launchers.values():
        gaps = np.diff(sorted(times))
        assert np.all((gaps >= 2.0 - 1e-9) & (gaps <= 10.0 + 1e-9))
    # every missile lands where it was aimed: open Sea of Japan, ROK land or Japan's EEZ (a grid cell away
    # from the aim at most: the planner hits the aim point to metres, the kind test is per cell)
    for ln in sc.launches:
        assert fam.aim_kind_of(int(AreaMap.load().flags_at(np.array([ln.aim_lat_deg]), np.array([ln.aim_lon_deg]))[0]))
    assert aim_kinds(sc) <= {*fam.AIM_KINDS, None}


@FEW
@given(seed=SEEDS)
def test_close_pair_bounds(seed: int) -> None:
    sc = flown("close-pair", seed)
    a, b = sc.launches
    assert a.missile == b.missile and a.missile in fam.CLOSE_PAIR_CLASSES
    assert (a.launch_lat_deg, a.launch_lon_deg) == (b.launch_lat_deg, b.launch_lon_deg)
    assert 5.0 <= b.time_s - a.time_s <= 60.0
    assert a.azimuth_deg is not None and b.azimuth_deg is not None
    assert abs(b.azimuth_deg - a.azimuth_deg) <= 3.0 + 1e-9
    assert (a.shape, a.apogee_km, a.range_km) == (b.shape, b.apogee_km, b.range_km)


def test_close_pair_spans_srbm_to_icbm_lofted_or_not() -> None:
    drawn = [fam.generate("close-pair", s).shots[0] for s in range(20)]  # seeds 0-19 hold both ends
    classes = {s.missile for s in drawn}
    assert classes & set(fam.SHORT) and classes & set(fam.ICBM)
    lofted = {s.shape == "lofted" or s.apogee_km is not None for s in drawn}
    assert lofted == {True, False}


@FEW
@given(seed=SEEDS)
def test_thin_coverage_bounds(seed: int) -> None:
    g = fam.generate("thin-coverage", seed)
    sc = flown("thin-coverage", seed)
    assert len(sc.launches) == 1
    chosen = set(sc.sensor_ids)
    assert chosen < set(fam.SENSORS)
    nations = {fam.SENSORS[s][0] for s in chosen}
    roles_out = {fam.SENSORS[s] for s in set(fam.SENSORS) - chosen}
    one_nation = len(nations) == 1 and chosen == {s for s, (n, _) in fam.SENSORS.items() if n in nations}
    no_ir = {r for _, r in roles_out} == {"ir"} and all(r != "ir" for _, r in (fam.SENSORS[s] for s in chosen))
    no_forward = {r for _, r in roles_out} == {"ground"} and len({n for n, _ in roles_out}) == 1
    assert one_nation or no_ir or no_forward
    assert g.notes and g.notes[0].startswith("mode = ")


def test_thin_coverage_draws_every_mode() -> None:
    modes = {fam.generate("thin-coverage", s).notes[0].split(",")[0] for s in range(30)}
    assert modes == {f"mode = {m}" for m in fam.THIN_MODES}


def _near_coast_km(lat: float, lon: float) -> float:
    pts = []
    for coast in (fam.EAST_COAST, fam.WEST_COAST):
        for (la0, lo0), (la1, lo1) in itertools.pairwise(coast):
            f = np.linspace(0.0, 1.0, 50)
            pts += list(zip(la0 + f * (la1 - la0), lo0 + f * (lo1 - lo0), strict=True))
    return min(fam.distance_km(lat, lon, la, lo) for la, lo in pts)


@FEW
@given(seed=SEEDS)
def test_launch_anywhere_bounds(seed: int) -> None:
    sc = flown("launch-anywhere", seed)
    assert 1 <= len(sc.launches) <= 3
    for ln in sc.launches:
        assert ln.azimuth_deg is not None and 90.0 <= ln.azimuth_deg <= 180.0
        if (ln.launch_lat_deg, ln.launch_lon_deg) == fam.SOHAE:
            assert ln.missile == fam.SLV_CLASS and 170.0 <= ln.azimuth_deg <= 180.0
        else:
            assert _near_coast_km(ln.launch_lat_deg, ln.launch_lon_deg) <= fam.ANYWHERE_SEA_KM[1] + 1.0


def test_launch_anywhere_covers_both_coasts_the_sea_and_southward_slv_shots() -> None:
    drawn = [s for seed in range(20) for s in fam.generate("launch-anywhere", seed).shots]
    notes = {s.note.split(" (")[0] for s in drawn}
    assert {"on the east coast", "on the west coast", "at sea off the east coast", "at sea off the west coast"} <= notes
    slv = [s for s in drawn if s.missile == fam.SLV_CLASS and (s.lat_deg, s.lon_deg) == fam.SOHAE]
    assert slv
    # southward over the East China Sea: the impact of a stand-in SLV lies south of 30 N, west of 135 E
    shot = slv[0]
    lat, lon = fam.destination(shot.lat_deg, shot.lon_deg, shot.azimuth_deg or 0.0, shot.range_km or 0.0)
    assert lat < 30.0 and lon < 135.0


@pytest.mark.parametrize("family", fam.FAMILIES)
def test_same_seed_same_file_other_seed_other_file(family: str) -> None:
    assert fam.generate(family, 3).toml() == fam.generate(family, 3).toml()
    assert fam.generate(family, 3).toml() != fam.generate(family, 4).toml()


def test_bad_family_and_seed() -> None:
    with pytest.raises(fam.FamilyError, match="unknown family 'nope'; expected one of raid"):
        fam.generate("nope", 1)
    with pytest.raises(fam.FamilyError, match="seed -1 is not an integer >= 0"):
        fam.generate("raid", -1)


def test_sensor_table_matches_the_sensor_catalog() -> None:
    cat = load_catalog()
    assert set(fam.SENSORS) == set(cat.ids)
    for s in cat.sensors:
        nation, role = fam.SENSORS[s.id]
        assert nation == s.nation
        assert (role == "ir") == (s.kind == "ir")


def test_cli_generate_writes_a_file_validate_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pair.toml"
    assert main(["scenario", "generate", "close-pair", "--seed", "5", "--out", str(out)]) == 0
    assert out.read_text() == fam.generate("close-pair", 5).toml()
    capsys.readouterr()
    assert main(["scenario", "validate", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is True and result["name"] == "close-pair-5" and len(result["flights"]) == 2
    assert main(["scenario", "generate", "close-pair", "--seed", "5"]) == 0
    assert capsys.readouterr().out == out.read_text()
    assert main(["scenario", "generate", "swarm", "--seed", "5"]) == 2
    assert "unknown family 'swarm'" in capsys.readouterr().err
