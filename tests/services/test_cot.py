"""`triwarn cot` against a real TAK server: taky (from PyPI) runs its CoT router on a loopback port, the bridge
subscribes to a real gRPC WarningService fed real PictureUpdate messages (and, in the last test, to a real
fusion service fed node batches through Mosquitto) and sends through taky, and a second TAK client (a raw
socket, as ATAK's stream is plain XML over TCP) asserts the CoT events it is routed.

Expected values come from pymap3d (ENU velocity, so course, speed and slope) and geographiclib (the polygon's
vertices on the ellipse), not from triwarn.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pymap3d
import pytest
from geographiclib.geodesic import Geodesic
from taky_server import Taky  # tests/taky_server.py (tests/ is on sys.path)

from triwarn.services import synthetic
from triwarn.services.cot import CotOptions, TakLinkError
from triwarn.services.cot import run as run_bridge
from triwarn.services.distribution.hub import PictureHub
from triwarn.services.distribution.server import start_server
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.broker import free_port
from triwarn.services.runtime.settings import Settings
from triwarn.services.subscriber import SubscribeOptions
from triwarn.services.wire import tracks as wire
from triwarn.v1 import picture_pb2, tracks_pb2

PU = picture_pb2.PictureUpdate
REPO = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "triwarn.cli.main", "cot"]


@pytest.fixture
def taky(tmp_path: Path) -> Iterator[Taky]:
    server = Taky(tmp_path / "taky")
    try:
        yield server
    finally:
        server.stop()


class TakClient:
    """A second TAK client: reads the CoT XML stream that taky routes to it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = b""
        self.events: list[ET.Element] = []

    @classmethod
    async def connect(cls, port: int, pki: Path | None = None) -> TakClient:
        """Connect over TCP, or over TLS with the client certificate in ``pki`` (see :func:`write_pki`)."""
        context = None
        if pki is not None:
            context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
            context.load_cert_chain(pki / "client.pem", pki / "client.key")
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        return cls(reader, writer)

    async def wait_for(self, predicate: object, what: str, timeout_s: float = 20.0, count: int = 1) -> list[ET.Element]:
        """The events received so far that match, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [e for e in self.events if predicate(e)]  # type: ignore[operator]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                uids = [(e.get("uid"), e.get("type")) for e in self.events]
                raise AssertionError(f"no {what} within {timeout_s} s; received {uids}")
            try:
                chunk = await asyncio.wait_for(self.reader.read(65536), remaining)
            except TimeoutError:
                continue
            assert chunk, "taky closed the connection"
            self.buffer += chunk
            while b"</event>" in self.buffer:
                head, _, self.buffer = self.buffer.partition(b"</event>")
                self.events.append(ET.fromstring(head[head.index(b"<event") :] + b"</event>"))

    def close(self) -> None:
        self.writer.close()


def cot_ns(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e9)


LAT, LON, ALT = 39.8, 131.2, 210_000.0
VEL_ENU = (1800.0, 900.0, -600.0)  # m/s east, north, up
SIGMA_M = 150.0
IMPACT = (40.3, 136.1, 48_000.0, 17_000.0, 62.0)  # lat, lon, semi-major, semi-minor, orientation cw from north


def track_msg(track_id: int, lat: float = LAT, lon: float = LON) -> picture_pb2.SystemTrack:
    now = time.time_ns()
    t = picture_pb2.SystemTrack(
        track_id=track_id,
        time_ns=now,
        lat_deg=lat,
        lon_deg=lon,
        altitude_m=ALT,
        phase=tracks_pb2.FLIGHT_PHASE_MIDCOURSE,
        missile_class=picture_pb2.MISSILE_CLASS_MRBM,
        warning_level=picture_pb2.WARNING_LEVEL_WARNING,
        contributing_nations=[tracks_pb2.NATION_US, tracks_pb2.NATION_JP],
    )
    x, y, z = pymap3d.geodetic2ecef(lat, lon, ALT)
    vx, vy, vz = pymap3d.enu2uvw(*VEL_ENU, lat, lon)
    t.state.x_m, t.state.y_m, t.state.z_m, t.state.vx_m_s, t.state.vy_m_s, t.state.vz_m_s = x, y, z, vx, vy, vz
    diag = [SIGMA_M**2] * 3 + [25.0] * 3
    t.state.covariance_upper[:] = [diag[i] if i == j else 0.0 for i in range(6) for j in range(i, 6)]
    lat_i, lon_i, a, b, az = IMPACT
    t.impact.valid, t.impact.lat_deg, t.impact.lon_deg = True, lat_i, lon_i
    t.impact.impact_time_ns = now + 240 * 10**9
    t.impact.ellipse.semi_major_m, t.impact.ellipse.semi_minor_m = a, b
    t.impact.ellipse.orientation_deg, t.impact.ellipse.confidence = az, 0.95
    t.threatened_areas.add(kind=picture_pb2.AREA_KIND_JP_LAND, name="Japan land", probability=0.9)
    return t


def warning_msg(track_id: int) -> picture_pb2.Warning:
    w = picture_pb2.Warning(
        warning_id=3,
        track_id=track_id,
        level=picture_pb2.WARNING_LEVEL_WARNING,
        state=picture_pb2.Warning.STATE_IMPACT_EXPECTED,
        reasons=["impact expected on land of Japan"],
    )
    w.areas.add(kind=picture_pb2.AREA_KIND_JP_LAND, name="Japan land", probability=0.9)
    return w


def is_uid(uid: str) -> object:
    return lambda e: e.get("uid") == uid


def test_the_bridge_sends_tracks_ellipses_polygons_warnings_and_deletes_through_taky(
    taky: Taky, tmp_path: Path
) -> None:
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")

    async def main() -> None:
        hub = await PictureHub.open(settings, ["us"])
        server = await start_server(settings, hub)
        listener = await TakClient.connect(taky.port)
        stop = asyncio.Event()
        options = CotOptions(tak_url=f"tcp://127.0.0.1:{taky.port}", stale_s=45.0, refresh_s=60.0)
        bridge = asyncio.create_task(
            run_bridge(options, SubscribeOptions(target=f"127.0.0.1:{server.port}", view="us"), stop)
        )
        try:
            first = PU(kind=PU.KIND_DELTA, view=tracks_pb2.NATION_US)
            first.tracks.append(track_msg(12))
            first.warnings.append(warning_msg(12))
            await hub.publish("us", first)

            [ev] = await listener.wait_for(is_uid("triwarn.us.track.12"), "track event")
            assert ev.get("type") == "a-h-A-W-M-S-S" and ev.get("how") == "m-f"
            sent, stale = cot_ns(ev.get("time", "")), cot_ns(ev.get("stale", ""))
            assert abs(sent - time.time_ns()) < 10e9 and stale - sent == pytest.approx(45e9, abs=2e6)
            point = ev.find("point")
            assert point is not None
            assert float(point.get("lat", "")) == pytest.approx(LAT, abs=1e-6)
            assert float(point.get("lon", "")) == pytest.approx(LON, abs=1e-6)
            assert float(point.get("hae", "")) == pytest.approx(ALT, abs=0.1)
            assert float(point.get("ce", "")) == pytest.approx(SIGMA_M, abs=0.1)
            assert float(point.get("le", "")) == pytest.approx(SIGMA_M, abs=0.1)
            tr = ev.find("detail/track")
            assert tr is not None
            e, n, u = VEL_ENU
            assert float(tr.get("course", "")) == pytest.approx(math.degrees(math.atan2(e, n)), abs=0.01)
            assert float(tr.get("speed", "")) == pytest.approx(math.sqrt(e * e + n * n + u * u), abs=0.1)
            assert float(tr.get("slope", "")) == pytest.approx(math.degrees(math.atan2(u, math.hypot(e, n))), abs=0.01)
            remarks = ev.findtext("detail/remarks", "")
            assert "WARNING (impact expected): Japan land" in remarks and "us+jp" in remarks
            facts = ev.find("detail/triwarn")
            assert facts is not None and facts.get("level") == "WARNING" and facts.get("areas") == "JP_LAND"
            assert float(facts.get("time_to_impact_s", "")) == pytest.approx(240.0)

            [ell] = await listener.wait_for(is_uid("triwarn.us.impact.12"), "ellipse event")
            lat_i, lon_i, a, b, az = IMPACT
            assert ell.get("type") == "u-d-c-e"
            shape = ell.find("detail/shape/ellipse")
            assert shape is not None
            assert (float(shape.get("major", "")), float(shape.get("minor", ""))) == (a, b)  # semi-axes
            assert float(shape.get("angle", "")) == az  # clockwise from true north
            assert "semi-axes" in ell.findtext("detail/remarks", "")
            ell_point = ell.find("point")
            assert ell_point is not None and float(ell_point.get("ce", "")) >= a
            link = ell.find("detail/link")
            assert link is not None and link.get("uid") == "triwarn.us.track.12"

            [poly] = await listener.wait_for(is_uid("triwarn.us.impact-area.12"), "polygon event")
            assert poly.get("type") == "u-d-f"
            vertices = [
                tuple(map(float, li.get("point", "").split(","))) for li in poly.iterfind("detail/link[@point]")
            ]
            assert len(vertices) == 37 and vertices[0] == vertices[-1]
            for lat, lon in vertices:
                g = Geodesic.WGS84.Inverse(lat_i, lon_i, lat, lon)
                rel = math.radians(g["azi1"] - az)
                residual = (g["s12"] * math.cos(rel) / a) ** 2 + (g["s12"] * math.sin(rel) / b) ** 2 - 1.0
                assert abs(residual) < 1e-4  # 7 decimals of a degree: ~1 cm

            # the same uid carries the track's next position
            moved = PU(kind=PU.KIND_DELTA, view=tracks_pb2.NATION_US)
            moved.tracks.append(track_msg(12, lat=LAT + 0.1, lon=LON + 0.2))
            await hub.publish("us", moved)
            await listener.wait_for(
                lambda e: (
                    e.get("uid") == "triwarn.us.track.12"
                    and float(e.find("point").get("lat")) == pytest.approx(LAT + 0.1, abs=1e-6)
                ),  # type: ignore[union-attr]
                "the moved track",
            )

            gone = PU(kind=PU.KIND_DELTA, view=tracks_pb2.NATION_US, deleted_track_ids=[12])
            await hub.publish("us", gone)
            deletes = await listener.wait_for(lambda e: e.get("type") == "t-x-d-d", "delete events", count=3)
            targets = {e.find("detail/link").get("uid") for e in deletes}  # type: ignore[union-attr]
            assert targets == {"triwarn.us.track.12", "triwarn.us.impact.12", "triwarn.us.impact-area.12"}
            assert all(e.find("detail/__forcedelete") is not None for e in deletes)
            finals = [e for e in listener.events if e.get("uid") == "triwarn.us.track.12"]
            assert finals[-1].get("stale") == finals[-1].get("time")  # stale at once
        finally:
            stop.set()
            assert await asyncio.wait_for(bridge, 15) == 0
            listener.close()
            await server.stop(0.5)
            await hub.close()

    asyncio.run(main())


def test_the_command_bridges_a_warning_service_to_taky(taky: Taky, tmp_path: Path) -> None:
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")

    async def main() -> None:
        hub = await PictureHub.open(settings, ["jp"])
        server = await start_server(settings, hub)
        snapshot_track = PU(kind=PU.KIND_DELTA, view=tracks_pb2.NATION_JP)
        snapshot_track.tracks.append(track_msg(4))
        huge = track_msg(3)  # early in boost: a 95% ellipse of 5,000 km is not drawn
        huge.impact.ellipse.semi_major_m = 5_000_000.0
        snapshot_track.tracks.append(huge)
        await hub.publish("jp", snapshot_track)  # held before the bridge starts: it arrives in the snapshot
        listener = await TakClient.connect(taky.port)
        env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
        command = [*COMMAND, "--tak", f"127.0.0.1:{taky.port}", "--target", f"127.0.0.1:{server.port}"]
        command += ["--view", "jp", "--duration", "60"]
        process = await asyncio.create_subprocess_exec(*command, env=env, cwd=REPO)
        try:
            [ev] = await listener.wait_for(is_uid("triwarn.jp.track.4"), "the snapshot's track", timeout_s=60)
            contact = ev.find("detail/contact")
            assert contact is not None and contact.get("callsign") == "TW4 MRBM"
            await listener.wait_for(is_uid("triwarn.jp.impact-area.4"), "its polygon")
            # the snapshot's tracks go out in track order: all of track 3's events came before
            uids = {e.get("uid") for e in listener.events}
            assert "triwarn.jp.track.3" in uids and not uids & {"triwarn.jp.impact.3", "triwarn.jp.impact-area.3"}
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 20) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            listener.close()
            await server.stop(0.5)
            await hub.close()

    asyncio.run(main())


def test_the_command_says_when_the_fusion_service_is_not_there(taky: Taky) -> None:
    port = free_port()
    result = subprocess.run(
        [*COMMAND, "--tak", f"127.0.0.1:{taky.port}", "--target", f"127.0.0.1:{port}", "--connect-timeout", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 1 and "is the fusion service running?" in result.stderr


def test_tls_with_client_certificates_and_a_reconnect_after_the_server_restarts(tmp_path: Path) -> None:
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")
    pki = tmp_path / "taky"
    taky = Taky(pki, tls=True)

    async def main() -> None:
        nonlocal taky
        hub = await PictureHub.open(settings, ["kr"])
        server = await start_server(settings, hub)
        update = PU(kind=PU.KIND_DELTA, view=tracks_pb2.NATION_KR)
        update.tracks.append(track_msg(9))
        await hub.publish("kr", update)
        listener = await TakClient.connect(taky.port, pki)
        options = CotOptions(
            tak_url=f"tls://127.0.0.1:{taky.port}",
            cert=str(pki / "client.pem"),
            key=str(pki / "client.key"),
            ca=str(pki / "ca.pem"),
            max_backoff_s=0.5,
        )
        stop = asyncio.Event()
        bridge = asyncio.create_task(
            run_bridge(options, SubscribeOptions(target=f"127.0.0.1:{server.port}", view="kr"), stop)
        )
        try:
            await listener.wait_for(is_uid("triwarn.kr.track.9"), "the track over TLS")
            listener.close()
            taky.stop()  # the TAK server restarts on the same port
            await asyncio.sleep(0.5)
            taky = await asyncio.to_thread(Taky, pki, True, taky.port)
            listener = await TakClient.connect(taky.port, pki)
            # the bridge reconnects and sends the whole picture again, unprompted
            await listener.wait_for(is_uid("triwarn.kr.impact-area.9"), "the picture after a reconnect", timeout_s=30)
        finally:
            stop.set()
            assert await asyncio.wait_for(bridge, 15) == 0
            listener.close()
            await server.stop(0.5)
            await hub.close()

    try:
        asyncio.run(main())
    finally:
        taky.stop()


def test_a_certificate_the_link_cannot_use_is_an_error_not_a_retry(taky: Taky, tmp_path: Path) -> None:
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")
    missing = str(tmp_path / "no-such-cert.pem")

    async def main() -> None:
        hub = await PictureHub.open(settings, ["us"])
        server = await start_server(settings, hub)
        try:
            options = CotOptions(tak_url=f"tls://127.0.0.1:{taky.port}", cert=missing, key=missing)
            with pytest.raises(TakLinkError, match="no-such-cert"):
                await asyncio.wait_for(run_bridge(options, SubscribeOptions(target=f"127.0.0.1:{server.port}")), 20)
        finally:
            await server.stop(0.5)
            await hub.close()

    asyncio.run(main())


def test_a_fast_picture_is_coalesced_to_the_latest_state_of_each_track(taky: Taky, tmp_path: Path) -> None:
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")

    async def main() -> None:
        hub = await PictureHub.open(settings, ["us"])
        server = await start_server(settings, hub)
        listener = await TakClient.connect(taky.port)
        stop = asyncio.Event()
        options = CotOptions(tak_url=f"tcp://127.0.0.1:{taky.port}", min_interval_s=1.0, refresh_s=60.0)
        target = SubscribeOptions(target=f"127.0.0.1:{server.port}", view="us")
        bridge = asyncio.create_task(run_bridge(options, target, stop))
        try:
            first = PU(kind=PU.KIND_DELTA, view=tracks_pb2.NATION_US)
            first.tracks.append(track_msg(21))
            await hub.publish("us", first)
            await listener.wait_for(is_uid("triwarn.us.track.21"), "the first state")
            for k in range(1, 41):  # 40 updates in well under a second
                u = PU(kind=PU.KIND_DELTA, view=tracks_pb2.NATION_US)
                u.tracks.append(track_msg(21, lat=LAT + 0.01 * k))
                await hub.publish("us", u)
            final = LAT + 0.4

            def at_final(e: ET.Element) -> bool:
                point = e.find("point")
                return (
                    e.get("uid") == "triwarn.us.track.21"
                    and point is not None
                    and (abs(float(point.get("lat", "0")) - final) < 1e-6)
                )

            await listener.wait_for(at_final, "the latest state")
            await asyncio.sleep(1.5)  # nothing older may follow it
            track_events = [e for e in listener.events if e.get("uid") == "triwarn.us.track.21"]
            assert at_final(track_events[-1])
            assert len(track_events) <= 5, f"{len(track_events)} events for 41 updates"
        finally:
            stop.set()
            assert await asyncio.wait_for(bridge, 15) == 0
            listener.close()
            await server.stop(0.5)
            await hub.close()

    asyncio.run(main())


def test_the_picture_is_refreshed_while_the_stream_is_live_and_goes_stale_when_it_is_lost(
    taky: Taky, tmp_path: Path
) -> None:
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")

    async def main() -> None:
        hub = await PictureHub.open(settings, ["us"])
        server = await start_server(settings, hub)
        listener = await TakClient.connect(taky.port)
        stop = asyncio.Event()
        options = CotOptions(tak_url=f"tcp://127.0.0.1:{taky.port}", stale_s=3.0, refresh_s=1.0)
        target = SubscribeOptions(target=f"127.0.0.1:{server.port}", view="us", max_backoff_s=0.2)
        bridge = asyncio.create_task(run_bridge(options, target, stop))
        try:
            u = PU(kind=PU.KIND_DELTA, view=tracks_pb2.NATION_US)
            u.tracks.append(track_msg(30))
            await hub.publish("us", u)
            # no new update, but the live picture is re-sent with fresh times
            refreshed = await listener.wait_for(is_uid("triwarn.us.track.30"), "two refreshes", count=3)
            times = [cot_ns(e.get("time", "")) for e in refreshed]
            assert all(b > a for a, b in itertools.pairwise(times))
            await server.stop(0.1)  # the fusion service goes away: the bridge stops refreshing
            await hub.close()
            await asyncio.sleep(0.5)
            before = len([e for e in listener.events if e.get("uid") == "triwarn.us.track.30"])
            with contextlib.suppress(AssertionError):
                await listener.wait_for(is_uid("triwarn.us.track.30"), "a refresh", timeout_s=3.0, count=before + 1)
            last = [e for e in listener.events if e.get("uid") == "triwarn.us.track.30"]
            assert len(last) == before, "refreshed a picture whose stream was lost"
            assert cot_ns(last[-1].get("stale", "")) < time.time_ns()  # TAK clients now show it stale
        finally:
            stop.set()
            assert await asyncio.wait_for(bridge, 15) == 0
            listener.close()

    asyncio.run(main())


def test_the_fused_picture_of_a_real_fusion_service_reaches_taky(fusion: Any, taky: Taky) -> None:
    """The whole stack: node batches (protobuf bytes) -> Mosquitto -> fusion service -> gRPC -> bridge -> taky."""
    settings = fusion.settings
    truth = synthetic.truth_states(3, 0)

    async def main() -> None:
        listener = await TakClient.connect(taky.port)
        stop = asyncio.Event()
        options = CotOptions(tak_url=f"tcp://127.0.0.1:{taky.port}", min_interval_s=0.2)
        bridge = asyncio.create_task(
            run_bridge(options, SubscribeOptions(target=settings.grpc_target, view="jp"), stop)
        )
        try:
            now = time.time_ns()
            async with mqtt.client(settings.broker_url, f"test-cot-{now}") as client:
                for n in ("us", "jp", "kr"):
                    batch = synthetic.nation_batch(n, truth, now, batch_seq=0, seed=0)
                    await client.publish(wire.tracks_topic(n), wire.encode_batch(batch), qos=1)

            def fused(e: ET.Element) -> bool:
                return e.get("type") == "a-h-A-W-M-S-S" and "from us+jp+kr" in e.findtext("detail/remarks", "")

            events = await listener.wait_for(fused, "three fused tracks", timeout_s=30, count=3)
            latest = {e.get("uid"): e for e in events}
            assert len(latest) == 3 and all(uid.startswith("triwarn.jp.track.") for uid in latest)  # type: ignore[union-attr]
            for e in latest.values():
                p = e.find("point")
                assert p is not None
                pos = pymap3d.geodetic2ecef(float(p.get("lat", "")), float(p.get("lon", "")), float(p.get("hae", "")))
                miss_m = min(math.dist(pos, t[:3]) for t in truth)
                assert miss_m < 5 * synthetic.POS_SIGMA_M + 1.0  # + the 6 decimals taky writes (≤ 0.1 m)
        finally:
            stop.set()
            assert await asyncio.wait_for(bridge, 15) == 0
            listener.close()

    asyncio.run(main())


def test_a_tak_server_that_stops_reading_neither_blocks_the_bridge_nor_its_shutdown(
    taky: Taky, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")

    async def main() -> None:
        hub = await PictureHub.open(settings, ["us"])
        server = await start_server(settings, hub)
        update = PU(kind=PU.KIND_DELTA, view=tracks_pb2.NATION_US)
        for track_id in range(1, 301):  # 300 tracks: ~2 MB of CoT per refresh
            update.tracks.append(track_msg(track_id, lat=LAT + 0.001 * track_id))
        await hub.publish("us", update)
        stop = asyncio.Event()
        options = CotOptions(tak_url=f"tcp://127.0.0.1:{taky.port}", refresh_s=0.2, write_timeout_s=1.0)
        bridge = asyncio.create_task(
            run_bridge(options, SubscribeOptions(target=f"127.0.0.1:{server.port}", view="us"), stop)
        )
        try:
            await asyncio.sleep(2.0)
            taky.process.send_signal(signal.SIGSTOP)  # frozen: the kernel's buffers fill, then writes block
            for _ in range(300):
                if "TAK link lost" in caplog.text:
                    break
                await asyncio.sleep(0.1)
            assert "TAK link lost (TimeoutError: the server took over 1 s to accept an event)" in caplog.text
            stop.set()
            assert await asyncio.wait_for(bridge, 10) == 0  # no wait on a server that does not read
        finally:
            taky.process.send_signal(signal.SIGCONT)
            stop.set()
            await server.stop(0.5)
            await hub.close()

    with caplog.at_level(logging.WARNING, logger="triwarn.cot"):
        asyncio.run(main())
