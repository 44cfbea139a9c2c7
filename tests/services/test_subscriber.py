"""The subscriber against a real WarningService on a loopback socket, in-process and as `triwarn subscribe`."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import socket
import sys
from pathlib import Path

import pytest

from triwarn.services.distribution.hub import PictureHub
from triwarn.services.distribution.server import start_server
from triwarn.services.runtime.settings import Settings
from triwarn.services.subscriber import (
    ClientPicture,
    JsonSink,
    SubscribeOptions,
    TargetUnavailable,
    run,
    update_to_dict,
)
from triwarn.v1 import picture_pb2

PU = picture_pb2.PictureUpdate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_track(track_id: int, altitude_m: float = 1.0) -> PU:
    u = PU()
    u.tracks.add(track_id=track_id, altitude_m=altitude_m)
    return u


def read_json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def wait_until(predicate: object, what: str, timeout_s: float = 20.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_client_picture_applies_snapshots_deltas_and_counts_gaps() -> None:
    p = ClientPicture()
    snap = PU(seq=5, kind=PU.KIND_SNAPSHOT)
    snap.tracks.add(track_id=1)
    snap.tracks.add(track_id=2)
    snap.warnings.add(warning_id=7, track_id=1, state=picture_pb2.Warning.STATE_NEW)
    p.apply(snap)
    d = PU(seq=6, kind=PU.KIND_DELTA, deleted_track_ids=[2])
    d.warnings.add(warning_id=7, track_id=1, state=picture_pb2.Warning.STATE_ENDED)
    d.tracks.add(track_id=3)
    p.apply(d)
    assert sorted(p.tracks) == [1, 3] and p.warnings == {} and p.last_seq == 6
    t3 = p.tracks[3]
    assert p.time_to_impact_s(t3) is None  # no impact prediction yet
    later = PU(seq=7, kind=PU.KIND_DELTA, time_ns=1_900_000_000_000_000_000)
    t = later.tracks.add(track_id=3)
    t.impact.valid = True
    t.impact.impact_time_ns = later.time_ns + 120 * 10**9
    p.apply(later)
    tti = p.time_to_impact_s(p.tracks[3])  # counted on the picture's clock, not this machine's
    assert tti is not None and 119.0 < tti <= 120.0
    p.apply(PU(seq=7, kind=PU.KIND_DELTA))  # a duplicate is ignored
    p.apply(PU(seq=10, kind=PU.KIND_DELTA))  # 8 and 9 missing
    assert (p.duplicates, p.gaps, p.last_seq) == (1, 2, 10)


def test_json_has_every_scalar_and_64_bit_numbers() -> None:
    u = PU(seq=0, kind=PU.KIND_SNAPSHOT, time_ns=1_800_000_000_123_456_789)
    u.tracks.add(track_id=2**60)
    d = update_to_dict(u)
    assert d["seq"] == 0 and d["kind"] == "KIND_SNAPSHOT"
    assert d["time_ns"] == 1_800_000_000_123_456_789
    assert d["tracks"][0]["track_id"] == 2**60  # type: ignore[index]
    assert json.loads(json.dumps(d))["time_ns"] == 1_800_000_000_123_456_789


def test_subscriber_resumes_across_a_service_restart_without_gap_or_duplicate(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen=f"127.0.0.1:{port}")
    out, err = io.StringIO(), io.StringIO()

    async def main() -> None:
        hub = await PictureHub.open(settings, ["us"])
        handle = await start_server(settings, hub)
        for i in range(1, 4):
            await hub.publish("us", one_track(i))
        options = SubscribeOptions(target=f"127.0.0.1:{port}", count=1 + 12, max_backoff_s=0.2)
        client = asyncio.create_task(run(options, JsonSink(out, err)))
        await wait_until(lambda: out.getvalue().count("\n") >= 1, "the snapshot")
        for i in range(4, 9):
            await hub.publish("us", one_track(i))
        await wait_until(lambda: out.getvalue().count("\n") >= 6, "five deltas")
        await handle.stop(1.0)  # the service restarts (same log, same port)
        await hub.close()
        hub = await PictureHub.open(settings, ["us"])
        handle = await start_server(settings, hub)
        for i in range(9, 16):
            await hub.publish("us", one_track(i))
        assert await asyncio.wait_for(client, 30) == 0
        await handle.stop(0.5)
        await hub.close()

    asyncio.run(main())
    lines = read_json_lines(out.getvalue())
    assert [d["kind"] for d in lines] == ["KIND_SNAPSHOT"] + ["KIND_DELTA"] * 12
    assert [d["seq"] for d in lines] == list(range(3, 16))
    assert "resuming after seq 8" in err.getvalue()


def test_subscriber_takes_a_new_snapshot_when_its_resume_point_is_gone(tmp_path: Path) -> None:
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0", retention_updates=5)
    out, err = io.StringIO(), io.StringIO()

    async def main() -> None:
        hub = await PictureHub.open(settings, ["us", "kr"])
        handle = await start_server(settings, hub)
        for i in range(1, 21):
            await hub.publish("kr", one_track(i % 4, float(i)))
        options = SubscribeOptions(target=handle.address, view="kr", from_seq=2, count=2)
        client = asyncio.create_task(run(options, JsonSink(out, err)))
        await wait_until(lambda: out.getvalue().count("\n") >= 1, "the snapshot")
        await hub.publish("kr", one_track(9))
        assert await asyncio.wait_for(client, 30) == 0
        await handle.stop(0.5)
        await hub.close()

    asyncio.run(main())
    lines = read_json_lines(out.getvalue())
    assert [(d["seq"], d["kind"], d["view"]) for d in lines] == [
        (20, "KIND_SNAPSHOT", "NATION_KR"),
        (21, "KIND_DELTA", "NATION_KR"),
    ]
    assert "taking a new snapshot" in err.getvalue()


def test_unreachable_target_is_a_clear_error() -> None:
    options = SubscribeOptions(target=f"127.0.0.1:{free_port()}", connect_timeout_s=0.3, count=1)
    with pytest.raises(TargetUnavailable, match="is the fusion service running"):
        asyncio.run(run(options, JsonSink(io.StringIO(), io.StringIO())))


async def _cli(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "triwarn.cli.main",
        "subscribe",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def test_cli_json_count_and_ctrl_c(tmp_path: Path) -> None:
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")

    async def main() -> None:
        hub = await PictureHub.open(settings, ["us", "jp", "kr"])
        handle = await start_server(settings, hub)
        try:
            await hub.publish("jp", one_track(1))
            # --count: exits by itself after the snapshot and two deltas
            proc = await _cli("--target", handle.address, "--view", "jp", "--json", "--count", "3")
            assert proc.stdout is not None
            first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
            assert (first["seq"], first["kind"]) == (1, "KIND_SNAPSHOT")
            await hub.publish("jp", one_track(2))
            await hub.publish("jp", one_track(3))
            rest, _ = await asyncio.wait_for(proc.communicate(), 60)
            assert [d["seq"] for d in read_json_lines(rest.decode())] == [2, 3]
            assert proc.returncode == 0
            # Ctrl-C: "interrupted" and exit code 130 (128 + SIGINT); SIGTERM (a requested stop): 0
            proc = await _cli("--target", handle.address, "--json")
            assert proc.stdout is not None
            await asyncio.wait_for(proc.stdout.readline(), 60)
            proc.send_signal(signal.SIGINT)
            _, errb = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 130
            assert "interrupted" in errb.decode()
            proc = await _cli("--target", handle.address, "--json")
            assert proc.stdout is not None
            await asyncio.wait_for(proc.stdout.readline(), 60)
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0
            # no service: exit code 1 and the hint
            proc = await _cli("--target", f"127.0.0.1:{free_port()}", "--connect-timeout", "0.3")
            _, errb = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 1
            assert "triwarn fusion" in errb.decode()
        finally:
            await handle.stop(0.5)
            await hub.close()

    asyncio.run(main())


def test_live_view_shows_tracks_impact_countdown_and_warnings() -> None:
    from rich.console import Console

    from triwarn.services.subscriber import LiveSink

    console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
    sink = LiveSink("127.0.0.1:50051", console)
    picture = ClientPicture()
    sink._picture = picture  # what start() sets; render without the live refresh thread
    u = PU(seq=12, kind=PU.KIND_SNAPSHOT, view=2, time_ns=1_900_000_000_000_000_000)
    t = u.tracks.add(track_id=4, warning_level=picture_pb2.WARNING_LEVEL_WARNING, phase=2, missile_class=1)
    t.contributing_nations.extend([1, 2])
    t.impact.valid, t.impact.lat_deg, t.impact.lon_deg = True, 36.51, 138.22
    t.impact.impact_time_ns = u.time_ns + 95 * 10**9
    t.impact.ellipse.semi_major_m, t.impact.ellipse.semi_minor_m = 12_000.0, 4_000.0
    t.threatened_areas.add(kind=picture_pb2.AREA_KIND_JP_LAND, name="Japan land", probability=0.8)
    u.warnings.add(warning_id=1, track_id=4, level=picture_pb2.WARNING_LEVEL_WARNING, reasons=["impact on land"])
    picture.apply(u)
    console.print(sink._render())
    screen = console.file.getvalue()  # type: ignore[attr-defined]
    for expected in ("view jp", "seq 12", "midcourse", "srbm", "us,jp", "36.51, 138.22", "12.0 x 4.0", "1:3"):
        assert expected in screen, expected
    assert "Japan land 80%" in screen and "impact on land" in screen
