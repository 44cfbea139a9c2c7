"""`triwarn export`: CZML against czml-writer's JSON schema, KML read back (and validated against the OGC KML
2.2 schema) by fastkml, GeoJSON checked for RFC 7946 structure and values.

The recording is written here in the format of `triwarn replay --record` (its column lists are imported from
the recorder) from geodetic positions converted to ECEF with pymap3d, so every exported position is checked
against numbers that triwarn did not compute; ellipse rings are checked with geographiclib.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pymap3d
import pytest
from fastkml import KML
from geographiclib.geodesic import Geodesic
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from triwarn.analysis.exports import load_picture, render
from triwarn.analysis.recording import IPP_COLUMNS, LAUNCH_COLUMNS
from triwarn.analysis.replay import PICTURE_COLUMNS, replay
from triwarn.cli.main import main as triwarn_main
from triwarn.services.runtime.settings import Settings

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "data" / "czml-schema"
EPOCH_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
EPOCH_ISO = "2026-01-01T00:00:00.000Z"

#: track 1 of view us: 0..100 s, from (39.0 N, 127.5 E) to (40.0 N, 132.0 E), a 300 km arc
T1_S = np.arange(0.0, 101.0, 1.0)
T1_LAT = 39.0 + T1_S / 100.0
T1_LON = 127.5 + 4.5 * T1_S / 100.0
T1_H = 1200.0 * T1_S * (100.0 - T1_S)  # 0 .. 3,000 km .. 0
#: impact predictions: (from t, lat, lon, impact t, semi-major, semi-minor, orientation cw from north)
IMPACTS = [
    (5.0, 40.1, 132.2, 101.0, 80_000.0, 30_000.0, 30.0),
    (20.0, 40.05, 132.1, 100.5, 40_000.0, 15_000.0, 170.0),
    (50.0, 40.0, 132.0, 100.2, 12_000.0, 5_000.0, 5.0),
]
LAUNCH = (39.0, 127.5, -2.0)
#: warning changes of track 1: (t, id, level, state, areas)
WARNINGS = [
    (5.0, 1, "WARNING_LEVEL_WATCH", "STATE_IMPACT_EXPECTED", "AREA_KIND_JP_EEZ"),
    (40.0, 1, "WARNING_LEVEL_WARNING", "STATE_UPDATED", "AREA_KIND_JP_EEZ+AREA_KIND_JP_LAND"),
    (100.0, 1, "WARNING_LEVEL_WARNING", "STATE_ENDED", ""),
]


def _impact_at(t: float, impacts: list[tuple[float, ...]]) -> tuple[float, ...] | None:
    current = None
    for row in impacts:
        if t >= row[0]:
            current = row
    return current


def write_recording(directory: Path, impacts: list[tuple[float, ...]] = IMPACTS) -> Path:
    """A recording with two tracks in view us (track 2 short, without assessment) and one in view jp."""
    directory.mkdir(parents=True, exist_ok=True)
    rows: list[list[Any]] = []
    x, y, z = pymap3d.geodetic2ecef(T1_LAT, T1_LON, T1_H)
    for k, t in enumerate(T1_S):
        imp = _impact_at(t, impacts)
        ipp = [imp[1], imp[2], imp[3], imp[4], imp[5], imp[6]] if imp else [""] * len(IPP_COLUMNS)
        lp = list(LAUNCH) if t >= 10.0 else [""] * len(LAUNCH_COLUMNS)
        rows.append([f"{t:.3f}", "us", 1, x[k], y[k], z[k], 0, 0, 0, "jp+kr", *ipp, *lp])
    for t in (10.0, 11.0):
        x2, y2, z2 = pymap3d.geodetic2ecef(37.0, 125.0, 10_000.0 + t)
        rows.append([f"{t:.3f}", "us", 2, x2, y2, z2, 0, 0, 0, "kr", *[""] * len(IPP_COLUMNS + LAUNCH_COLUMNS)])
        rows.append([f"{t:.3f}", "jp", 7, x2, y2, z2, 0, 0, 0, "kr", *[""] * len(IPP_COLUMNS + LAUNCH_COLUMNS)])
    with (directory / "picture.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*PICTURE_COLUMNS, "nations", *IPP_COLUMNS, *LAUNCH_COLUMNS])
        w.writerows(rows)
    with (directory / "warnings.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "view", "warning_id", "track_id", "level", "state", "areas", "first_track_t_s"])
        for t, wid, level, state, areas in WARNINGS:
            w.writerow([f"{t:.3f}", "us", wid, 1, level, state, areas, "0.000"])
    meta = {"scenario": "synthetic", "simulated_s": 104.0, "epoch_ns": EPOCH_NS}
    (directory / "meta.json").write_text(json.dumps(meta))
    return directory


@pytest.fixture()
def recording(tmp_path: Path) -> Path:
    return write_recording(tmp_path / "rec")


def czml_validator() -> Draft7Validator:
    resources = []
    for f in SCHEMA_DIR.rglob("*.json"):
        schema = json.loads(f.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    document = json.loads((SCHEMA_DIR / "Document.json").read_text())
    return Draft7Validator(document, registry=Registry().with_resources(resources))


def ellipse_residual(
    center_lat: float, center_lon: float, a: float, b: float, az_deg: float, lat: float, lon: float
) -> float:
    """(along/a)² + (across/b)² − 1 of a ground point, along the geodesic from the centre (geographiclib)."""
    g = Geodesic.WGS84.Inverse(center_lat, center_lon, lat, lon)
    rel = math.radians(g["azi1"] - az_deg)
    return (g["s12"] * math.cos(rel) / a) ** 2 + (g["s12"] * math.sin(rel) / b) ** 2 - 1.0


def signed_area(ring_lonlat: list[list[float]]) -> float:
    """Shoelace area in (lon, lat) degrees²: positive for a counter-clockwise ring."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in itertools.pairwise(ring_lonlat))


