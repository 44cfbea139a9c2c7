"""The picture hub and the WarningService over real gRPC on a loopback socket (no mocks).

Every test starts a hub on a fresh SQLite log and a server on a free port, publishes picture updates as the
fusion service would, and checks what real grpc.aio clients receive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from triwarn.services.distribution.hub import PictureHub
from triwarn.services.distribution.keepalive import CLIENT_OPTIONS, RECEIVE_WINDOW_BYTES
from triwarn.services.distribution.server import SERVICE_NAME, GrpcServerHandle, start_server
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings
from triwarn.services.trust import labels
from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

PU = picture_pb2.PictureUpdate
LEVEL = picture_pb2.WarningLevel
AREA = picture_pb2.AreaKind
CLASS = picture_pb2.MissileClass


def settings_for(tmp_path: Path, **kw: object) -> Settings:
    base: dict[str, object] = {
        "warning_log": str(tmp_path / "warnings.sqlite"),
        "grpc_listen": "127.0.0.1:0",
    }
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


def track(
    track_id: int,
    level: int = LEVEL.WARNING_LEVEL_NONE,
    areas: Iterable[int] = (),
    missile_class: int = CLASS.MISSILE_CLASS_UNSPECIFIED,
    altitude_m: float = 0.0,
) -> picture_pb2.SystemTrack:
    t = picture_pb2.SystemTrack(
        track_id=track_id, warning_level=level, missile_class=missile_class, altitude_m=altitude_m
    )
    for kind in areas:
        t.threatened_areas.add(kind=kind, probability=0.9)
    return t


def delta(*tracks: picture_pb2.SystemTrack, deleted: Iterable[int] = (), pad_bytes: int = 0) -> PU:
    u = PU(tracks=list(tracks), deleted_track_ids=list(deleted))
    if pad_bytes:  # make an update big enough to fill transport buffers
        u.tracks.add(track_id=10**9, sources=[picture_pb2.SourceTrack(node_id="x" * pad_bytes)])
        u.deleted_track_ids.append(10**9)
    return u


@asynccontextmanager
async def running(
    settings: Settings, metrics: Metrics | None = None
) -> AsyncIterator[tuple[PictureHub, GrpcServerHandle]]:
    hub = await PictureHub.open(settings, ["us", "jp", "kr"], metrics=metrics)
    handle = await start_server(settings, hub)
    try:
        yield hub, handle
    finally:
        await handle.stop(0.5)
        await hub.close()


def stub_for(channel: grpc.aio.Channel) -> warning_service_pb2_grpc.WarningServiceStub:
    return warning_service_pb2_grpc.WarningServiceStub(channel)


async def read_n(call: grpc.aio.UnaryStreamCall, n: int) -> list[PU]:
    return [await call.read() for _ in range(n)]


def seqs(updates: Iterable[PU]) -> list[int]:
    return [u.seq for u in updates]


def test_snapshot_first_then_gap_free_deltas(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(settings_for(tmp_path)) as (hub, handle):
            for i in range(1, 4):
                assert await hub.publish("us", delta(track(i))) == i
            await hub.publish("us", delta(deleted=[2]))
            async with grpc.aio.insecure_channel(handle.address) as ch:
                call = stub_for(ch).Subscribe(warning_service_pb2.SubscribeRequest())
                snap = await call.read()
                assert snap.kind == PU.KIND_SNAPSHOT and snap.seq == 4
                assert snap.view == tracks_pb2.NATION_US  # the default view
                assert sorted(t.track_id for t in snap.tracks) == [1, 3]
                for i in range(5):
                    await hub.publish("us", delta(track(100 + i)))
                got = await read_n(call, 5)
                assert seqs(got) == [5, 6, 7, 8, 9]
                assert all(u.kind == PU.KIND_DELTA for u in got)
                assert [u.tracks[0].track_id for u in got] == [100, 101, 102, 103, 104]
                # views have independent sequences
                assert await hub.publish("jp", delta(track(7))) == 1
                call.cancel()

    asyncio.run(main())


def test_resume_after_disconnect_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    async def main() -> None:
        async with (
            running(settings_for(tmp_path)) as (hub, handle),
            grpc.aio.insecure_channel(handle.address) as ch,
        ):
            steady = stub_for(ch).Subscribe(warning_service_pb2.SubscribeRequest())
            flaky = stub_for(ch).Subscribe(warning_service_pb2.SubscribeRequest())
            assert (await steady.read()).seq == 0
            assert (await flaky.read()).seq == 0
            for i in range(1, 11):
                await hub.publish("us", delta(track(i, altitude_m=float(i))))
            steady_got = await read_n(steady, 10)
            flaky_got = await read_n(flaky, 6)
            flaky.cancel()  # the connection drops after seq 6
            for i in range(11, 21):
                await hub.publish("us", delta(track(i, altitude_m=float(i))))
            steady_got += await read_n(steady, 10)
            resumed = stub_for(ch).Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=6))
            flaky_got += await read_n(resumed, 14)
            await hub.publish("us", delta(track(21)))  # and it is live again
            flaky_got.append(await resumed.read())
            steady_got.append(await steady.read())
            assert seqs(flaky_got) == list(range(1, 22))
            assert [u.SerializeToString() for u in flaky_got] == [u.SerializeToString() for u in steady_got]
            steady.cancel()
            resumed.cancel()

    asyncio.run(main())


def test_resume_after_hub_and_server_restart_on_the_same_log(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)

    async def main() -> None:
        async with running(settings) as (hub, handle):
            for i in range(1, 11):
                await hub.publish("us", delta(track(i)))
            await hub.publish("us", delta(deleted=[3]))
            before = hub.snapshot("us")
            async with grpc.aio.insecure_channel(handle.address) as ch:
                call = stub_for(ch).Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=4))
                first = await read_n(call, 7)
                assert seqs(first) == list(range(5, 12))
                # the server goes away under the subscriber: its stream ends with UNAVAILABLE
                await handle.stop(0.5)
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await call.read()
                assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        async with running(settings) as (hub, handle):
            after = hub.snapshot("us")
            assert hub.last_seq("us") == 11
            assert [t.SerializeToString() for t in after.tracks] == [t.SerializeToString() for t in before.tracks]
            assert await hub.publish("us", delta(track(50))) == 12  # the sequence continues
            async with grpc.aio.insecure_channel(handle.address) as ch:
                call = stub_for(ch).Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=11))
                got = await call.read()
                assert got.seq == 12 and got.tracks[0].track_id == 50
                call.cancel()
                old = stub_for(ch).Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=2))
                got = await read_n(old, 10)  # from before the restart, across it
                assert seqs(got) == list(range(3, 13))
                old.cancel()

    asyncio.run(main())


def test_resume_beyond_retention_is_out_of_range(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(settings_for(tmp_path, retention_updates=10)) as (hub, handle):
            for i in range(1, 51):
                await hub.publish("us", delta(track(i)))
            async with grpc.aio.insecure_channel(handle.address) as ch:
                stub = stub_for(ch)
                for too_old in (0, 5, 39):
                    call = stub.Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=too_old))
                    with pytest.raises(grpc.aio.AioRpcError) as info:
                        await call.read()
                    assert info.value.code() == grpc.StatusCode.OUT_OF_RANGE
                    assert "take a new snapshot" in (info.value.details() or "")
                ahead = stub.Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=51))
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await ahead.read()
                assert info.value.code() == grpc.StatusCode.OUT_OF_RANGE
                oldest = stub.Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=40))
                assert seqs(await read_n(oldest, 10)) == list(range(41, 51))
                oldest.cancel()

    asyncio.run(main())


def test_a_stalled_subscriber_with_a_bounded_window_is_ended_within_its_lag_bound(tmp_path: Path) -> None:
    """A console (bounded receive window, CLIENT_OPTIONS) that stops reading: once the window is full, the
    updates wait for gRPC to accept them, and past ``subscriber_max_lag_s`` the call ends with
    RESOURCE_EXHAUSTED, while another subscriber receives every update; lag per subscriber is in metrics."""
    max_lag_s = 1.0

    async def main() -> None:
        settings = settings_for(tmp_path, subscriber_max_lag_s=max_lag_s, subscriber_queue=1_000_000)
        metrics = Metrics()
        async with (
            running(settings, metrics) as (hub, handle),
            grpc.aio.insecure_channel(handle.address, options=CLIENT_OPTIONS) as slow_ch,
            grpc.aio.insecure_channel(handle.address, options=CLIENT_OPTIONS) as fast_ch,
        ):
            slow = stub_for(slow_ch).Subscribe(warning_service_pb2.SubscribeRequest())
            fast = stub_for(fast_ch).Subscribe(warning_service_pb2.SubscribeRequest())
            assert (await slow.read()).kind == PU.KIND_SNAPSHOT
            assert (await fast.read()).kind == PU.KIND_SNAPSHOT
            fast_got: list[PU] = []

            async def read_fast() -> None:
                while True:
                    u = await fast.read()
                    if u is grpc.aio.EOF:
                        return
                    fast_got.append(u)

            reader = asyncio.create_task(read_fast())
            t0 = time.monotonic()
            ended_at = None
            n = 0
            while time.monotonic() - t0 < 4 * max_lag_s + 20:  # 5 kB updates at ~200/s: a 256 kB window fills
                n += 1
                await hub.publish("us", delta(track(n), pad_bytes=5000))
                if ended_at is None and hub.subscriber_count("us") == 1:
                    ended_at = time.monotonic()
                if ended_at is not None and time.monotonic() - ended_at > 1.0:
                    break
                await asyncio.sleep(0.005)
            assert ended_at is not None, "the stalled subscriber was never ended"
            window_s = RECEIVE_WINDOW_BYTES / 5000 / 200  # time to fill the window, at most
            assert ended_at - t0 < window_s + max_lag_s + 5.0
            # the stalled one now reads: what gRPC accepted, then RESOURCE_EXHAUSTED
            with pytest.raises(grpc.aio.AioRpcError) as info:
                while (await slow.read()) is not grpc.aio.EOF:
                    pass
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "fell behind" in (info.value.details() or "")
            for _ in range(200):
                if len(fast_got) == n:
                    break
                await asyncio.sleep(0.05)
            assert [u.seq for u in fast_got] == list(range(1, n + 1))
            assert metrics.total("triwarn_subscriber_lag_seconds") < max_lag_s  # the fast one's, live
            fast.cancel()
            reader.cancel()

    asyncio.run(main())


def test_slow_subscriber_is_isolated_and_ends_with_resource_exhausted(tmp_path: Path) -> None:
    n_updates = 300
    queue = 8

    metrics = Metrics()

    async def main() -> None:
        async with running(settings_for(tmp_path, subscriber_queue=queue), metrics) as (hub, handle):
            options = [("grpc.http2.bdp_probe", 0)]  # keep the slow client's window small
            async with (
                grpc.aio.insecure_channel(handle.address, options=options) as fast_ch,
                grpc.aio.insecure_channel(handle.address, options=options) as slow_ch,
            ):
                fast = stub_for(fast_ch).Subscribe(warning_service_pb2.SubscribeRequest())
                slow = stub_for(slow_ch).Subscribe(warning_service_pb2.SubscribeRequest())
                assert (await fast.read()).kind == PU.KIND_SNAPSHOT
                assert (await slow.read()).kind == PU.KIND_SNAPSHOT

                # publish() never waits for the slow subscriber, which reads nothing meanwhile; the fast one
                # reads each update as it comes
                fast_got = []
                for i in range(1, n_updates + 1):
                    assert await hub.publish("us", delta(track(i), pad_bytes=4000)) == i
                    fast_got.append(await fast.read())
                assert seqs(fast_got) == list(range(1, n_updates + 1))
                assert hub.subscriber_count("us") == 1  # the slow one was dropped
                assert metrics.value("triwarn_subscribers", view="us") == 1
                assert metrics.value("triwarn_subscribers_fell_behind_total", view="us") == 1
                assert metrics.value("triwarn_picture_updates_total", view="us") == n_updates
                assert 1 <= metrics.value("triwarn_warning_log_commit_seconds_count") <= n_updates
                # the slow subscriber now reads: an unbroken prefix, then RESOURCE_EXHAUSTED
                slow_got: list[PU] = []
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    while True:
                        slow_got.append(await slow.read())
                assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert seqs(slow_got) == list(range(1, len(slow_got) + 1))
                assert len(slow_got) < n_updates
                # ... and resumes from its last seq with nothing lost
                last = slow_got[-1].seq if slow_got else 0
                resumed = stub_for(slow_ch).Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=last))
                rest = await read_n(resumed, n_updates - last)
                assert seqs(slow_got + rest) == list(range(1, n_updates + 1))
                fast.cancel()
                resumed.cancel()

    asyncio.run(main())


def test_filters_remove_tracks_not_updates(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(settings_for(tmp_path)) as (hub, handle):
            await hub.publish(
                "us",
                delta(
                    track(1, LEVEL.WARNING_LEVEL_WARNING, [AREA.AREA_KIND_JP_LAND], CLASS.MISSILE_CLASS_MRBM),
                    track(2, LEVEL.WARNING_LEVEL_WATCH, [AREA.AREA_KIND_JP_EEZ], CLASS.MISSILE_CLASS_SRBM),
                    track(3, LEVEL.WARNING_LEVEL_NONE, [], CLASS.MISSILE_CLASS_ICBM),
                ),
            )
            warn_only = warning_service_pb2.Filter(min_level=LEVEL.WARNING_LEVEL_WARNING)
            eez = warning_service_pb2.Filter(areas=[AREA.AREA_KIND_JP_EEZ])
            icbm = warning_service_pb2.Filter(missile_classes=[CLASS.MISSILE_CLASS_ICBM])
            async with grpc.aio.insecure_channel(handle.address) as ch:
                stub = stub_for(ch)
                calls = {
                    name: stub.Subscribe(warning_service_pb2.SubscribeRequest(filter=f))
                    for name, f in (("warn", warn_only), ("eez", eez), ("icbm", icbm))
                }
                snaps = {name: await call.read() for name, call in calls.items()}
                assert [t.track_id for t in snaps["warn"].tracks] == [1]
                assert [t.track_id for t in snaps["eez"].tracks] == [2]
                assert [t.track_id for t in snaps["icbm"].tracks] == [3]
                picture = await stub.GetPicture(warning_service_pb2.GetPictureRequest(filter=warn_only), timeout=5)
                assert [t.track_id for t in picture.tracks] == [1]
                # track 1 drops below WARNING; a warning about track 3 is issued
                u = delta(track(1, LEVEL.WARNING_LEVEL_ADVISORY, [], CLASS.MISSILE_CLASS_MRBM))
                u.warnings.add(warning_id=9, track_id=3, level=LEVEL.WARNING_LEVEL_WATCH)
                await hub.publish("us", u)
                await hub.publish("us", delta(track(4, LEVEL.WARNING_LEVEL_NONE)))
                got = {name: await read_n(call, 2) for name, call in calls.items()}
                for updates in got.values():  # every subscriber sees every seq
                    assert seqs(updates) == [2, 3]
                assert list(got["warn"][0].tracks) == []
                assert list(got["warn"][0].deleted_track_ids) == [1]  # it no longer matches: drop it
                assert list(got["warn"][0].warnings) == []
                assert [w.warning_id for w in got["icbm"][0].warnings] == [9]  # track 3 is an ICBM
                assert list(got["eez"][0].warnings) == []  # the warning names no EEZ
                assert [t.track_id for t in got["icbm"][1].tracks] == []
                for call in calls.values():
                    call.cancel()

    asyncio.run(main())


def test_unknown_view_is_invalid_argument(tmp_path: Path) -> None:
    async def main() -> None:
        settings = settings_for(tmp_path)
        hub = await PictureHub.open(settings, ["jp"])
        handle = await start_server(settings.replace(default_view="us"), hub)
        try:
            async with grpc.aio.insecure_channel(handle.address) as ch:
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub_for(ch).GetPicture(warning_service_pb2.GetPictureRequest(), timeout=5)
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                snap = await stub_for(ch).GetPicture(
                    warning_service_pb2.GetPictureRequest(view=tracks_pb2.NATION_JP), timeout=5
                )
                assert snap.view == tracks_pb2.NATION_JP and snap.kind == PU.KIND_SNAPSHOT
        finally:
            await handle.stop(0.5)
            await hub.close()

    asyncio.run(main())


def test_health_goes_serving_and_reflection_lists_the_service(tmp_path: Path) -> None:
    async def main() -> None:
        async with (
            running(settings_for(tmp_path)) as (_hub, handle),
            grpc.aio.insecure_channel(handle.address) as ch,
        ):
            health = health_pb2_grpc.HealthStub(ch)
            for service in ("", SERVICE_NAME):
                resp = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert resp.status == health_pb2.HealthCheckResponse.NOT_SERVING
            await handle.set_serving()
            for service in ("", SERVICE_NAME):
                resp = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert resp.status == health_pb2.HealthCheckResponse.SERVING

            refl = reflection_pb2_grpc.ServerReflectionStub(ch)
            call = refl.ServerReflectionInfo(timeout=5)
            await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
            resp = await call.read()
            names = {s.name for s in resp.list_services_response.service}
            assert {"triwarn.v1.WarningService", "grpc.health.v1.Health"} <= names
            await call.write(reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAME))
            resp = await call.read()
            assert resp.file_descriptor_response.file_descriptor_proto
            await call.done_writing()

            # grpc.reflection.v1 too (a v1-only client: its messages are v1alpha's bytes), on the v1 path
            v1 = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
            call = v1(timeout=5)
            await call.write(reflection_pb2.ServerReflectionRequest(list_services="").SerializeToString())
            resp = reflection_pb2.ServerReflectionResponse.FromString(await call.read())
            names = {s.name for s in resp.list_services_response.service}
            assert {"triwarn.v1.WarningService", "grpc.reflection.v1.ServerReflection"} <= names
            await call.done_writing()

    asyncio.run(main())


def test_graceful_stop_ends_streams_with_unavailable_and_health_not_serving(tmp_path: Path) -> None:
    async def main() -> None:
        settings = settings_for(tmp_path)
        hub = await PictureHub.open(settings, ["us"])
        handle = await start_server(settings, hub)
        await handle.set_serving()
        await hub.publish("us", delta(track(1)))
        async with grpc.aio.insecure_channel(handle.address) as ch:
            call = stub_for(ch).Subscribe(warning_service_pb2.SubscribeRequest())
            assert (await call.read()).seq == 1
            watch = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
            stopping = asyncio.create_task(handle.stop(5.0))  # what the SIGTERM handler calls
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
            watch.cancel()  # an open Watch would hold the stop for its whole grace period
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call.read()
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "resume" in (info.value.details() or "")
            await stopping
        await hub.close()
        # the log was checkpointed on close: a new hub starts where this one stopped
        hub = await PictureHub.open(settings, ["us"])
        assert hub.last_seq("us") == 1
        await hub.close()

    asyncio.run(main())


def test_deadline_ends_a_subscription_and_unregisters_it(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(settings_for(tmp_path)) as (hub, handle):
            async with grpc.aio.insecure_channel(handle.address) as ch:
                call = stub_for(ch).Subscribe(warning_service_pb2.SubscribeRequest(), timeout=0.3)
                assert (await call.read()).kind == PU.KIND_SNAPSHOT
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await call.read()
                assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            for _ in range(200):  # the server side notices the cancelled call
                if hub.subscriber_count() == 0:
                    break
                await asyncio.sleep(0.01)
            assert hub.subscriber_count() == 0

    asyncio.run(main())


def test_one_message_published_to_every_view_keeps_each_views_sequence(tmp_path: Path) -> None:
    """The fusion service publishes one fused update to several views: with publish_many (one transaction)
    or concurrent publish calls, each view's subscribers get that view's seq and view, filtered or not."""

    async def main() -> None:
        async with running(settings_for(tmp_path)) as (hub, handle):
            await hub.publish("kr", delta(track(1)))  # views' sequences differ from here on
            warn = warning_service_pb2.Filter(min_level=LEVEL.WARNING_LEVEL_WATCH)
            async with grpc.aio.insecure_channel(handle.address) as ch:
                stub = stub_for(ch)
                calls = {
                    (nation, name): stub.Subscribe(warning_service_pb2.SubscribeRequest(view=nation, filter=f))
                    for nation in (tracks_pb2.NATION_US, tracks_pb2.NATION_KR)
                    for name, f in (("all", warning_service_pb2.Filter()), ("warn", warn))
                }
                for call in calls.values():
                    await call.read()
                shared = delta(track(5, LEVEL.WARNING_LEVEL_WARNING), track(6))
                assert await hub.publish_many([(v, shared) for v in ("us", "jp", "kr")]) == [1, 1, 2]
                shared = delta(track(7))
                got = await asyncio.gather(*(hub.publish(v, shared) for v in ("us", "jp", "kr")))
                assert got == [2, 2, 3]
                for (nation, name), call in calls.items():
                    first, second = await read_n(call, 2)
                    expected = [1, 2] if nation == tracks_pb2.NATION_US else [2, 3]
                    assert seqs([first, second]) == expected
                    assert first.view == second.view == nation
                    kept = [t.track_id for t in first.tracks]
                    assert kept == ([5, 6] if name == "all" else [5])
                    call.cancel()
            assert sorted(t.track_id for t in hub.snapshot("kr").tracks) == [1, 5, 6, 7]
            assert hub.snapshot("jp").seq == 2

    asyncio.run(main())


def test_every_update_served_carries_its_label_resumed_filtered_and_after_a_restart(tmp_path: Path) -> None:
    """The hub labels each update when it publishes it and stores the label with it: a snapshot carries the
    label of its last update, a resumed or filtered update the one it was first served with, also after a
    restart under another labeller; an empty view is labelled at seq 0."""
    settings = settings_for(tmp_path)
    key = Ed25519PrivateKey.generate()
    signer = labels.Labeller("policy-x", labels.Releaser("fusion-us", key, "policy-x"))
    public = key.public_key()

    def check(u: PU, view: int, seq: int, policy: str = "policy-x") -> None:
        assert (u.label.view, u.label.seq, u.label.policy_id) == (view, seq, policy)
        assert list(u.label.releasable_to) == [view] and u.label.classification == labels.CLASSIFICATION
        assert labels.verify_label(u.label, u.label_signature, "fusion-us", public)

    async def main() -> None:
        async with running(settings) as (hub, handle):
            hub.labeller = signer
            for i in range(1, 6):
                await hub.publish("jp", delta(track(i, level=LEVEL.WARNING_LEVEL_WATCH if i % 2 else 0)))
            async with grpc.aio.insecure_channel(handle.address) as ch:
                jp = warning_service_pb2.SubscribeRequest(view=tracks_pb2.NATION_JP)
                call = stub_for(ch).Subscribe(jp)
                snap = await call.read()
                call.cancel()
                assert snap.kind == PU.KIND_SNAPSHOT
                check(snap, tracks_pb2.NATION_JP, 5)
                jp.resume_after_seq = 1
                jp.filter.min_level = LEVEL.WARNING_LEVEL_WATCH
                call = stub_for(ch).Subscribe(jp)
                for u in await read_n(call, 4):
                    check(u, tracks_pb2.NATION_JP, u.seq)
                call.cancel()
                empty = await stub_for(ch).GetPicture(warning_service_pb2.GetPictureRequest(view=tracks_pb2.NATION_KR))
                check(empty, tracks_pb2.NATION_KR, 0)
                with pytest.raises(AssertionError):  # a label is bound to its fields: another seq does not verify
                    empty.label.seq = 1
                    check(empty, tracks_pb2.NATION_KR, 1)
        async with running(settings) as (hub, handle):  # the default labeller now: unsigned, the default policy
            check(hub.snapshot("jp"), tracks_pb2.NATION_JP, 5)  # the stored label, not a new one
            await hub.publish("jp", delta(track(6)))
            async with grpc.aio.insecure_channel(handle.address) as ch:
                jp = warning_service_pb2.SubscribeRequest(view=tracks_pb2.NATION_JP, resume_after_seq=3)
                call = stub_for(ch).Subscribe(jp)
                got = await read_n(call, 3)
                call.cancel()
        check(got[0], tracks_pb2.NATION_JP, 4)
        check(got[1], tracks_pb2.NATION_JP, 5)
        assert got[2].label.seq == 6 and got[2].label.policy_id.startswith("default")
        assert list(got[2].label.releasable_to) == [tracks_pb2.NATION_JP] and not got[2].HasField("label_signature")

    asyncio.run(main())
