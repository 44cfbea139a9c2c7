"""The sensor catalog: the shipped file is complete and labelled; broken files give precise errors."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

from triwarn.sensors.sim.catalog import SensorCatalogError, default_catalog_path, load_catalog

PUBLIC_SITES = {
    # sensors-and-mechanism.md: approximate public coordinates (deg)
    "us-tpy2-shariki": (40.9, 140.3),
    "us-tpy2-kyogamisaki": (35.77, 135.21),
    "us-tpy2-seongju": (35.97, 128.15),
    "jp-fps5-shimokoshiki": (31.7, 129.8),
    "jp-fps5-sado": (38.0, 138.3),
    "jp-fps5-ominato": (41.3, 141.1),
    "jp-fps5-yozadake": (26.1, 127.7),
    "kr-greenpine-chungcheong": (36.5, 127.5),
    "kr-greenpine-busan": (35.1, 129.0),
}


def test_default_catalog_has_the_public_sites_of_each_nation() -> None:
    cat = load_catalog()
    for sid, (lat, lon) in PUBLIC_SITES.items():
        s = cat[sid]
        assert math.degrees(s.lat_rad) == pytest.approx(lat, abs=0.01)
        assert math.degrees(s.lon_rad) == pytest.approx(lon, abs=0.01)
        assert s.kind == "radar"
    kinds = {(s.nation, s.kind) for s in cat.sensors}
    assert {("us", "radar"), ("us", "ir"), ("jp", "radar"), ("kr", "radar")} <= kinds
    assert len([s for s in cat.sensors if s.kind == "ir"]) >= 2  # triangulation needs two satellites
    for nation in ("us", "jp", "kr"):
        assert any("aegis" in s.id for s in cat.of_nation(nation))
    # Seongju's 5° mask is the one published operating constraint
    assert math.degrees(cat["us-tpy2-seongju"].elevation_mask_rad) == pytest.approx(5.0)


def test_every_sensor_is_labelled_an_assumption_in_the_file() -> None:
    text = default_catalog_path().read_text()
    doc = tomllib.loads(text)
    for table in doc["sensor"]:
        assert table["assumption"] is True
    assert text.count("# assumption: not a published figure") == len(doc["sensor"])


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "bad.toml"
    p.write_text(body)
    return p


GOOD = """
[[sensor]]
id = "x-radar"
nation = "jp"
kind = "radar"
public = "test"
assumption = true
lat_deg = 35.0
lon_deg = 135.0
h_m = 10.0
sigma_range_m = 10.0
sigma_az_mrad = 1.0
sigma_el_mrad = 1.0
sigma_range_rate_m_s = 0.0
max_range_km = 1000.0
elevation_mask_deg = 2.0
revisit_s = 1.0
scan_offset_s = 0.0
pd = 0.9
false_alarms_per_scan = 0.5
bias_range_m = 0.0
bias_az_mrad = 0.0
bias_el_mrad = 0.0
latency_s = 1.0
"""


def test_a_good_minimal_file_loads(tmp_path: Path) -> None:
    cat = load_catalog(_write(tmp_path, GOOD))
    assert cat.ids == ("x-radar",)
    assert cat["x-radar"].max_range_m == 1.0e6
    assert cat["x-radar"].sigma_az_rad == pytest.approx(1e-3)


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (("pd = 0.9", "pd = 1.5"), ["sensor 'x-radar'", "key 'pd'", "[0, 1]", "1.5"]),
        (("sigma_range_m = 10.0", "sigma_range_m = -1.0"), ["sensor 'x-radar'", "'sigma_range_m'", "> 0"]),
        (("max_range_km = 1000.0\n", ""), ["sensor 'x-radar'", "'max_range_km'", "missing"]),
        (('nation = "jp"', 'nation = "cn"'), ["'nation'", "us, jp, kr", "'cn'"]),
        (('kind = "radar"', 'kind = "sonar"'), ["'kind'", "radar, ir"]),
        (("assumption = true", "assumption = false"), ["'assumption'", "assumption = true"]),
        (("lat_deg = 35.0", 'lat_deg = "north"'), ["'lat_deg'", "latitude", "'north'"]),
        (("h_m = 10.0", "h_m = 10.0\nheight = 3"), ["'height'", "unknown key"]),
    ],
)
def test_broken_files_name_file_sensor_key_and_expectation(
    tmp_path: Path, edit: tuple[str, str], fragments: list[str]
) -> None:
    assert edit[0] in GOOD
    path = _write(tmp_path, GOOD.replace(edit[0], edit[1]))
    with pytest.raises(SensorCatalogError) as info:
        load_catalog(path)
    msg = str(info.value)
    assert str(path) in msg
    for f in fragments:
        assert f in msg, msg


def test_duplicate_ids_unparseable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(SensorCatalogError, match="duplicate id"):
        load_catalog(_write(tmp_path, GOOD + GOOD))
    with pytest.raises(SensorCatalogError, match="not valid TOML"):
        load_catalog(_write(tmp_path, "[[sensor]\nid = 1"))
    with pytest.raises(SensorCatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.toml")
    with pytest.raises(SensorCatalogError, match=r"at least one \[\[sensor\]\]"):
        load_catalog(_write(tmp_path, "# nothing\n"))