# --- CZML ----------------------------------------------------------------------------------------------


def test_czml_is_valid_against_czml_writers_schema_and_the_validator_can_fail(recording: Path) -> None:
    doc = json.loads(render(load_picture(recording), "czml"))
    validator = czml_validator()
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []
    broken = copy.deepcopy(doc)
    broken[1]["position"]["cartesian"] = "not a position"
    broken[1]["point"]["pixelSize"] = "big"
    assert len(list(validator.iter_errors(broken))) >= 2


def test_czml_tracks_ellipses_and_warnings(recording: Path) -> None:
    doc = json.loads(render(load_picture(recording), "czml", ellipse_every_s=0.0))
    assert doc[0]["id"] == "document" and doc[0]["clock"]["interval"].startswith(EPOCH_ISO)
    packets = {p["id"]: p for p in doc[1:]}
    assert "track/us/1" in packets and "track/us/2" in packets and "track/jp/7" not in packets

    track = packets["track/us/1"]
    pos = track["position"]
    assert pos["referenceFrame"] == "FIXED" and pos["epoch"] == EPOCH_ISO
    samples = np.array(pos["cartesian"]).reshape(-1, 4)
    x, y, z = pymap3d.geodetic2ecef(T1_LAT, T1_LON, T1_H)
    assert np.allclose(samples[:, 0], T1_S)
    assert np.max(np.abs(samples[:, 1:] - np.column_stack([x, y, z]))) < 1e-6  # metres
    assert track["availability"] == "2026-01-01T00:00:00.000Z/2026-01-01T00:01:40.000Z"
    # warning level over time: WATCH from 5 s, WARNING from 40 s, NONE after ENDED at 100 s
    colours = [(iv["interval"], iv["rgba"]) for iv in track["point"]["color"]]
    grey, amber, red = [170, 170, 170, 255], [255, 170, 0, 255], [230, 30, 30, 255]
    assert [c for _, c in colours] == [grey, amber, red, grey]
    assert colours[1][0] == "2026-01-01T00:00:05.000Z/2026-01-01T00:00:40.000Z"
    assert "JP_LAND" in track["description"][2]["string"]

    impact = packets["impact/us/1"]
    pts = np.array(impact["position"]["cartographicDegrees"]).reshape(-1, 4)
    assert pts[:, 0].tolist() == [5.0, 20.0, 50.0]
    assert np.allclose(pts[:, 1:3], [[r[2], r[1]] for r in IMPACTS])  # lon, lat order
    e = impact["ellipse"]
    assert e["semiMajorAxis"]["number"] == [5.0, 80_000.0, 20.0, 40_000.0, 50.0, 12_000.0]
    rot = np.array(e["rotation"]["number"]).reshape(-1, 2)[:, 1]
    # counter-clockwise from north, unwrapped by half turns: 30° -> -30°, 170° -> -170° ≡ +10°, 5° -> -5°
    for r, (*_, orientation) in zip(rot, IMPACTS, strict=True):
        assert math.isclose(math.cos(2 * (r + math.radians(orientation))), 1.0, abs_tol=1e-12)
    assert np.all(np.abs(np.diff(rot)) <= math.pi / 2)

    polygons = [p for pid, p in packets.items() if pid.startswith("impact-ellipse/us/1/")]
    assert len(polygons) == 3
    for poly, (_, lat0, lon0, _, a, b, az) in zip(polygons, IMPACTS, strict=True):
        ring = np.array(poly["polygon"]["positions"]["cartographicDegrees"]).reshape(-1, 3)
        for lon, lat, _ in ring:
            assert abs(ellipse_residual(lat0, lon0, a, b, az, lat, lon)) < 1e-6
        assert signed_area([*ring.tolist(), ring[0].tolist()]) > 0
    last = polygons[-1]["availability"]
    assert last == "2026-01-01T00:00:50.000Z/2026-01-01T00:01:40.200Z"  # until the predicted impact

    launch = packets["launch/us/1"]["position"]["cartographicDegrees"]
    assert launch == [LAUNCH[1], LAUNCH[0], 0.0]


