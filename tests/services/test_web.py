"""``triwarn web`` as a person sees it: the real fusion service fed over real MQTT, ``triwarn web`` in a child
process, and the page driven in Debian's headless chromium (Playwright). Skipped where chromium or Playwright
is absent (CI installs both: ``apt-get install chromium``, the ``dev`` extra)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from triwarn.benches.bench_web import SyntheticFlights, browser_available, browser_page, start_web, stop_process
from triwarn.sensors.sim import synthetic
from triwarn.services.runtime.broker import free_port
from triwarn.services.subscriber import ClientPicture
from triwarn.services.trust import labels
from triwarn.services.web.feed import Feed, great_circle
from triwarn.services.web.paths import predict_paths
from triwarn.v1 import picture_pb2, tracks_pb2

# the demo takes the documented gRPC port 50051 when it is free and its consoles find the latest demo: every
# test file that starts a demo or expects 50051 free runs alone across the workers (tests/demo_lock.py)
pytestmark = pytest.mark.xdist_group("demo")

needs_browser = pytest.mark.skipif(
    not browser_available(),
    reason="needs Debian's chromium (apt-get install chromium) and playwright (the dev extra)",
)


def test_predicted_path_of_a_vertical_shot_comes_back_down_near_its_start() -> None:
    # straight up at 1 km/s from the equator: drag-free flight rises ~51 km and lands after ~204 s (v²/2g,
    # 2v/g), a few hundred metres west of its start (Coriolis)
    r0 = np.array([[6378137.0, 0.0, 0.0]])
    v0 = np.array([[1000.0, 0.0, 0.0]])
    (path,) = predict_paths(np.hstack([r0, v0]), np.array([204.0]))
    assert path[0, 2] == pytest.approx(0.0, abs=1.0)
    assert path[:, 2].max() == pytest.approx(51_000.0, rel=0.02)
    assert path[-1, 2] == 0.0
    assert abs(path[-1, 0]) < 0.01 and -0.02 < path[-1, 1] < 0.0


def test_great_circle_ends_at_both_points() -> None:
    p = great_circle(40.0, 128.0, 41.0, 139.5)
    assert p[0, :2] == pytest.approx([40.0, 128.0]) and p[-1, :2] == pytest.approx([41.0, 139.5])


def _track(track_id: int, state: np.ndarray, t_ns: int, tgo_s: float) -> picture_pb2.SystemTrack:
    t = picture_pb2.SystemTrack(track_id=track_id, time_ns=t_ns, phase=tracks_pb2.FLIGHT_PHASE_MIDCOURSE)
    s = t.state
    s.x_m, s.y_m, s.z_m, s.vx_m_s, s.vy_m_s, s.vz_m_s = (float(v) for v in state)
    t.lat_deg, t.lon_deg, t.altitude_m = 40.0, 133.0, 300e3
    t.impact.valid, t.impact.impact_time_ns, t.impact.lat_deg, t.impact.lon_deg = True, t_ns + int(tgo_s * 1e9), 38, 140
    t.impact.ellipse.semi_major_m, t.impact.ellipse.semi_minor_m = 5e3, 2e3
    t.warning_level = picture_pb2.WARNING_LEVEL_WATCH
    t.contributing_nations.extend([tracks_pb2.NATION_US, tracks_pb2.NATION_JP])
    return t


def test_the_feed_turns_snapshot_and_deltas_into_page_messages() -> None:
    truth = synthetic.truth_states(2, 0)
    t_ns = 1_700_000_000_000_000_000
    picture, feed = ClientPicture(), Feed("127.0.0.1:1", "jp")
    feed.start(picture)
    q = feed.connect()
    first = json.loads(q.get_nowait())
    assert first["kind"] == "snapshot" and first["tracks"] == []
    snap = picture_pb2.PictureUpdate(seq=5, kind=picture_pb2.PictureUpdate.KIND_SNAPSHOT, time_ns=t_ns)
    snap.view = tracks_pb2.NATION_JP
    snap.tracks.extend([_track(1, truth[0], t_ns, 300.0), _track(2, truth[1], t_ns, 200.0)])
    snap.label.CopyFrom(labels.make_label("policy-x", "jp", 5))
    for update in (snap,):
        picture.apply(update)
        feed.update(update, picture)
    m = json.loads(q.get_nowait())
    assert m["kind"] == "snapshot" and m["seq"] == 5 and m["view"] == "jp"
    assert {t["id"] for t in m["tracks"]} == {1, 2}
    label = m["status"]["label"]
    assert (label["classification"], label["releasable_to"], label["policy_id"], label["signed"]) == (
        "UNCLASSIFIED//DEVELOPMENT",
        ["JPN"],
        "policy-x",
        False,
    )
    assert picture.refused == {} and m["status"]["refused"] == {}
    t1 = next(t for t in m["tracks"] if t["id"] == 1)
    assert t1["nations"] == ["us", "jp"] and t1["level"] == "watch" and t1["path_kind"] == "ballistic"
    assert t1["impact"]["t_ms"] - t1["t_ms"] == pytest.approx(300e3) and len(t1["path"]) > 10
    assert t1["path"][-1][2] == 0.0  # the path ends on the ground
    delta = picture_pb2.PictureUpdate(seq=6, kind=picture_pb2.PictureUpdate.KIND_DELTA, time_ns=t_ns + 2_000_000_000)
    delta.view = tracks_pb2.NATION_JP
    delta.tracks.append(_track(1, truth[0], t_ns + 2_000_000_000, 298.0))
    delta.deleted_track_ids.append(2)
    delta.warnings.add(warning_id=9, track_id=1, level=picture_pb2.WARNING_LEVEL_WATCH, state=3)
    picture.apply(delta)
    feed.update(delta, picture)
    d = json.loads(q.get_nowait())
    assert d["kind"] == "delta" and d["seq"] == 6 and d["deleted"] == [2]
    assert [t["id"] for t in d["tracks"]] == [1] and "path" not in d["tracks"][0]  # path refreshed once a second
    assert d["warnings"][0]["state"] == "impact_expected"
    # a page that connects now gets the history of track 1 (two positions, 2 s apart) and its path
    late = json.loads(feed.connect().get_nowait())
    (t,) = late["tracks"]
    assert [p[3] for p in t["history"]] == [t_ns / 1e6, t_ns / 1e6 + 2000.0] and t["path"]


@needs_browser
def test_the_live_page_shows_moving_tracks_ellipses_and_countdowns_with_every_request_on_loopback(
    broker, fusion, tmp_path: Path
) -> None:
    n = 4
    flights = SyntheticFlights(broker.url, n, period_s=0.5).start()
    web, url = start_web(fusion.settings.grpc_target, view="jp")
    requests: list[str] = []
    try:
        with browser_page(requests) as page:
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_function(f"document.querySelectorAll('path.trk').length >= {n}", timeout=60_000)
            first_tracks_s = time.perf_counter() - t0
            page.wait_for_function(
                "[...document.querySelectorAll('path.ellipse')].some(e => (e.getAttribute('d') || '').length > 20)"
                " && [...document.querySelectorAll('td.tti')].some(td => /^\\d+:\\d\\d$/.test(td.textContent))",
                timeout=60_000,
            )
            assert page.text_content("#view") == "view JP"
            assert page.text_content("#feed") == "live"
            # the label banner: classification and releasable-to nations (single broker: labelled, unsigned)
            page.wait_for_function("document.getElementById('label-banner').dataset.releasableTo === 'JPN'")
            banner = page.text_content("#label-banner") or ""
            assert banner.startswith("UNCLASSIFIED//DEVELOPMENT REL TO JPN (policy ") and banner.endswith("unsigned")
            # a threatened area is filled with its warning level's colour (WATCH orange or WARNING red)
            page.wait_for_function(
                "[...document.querySelectorAll('.leaflet-overlay-pane path:not(.leaflet-interactive)')]"
                ".some(p => ['#d7191c', '#f08c00'].includes(p.getAttribute('fill')))",
                timeout=30_000,
            )

            def snapshot() -> tuple[dict[str, str], dict[str, float]]:
                pos = page.evaluate(
                    "() => Object.fromEntries([...document.querySelectorAll('path.trk, path.ellipse')]"
                    ".map(e => [e.getAttribute('class'), e.getAttribute('d')]))"
                )
                tti = page.evaluate(
                    "() => Object.fromEntries([...document.querySelectorAll('#tracks tbody tr')]"
                    ".filter(r => r.querySelector('td.tti').dataset.tti !== '')"
                    ".map(r => [r.dataset.id, Number(r.querySelector('td.tti').dataset.tti)]))"
                )
                return pos, tti

            pos1, tti1 = snapshot()
            time.sleep(3.0)
            pos2, tti2 = snapshot()
            moved = [k for k in pos1 if k in pos2 and pos1[k] != pos2[k]]
            assert sum(k.startswith("trk") for k in moved) >= n - 1, (pos1, pos2)
            assert any(k.startswith("ellipse") for k in moved), (pos1, pos2)  # impact predictions are updated
            common = [k for k in tti1 if k in tti2]
            assert common and all(tti2[k] < tti1[k] for k in common), (tti1, tti2)

            # clicking a row selects the track and shows its altitude profile
            page.click("#tracks tbody tr >> nth=0")
            page.wait_for_selector("#profile-box:not([hidden])")
            assert page.locator("#tracks tbody tr.selected").count() == 1

            page.screenshot(path=str(tmp_path / "web-live.png"))
            assert (tmp_path / "web-live.png").stat().st_size > 10_000

            # the server's own view of the same picture
            with urllib.request.urlopen(url + "api/picture", timeout=10) as r:
                picture = json.load(r)
            assert picture["view"] == "jp" and len(picture["tracks"]) >= n
            assert all(len(t["history"]) >= 1 and len(t["path"]) >= 2 for t in picture["tracks"])

            # no publishing: after 10 s of picture time without updates the tracks are marked stale
            flights.pause()
            page.wait_for_function("document.querySelectorAll('#tracks tbody tr.stale').length >= 1", timeout=30_000)
            # the web server gone: the page says the picture is stale
            stop_process(web)
            page.wait_for_function("document.body.dataset.feed === 'stale'", timeout=15_000)
            assert page.text_content("#feed").startswith("stale")
    finally:
        flights.stop()
        code = stop_process(web)
    assert code == 0
    origin = url.rstrip("/")
    off_loopback = [u for u in requests if not u.startswith(origin + "/")]
    assert requests and not off_loopback, off_loopback
    assert any(u.endswith("/static/vendor/leaflet/leaflet.js") for u in requests)
    assert first_tracks_s < 20.0


def test_the_static_files_hold_no_url_off_this_machine() -> None:
    static = Path(__file__).resolve().parents[2] / "services" / "web" / "static"
    own = [p for p in static.rglob("*") if p.suffix in (".html", ".js", ".css") and "vendor" not in p.parts]
    assert own
    for p in own:
        found = re.findall(r"https?://[^\s\"')]+", p.read_text())
        assert not found, (p, found)


def test_the_committed_map_layers_are_derived_from_the_bundled_grid() -> None:
    tools = Path(__file__).resolve().parents[2] / "tools"
    spec = importlib.util.spec_from_file_location("build_web_map", tools / "build_web_map.py")
    assert spec is not None and spec.loader is not None
    build_web_map = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_web_map)
    assert build_web_map.OUTPUT.read_text() == build_web_map.build(3), "run python tools/build_web_map.py"
    layers = {f["properties"]["layer"]: f for f in json.loads(build_web_map.OUTPUT.read_text())["features"]}
    assert set(layers) == {"land", "jp_eez", "jp_land", "kr_land"}
    # Tokyo lies within the bounding box of one of Japan's land polygons, Seoul within one of the ROK's
    for name, (lon, lat) in (("jp_land", (139.69, 35.69)), ("kr_land", (126.98, 37.57))):
        boxes = [np.array(poly[0]) for poly in layers[name]["geometry"]["coordinates"]]
        assert any(b[:, 0].min() < lon < b[:, 0].max() and b[:, 1].min() < lat < b[:, 1].max() for b in boxes)


@pytest.mark.slow
def test_demo_web_serves_the_demo_picture_and_stops_with_the_demo(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-P", "-m", "triwarn.cli.main", "demo", "--web", f"127.0.0.1:{port}", "--speed", "25"]
    # the demo's own lines (the web map's address among them) go to stderr; stdout is the picture
    proc = subprocess.Popen(
        [*cmd, "--json", "--workdir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    try:
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "web map:" in line:
                break
        assert lines and lines[-1].strip() == f"web map: http://127.0.0.1:{port}/", lines[-5:]
        deadline, tracks = time.monotonic() + 120, []
        while time.monotonic() < deadline and not tracks:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/picture", timeout=5) as r:
                    picture = json.load(r)
                tracks = picture["tracks"]
            except OSError:
                pass
            time.sleep(0.5)
        assert tracks and picture["view"] == "us", "the demo's web map never showed a track"
        proc.terminate()  # a clean stop (SIGTERM: exit 0); tests/cli/test_demo.py lets a demo end by itself
        proc.stderr.read()  # the rest of the demo's lines, until it ends
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    with pytest.raises(OSError):  # the web server stopped with the demo
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
