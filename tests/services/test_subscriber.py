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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
from triwarn.services.trust import labels
from triwarn.services.trust.labels import Labeller, Releaser
from triwarn.services.trust.pki import public_key_b64
from triwarn.v1 import picture_pb2, release_pb2

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


class _ReleasableTo(Labeller):
    """A misconfigured server's labeller: labels every update releasable to ``to`` only, whatever its view."""

    to: tuple[str, ...] = ("kr",)

    def label(self, view: str, seq: int) -> tuple[release_pb2.ReleaseLabel, release_pb2.LabelSignature | None]:
        label = labels.make_label(self.policy_id, view, seq, self.to)
        return label, (self.signer.sign_label(label) if self.signer is not None else None)


def test_a_console_refuses_what_its_label_does_not_release_to_its_nation(tmp_path: Path) -> None:
    """A jp console shows updates labelled releasable to JPN (the label once on stderr), and refuses, counts and
    reports once those labelled for KOR only, or whose label another key signed: they never reach its output
    or its picture."""
    settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")
    out, err = io.StringIO(), io.StringIO()
    fusion_key, other_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    (tmp_path / "fusion.pub").write_text(public_key_b64(fusion_key))
    pictures: list[ClientPicture] = []

    class Keep(JsonSink):
        def start(self, picture: ClientPicture) -> None:
            pictures.append(picture)

    async def main() -> None:
        hub = await PictureHub.open(settings, ["jp"])
        hub.labeller = Labeller("policy-x", Releaser("fusion-us", fusion_key, "policy-x"))
        handle = await start_server(settings, hub)
        await hub.publish("jp", one_track(1))
        stop = asyncio.Event()
        options = SubscribeOptions(target=handle.address, view="jp", label_public_key=str(tmp_path / "fusion.pub"))
        client = asyncio.create_task(run(options, Keep(out, err), stop))
        await wait_until(lambda: out.getvalue().count("\n") >= 1, "the snapshot")
        await hub.publish("jp", one_track(2))
        hub.labeller = _ReleasableTo("policy-x", Releaser("fusion-us", fusion_key, "policy-x"))
        for i in (3, 4, 5):
            await hub.publish("jp", one_track(i))
        hub.labeller = Labeller("policy-x", Releaser("fusion-us", other_key, "policy-x"))
        await hub.publish("jp", one_track(6))
        hub.labeller = Labeller("policy-y", Releaser("fusion-us", fusion_key, "policy-y"))
        await hub.publish("jp", one_track(7))
        await wait_until(lambda: out.getvalue().count("\n") >= 3, "the last update")
        stop.set()
        assert await asyncio.wait_for(client, 30) == 0
        await handle.stop(0.5)
        await hub.close()

    asyncio.run(main())
    lines = read_json_lines(out.getvalue())
    assert [d["seq"] for d in lines] == [1, 2, 7]
    assert [d["label"]["releasable_to"] for d in lines] == [["NATION_JP"]] * 3  # type: ignore[index]
    assert [d["label"]["policy_id"] for d in lines] == ["policy-x", "policy-x", "policy-y"]  # type: ignore[index]
    picture = pictures[0]
    assert sorted(picture.tracks) == [1, 2, 7]  # nothing of what was refused
    assert picture.refused == {"not_released": 3, "bad_signature": 1}
    notices = err.getvalue().splitlines()
    assert len([n for n in notices if "refused" in n]) == 2  # once per reason
    assert any("not_released" in n and "REL TO KOR" in n and "not releasable to JPN" in n for n in notices)
    marks = [n.removeprefix("triwarn subscribe: label: ") for n in notices if "label: " in n]
    assert marks == [
        "UNCLASSIFIED//DEVELOPMENT REL TO JPN (policy policy-x), signed by the fusion service",
        "UNCLASSIFIED//DEVELOPMENT REL TO JPN (policy policy-y), signed by the fusion service",
    ]


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


def _boosting_update() -> PU:
    """A snapshot with one boosting track whose impact is a corridor, and one coasting warning."""
    u = PU(seq=3, kind=PU.KIND_SNAPSHOT, view=2, time_ns=1_900_000_000_000_000_000)
    t = u.tracks.add(track_id=8, warning_level=picture_pb2.WARNING_LEVEL_WATCH, phase=1, missile_class=2)
    t.impact.valid, t.impact.lat_deg, t.impact.lon_deg = True, 40.55, 136.15  # the middle: shown nowhere
    t.impact.impact_time_ns = u.time_ns + 300 * 10**9
    t.impact.ellipse.semi_major_m, t.impact.ellipse.semi_minor_m = 500_000.0, 30_000.0
    c = t.impact.corridor
    c.valid, c.near_lat_deg, c.near_lon_deg, c.far_lat_deg, c.far_lon_deg = True, 39.91, 130.52, 41.2, 141.8
    u.warnings.add(
        warning_id=2,
        track_id=5,
        level=picture_pb2.WARNING_LEVEL_WARNING,
        state=picture_pb2.Warning.STATE_COASTING,
        last_sensor_update_ns=u.time_ns - 42 * 10**9,
        reasons=["track out of coverage"],
    )
    return u


def test_views_show_a_boost_corridor_from_end_to_end_and_a_coasting_warnings_age() -> None:
    from rich.console import Console

    from triwarn.services.subscriber import LineSink, LiveSink

    picture = ClientPicture()
    u = _boosting_update()
    picture.apply(u)
    out = io.StringIO()
    LineSink(out).update(u, picture)
    lines = out.getvalue()
    assert "corridor 39.91,130.52 → 41.20,141.80" in lines and "40.55" not in lines
    assert ("≥ 5:00" in lines or "≥ 4:59" in lines) and "if thrust stopped now" in lines  # a lower bound
    assert "coasting (no sensor update for 42 s)" in lines.lower()
    console = Console(file=io.StringIO(), width=220, force_terminal=False, color_system=None)
    sink = LiveSink("127.0.0.1:50051", console)
    sink._picture = picture  # what start() sets; render without the live refresh thread
    console.print(sink._render())
    screen = console.file.getvalue()  # type: ignore[attr-defined]
    assert "corridor 39.91,130.52 → 41.20,141.80" in screen and "40.55" not in screen
    assert ("≥ 5:00" in screen or "≥ 4:59" in screen) and "coasting (no sensor update for 42 s)" in screen.lower()