# --- KML -----------------------------------------------------------------------------------------------


def _placemarks(kml: KML) -> dict[str, Any]:
    doc = kml.features[0]
    out = {}
    for folder in doc.features:
        for pm in folder.features:
            out.setdefault(pm.name, pm)
    return out


def test_kml_reads_back_valid_with_its_coordinates_ellipses_and_warnings(recording: Path, tmp_path: Path) -> None:
    path = tmp_path / "out.kml"
    path.write_text(render(load_picture(recording), "kml", ellipse_every_s=0.0))
    kml = KML.parse(path, strict=True, validate=True)  # validated against the OGC KML 2.2 schema
    pms = _placemarks(kml)

    track = pms["track 1"].kml_geometry
    assert track.altitude_mode.value == "absolute"
    items = list(track.track_items)
    assert len(items) == len(T1_S)
    assert items[7].when.dt.isoformat() == "2026-01-01T00:00:07+00:00"
    got = np.array([it.coord.coords[0] for it in items])
    assert np.allclose(got[:, 0], T1_LON, atol=1e-9) and np.allclose(got[:, 1], T1_LAT, atol=1e-9)
    assert np.allclose(got[:, 2], T1_H, atol=1e-3)  # the ellipsoidal height as is (see kml.py)
    path_line = pms["path of track 1"].geometry
    assert np.allclose(np.array(path_line.coords)[:, :2], np.column_stack([T1_LON, T1_LAT]), atol=1e-9)

    ellipses = [pm for name, pm in pms.items() if name.startswith("95% impact ellipse of track 1")]
    assert len(ellipses) == 3
    for pm, (t0, lat0, lon0, _, a, b, az) in zip(ellipses, IMPACTS, strict=True):
        point, polygon = pm.kml_geometry.kml_geometries
        assert point.altitude_mode.value == "clampToGround" and polygon.altitude_mode.value == "clampToGround"
        assert point.geometry.coords[0][:2] == pytest.approx((lon0, lat0))
        ring = polygon.geometry.exterior.coords
        assert len(ring) == 73 and ring[0] == ring[-1]
        for lon, lat in ring:
            assert abs(ellipse_residual(lat0, lon0, a, b, az, lat, lon)) < 1e-6
        data = {d.name: d.value for d in pm.extended_data.elements}
        assert float(data["semi_major_m"]) == a and float(data["orientation_deg_cw_from_north"]) == az
        assert pm.times.begin.dt.timestamp() == EPOCH_NS / 1e9 + t0

    launch = pms["launch point of track 1"].geometry
    assert launch.coords[0][:2] == pytest.approx((LAUNCH[1], LAUNCH[0]))
    warning = pms["WARNING warning 1"]
    assert "JP_LAND" in warning.description and warning.times.begin.dt.isoformat() == "2026-01-01T00:00:40+00:00"
    lon, lat, h = warning.geometry.coords[0]
    assert (lon, lat) == pytest.approx((T1_LON[40], T1_LAT[40])) and h == pytest.approx(T1_H[40], abs=1e-3)


# --- GeoJSON -------------------------------------------------------------------------------------------


def check_rfc7946(obj: dict[str, Any]) -> None:
    """The structure RFC 7946 requires of a FeatureCollection (§3), positions (§3.1.1) and rings (§3.1.6)."""
    assert obj["type"] == "FeatureCollection" and isinstance(obj["features"], list)
    assert "crs" not in obj  # removed in RFC 7946 (§4)

    def position(p: Any) -> None:
        assert isinstance(p, list) and len(p) in (2, 3) and all(isinstance(v, float | int) for v in p)
        assert -180.0 <= p[0] <= 180.0 and -90.0 <= p[1] <= 90.0 and all(math.isfinite(v) for v in p)

    for f in obj["features"]:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        g = f["geometry"]
        kind, coords = g["type"], g["coordinates"]
        if kind == "Point":
            position(coords)
        elif kind == "LineString":
            assert len(coords) >= 2
            for p in coords:
                position(p)
        elif kind in ("Polygon", "MultiPolygon"):
            for polygon in [coords] if kind == "Polygon" else coords:
                for ring in polygon:
                    assert len(ring) >= 4 and ring[0] == ring[-1]
                    for p in ring:
                        position(p)
                assert signed_area(polygon[0]) > 0  # exterior ring counter-clockwise
        else:
            raise AssertionError(f"unexpected geometry {kind}")


def test_geojson_follows_rfc_7946_with_its_values(recording: Path) -> None:
    obj = json.loads(render(load_picture(recording), "geojson", ellipse_every_s=0.0))
    check_rfc7946(obj)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for f in obj["features"]:
        by_kind.setdefault(f["properties"]["kind"], []).append(f)
    assert sorted(by_kind) == ["impact_ellipse", "launch_point", "track", "warning"]

    track = next(f for f in by_kind["track"] if f["properties"]["track_id"] == 1)
    coords = np.array(track["geometry"]["coordinates"])
    assert np.allclose(coords[:, 0], T1_LON, atol=1e-7) and np.allclose(coords[:, 1], T1_LAT, atol=1e-7)
    assert np.allclose(coords[:, 2], T1_H, atol=0.01)  # metres above the WGS-84 ellipsoid (§4)
    times = track["properties"]["coordTimes"]
    assert len(times) == len(coords) and times[0] == EPOCH_ISO and times[-1] == "2026-01-01T00:01:40.000Z"

    ellipses = [f for f in by_kind["impact_ellipse"] if f["properties"]["track_id"] == 1]
    assert len(ellipses) == 3
    for f, (_, lat0, lon0, _, a, b, az) in zip(ellipses, IMPACTS, strict=True):
        p = f["properties"]
        assert (p["semi_major_m"], p["semi_minor_m"], p["orientation_deg"], p["confidence"]) == (a, b, az, 0.95)
        for lon, lat in f["geometry"]["coordinates"][0]:
            assert abs(ellipse_residual(lat0, lon0, a, b, az, lat, lon)) < 1e-5  # 7 decimals ~ 1 cm

    [launch] = by_kind["launch_point"]
    assert launch["geometry"]["coordinates"] == [LAUNCH[1], LAUNCH[0]]
    levels = [
        (f["properties"]["level"], f["properties"]["state"], f["properties"]["start"]) for f in by_kind["warning"]
    ]
    assert levels == [
        ("WATCH", "IMPACT_EXPECTED", "2026-01-01T00:00:05.000Z"),
        ("WARNING", "UPDATED", "2026-01-01T00:00:40.000Z"),
        ("WARNING", "ENDED", "2026-01-01T00:01:40.000Z"),
    ]


def test_an_ellipse_across_the_antimeridian_is_cut_and_a_huge_one_is_not_drawn(tmp_path: Path) -> None:
    impacts = [
        (5.0, 40.0, 179.6, 101.0, 150_000.0, 60_000.0, 80.0),  # reaches past 180° E
        (30.0, 40.0, 140.0, 101.0, 5_000_000.0, 900_000.0, 10.0),  # 5,000 km: too large to draw
    ]
    picture = load_picture(write_recording(tmp_path / "rec", impacts))
    geo = json.loads(render(picture, "geojson", ellipse_every_s=0.0))
    check_rfc7946(geo)
    [cut] = [f for f in geo["features"] if f["properties"]["kind"] == "impact_ellipse"]
    assert cut["geometry"]["type"] == "MultiPolygon" and len(cut["geometry"]["coordinates"]) == 2
    east, west = (part[0] for part in cut["geometry"]["coordinates"])
    assert max(p[0] for p in east) == 180.0 and min(p[0] for p in west) == -180.0
    for lon, lat in [p for p in east + west if abs(p[0]) != 180.0]:  # the cut's own points lie on the chord
        assert abs(ellipse_residual(40.0, 179.6, 150_000.0, 60_000.0, 80.0, lat, lon)) < 1e-5

    czml = json.loads(render(picture, "czml", ellipse_every_s=0.0))
    assert len([p for p in czml if p["id"].startswith("impact-ellipse/")]) == 1
    shows = [iv["boolean"] for iv in next(p for p in czml if p["id"] == "impact/us/1")["ellipse"]["show"]]
    assert shows == [True, False]
    names = [pm.name for pm in _folder_placemarks(render(picture, "kml", 0.0), tmp_path)]
    assert [n for n in names if n.startswith("95% impact ellipse")] == ["95% impact ellipse of track 1 at T+5 s"]


def _folder_placemarks(text: str, tmp_path: Path) -> list[Any]:
    path = tmp_path / "x.kml"
    path.write_text(text)
    return [pm for folder in KML.parse(path, strict=True, validate=True).features[0].features for pm in folder.features]


def test_views_are_kept_apart(recording: Path) -> None:
    obj = json.loads(render(load_picture(recording, "jp"), "geojson"))
    assert {(f["properties"]["view"], f["properties"]["track_id"]) for f in obj["features"]} == {("jp", 7)}


# --- the command ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["czml", "kml", "geojson"])
def test_the_command_writes_each_format(recording: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert triwarn_main(["export", str(recording), "--format", fmt]) == 0
    out = recording / f"picture-us.{fmt}"
    assert out.stat().st_size > 1000 and "wrote" in capsys.readouterr().out
    if fmt != "kml":
        json.loads(out.read_text())


def test_the_command_says_what_is_wrong_with_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert triwarn_main(["export", str(tmp_path), "--format", "geojson"]) == 1
    assert "not a recording" in capsys.readouterr().err
    write_recording(tmp_path / "run-001")  # `triwarn replay --runs N --record DIR`
    assert triwarn_main(["export", str(tmp_path), "--format", "geojson"]) == 1
    assert "export one of them, e.g." in capsys.readouterr().err
    assert triwarn_main(["export", str(tmp_path / "run-001"), "--format", "geojson", "--view", "kr"]) == 1
    assert "no track of view 'kr'" in capsys.readouterr().err


# --- a recording made by `triwarn replay` --------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "rec"
    asyncio.run(replay(Settings.load(env={}, scenario="demo", seed=1), speed=None, record_dir=out))
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)  # on a fresh clone the replay compiles the tracking and fusion kernels first
@pytest.mark.parametrize("view", ["us", "kr"])
def test_every_format_of_a_replayed_demo(demo_recording: Path, view: str, tmp_path: Path) -> None:
    picture = load_picture(demo_recording, view)
    assert picture.tracks and any(t.impacts for t in picture.tracks) and picture.warnings

    doc = json.loads(render(picture, "czml"))
    assert [f"{list(e.absolute_path)}: {e.message[:200]}" for e in czml_validator().iter_errors(doc)] == []
    ids = {p["id"] for p in doc}
    assert {f"track/{view}/{t.track_id}" for t in picture.tracks} <= ids

    path = tmp_path / "demo.kml"
    path.write_text(render(picture, "kml"))
    folders = KML.parse(path, strict=True, validate=True).features[0].features
    assert [f.name for f in folders] == [f"track {t.track_id}" for t in picture.tracks]

    geo = json.loads(render(picture, "geojson"))
    check_rfc7946(geo)
    impact_lats = [
        f["properties"]["impact_lat_deg"] for f in geo["features"] if f["properties"]["kind"] == "impact_ellipse"
    ]
    assert impact_lats and all(35.0 < lat < 45.0 for lat in impact_lats)  # the demo falls in the Sea of Japan
