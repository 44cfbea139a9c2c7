"""The latency-path shortcuts of the fusion service and the hub give the same results as the plain path.

- ``merge_assessment`` (one protobuf merge of a cached message) equals ``fill_track_assessment``, including
  the proto3 zeros a merge does not copy (phase UNKNOWN, level UNSPECIFIED, no launch or impact point);
- the SQLite log writes inline (no worker thread) and a hub on it commits and fans out inside ``submit_many``;
- the stage trace stamps a batch at every stage, in path order, and attributes gRPC writes to their batch;
- the assessment process runs at a low CPU priority and assesses as the service would in-process;
- the end-to-end benchmark's transport floor delivers every batch to every subscriber.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from triwarn.benches.stage_trace import StageTrace
from triwarn.core.assessment.assess import WarningLevel
from triwarn.core.tracks import Phase
from triwarn.services import synthetic
from triwarn.services.distribution.hub import PictureHub
from triwarn.services.distribution.server import start_server
from triwarn.services.distribution.warning_log import WarningLog
from triwarn.services.fusion import FusionService
from triwarn.services.runtime.broker import BrokerHandle
from triwarn.services.runtime.clock import Clock
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings
from triwarn.services.wire import picture
from triwarn.services.wire import tracks as wire
from triwarn.services.wire.picture import assessment_pb, fill_track_assessment, merge_assessment
from triwarn.v1 import picture_pb2, warning_service_pb2, warning_service_pb2_grpc


def _service_with_assessments() -> FusionService:
    service = FusionService(Settings(), Clock(), Metrics())
    for payload, nation in synthetic.synthetic_batches(time.time_ns(), n_objects=3):
        service.handle_tracks(nation, payload)
    service.assess_due()
    return service


def test_merging_a_cached_assessment_equals_filling_it_field_by_field() -> None:
    service = _service_with_assessments()
    group = service.groups[0]
    assessments = [a for _, a in group.assessed.values()]
    assert assessments
    a0 = assessments[0]
    invalid = dataclasses.replace(a0.launch, valid=False)
    variants = [
        *assessments,
        # proto3 zeros: a merge would not copy them, merge_assessment must still set them
        dataclasses.replace(a0, phase=Phase.UNKNOWN, level=WarningLevel.UNSPECIFIED),
        dataclasses.replace(a0, launch=invalid, impact=dataclasses.replace(a0.impact, valid=False), areas=()),
    ]
    tracks = group.engine.at(time.time_ns())
    assert tracks
    for a in variants:
        for track in tracks:
            filled = picture.system_track_pb(track)
            merged = picture.system_track_pb(track)
            fill_track_assessment(filled, a)
            merge_assessment(merged, assessment_pb(a))
            assert merged == filled
            assert merged.SerializeToString(deterministic=True) == filled.SerializeToString(deterministic=True)


def test_each_track_update_carries_its_latest_assessment() -> None:
    service = _service_with_assessments()
    group = service.groups[0]
    payload, nation = synthetic.synthetic_batches(time.time_ns(), n_objects=3, batch_seq=1)[0]
    updates = service.handle_tracks(nation, payload)
    assert updates
    for msg in updates[0][1].tracks:
        expected = picture_pb2.SystemTrack()
        expected.CopyFrom(msg)
        fill_track_assessment(expected, group.assessed[msg.track_id][1])
        assert msg == expected


def test_the_sqlite_log_writes_inline_and_full_sync_or_memory_in_its_thread(tmp_path: Path) -> None:
    async def main() -> None:
        log = await WarningLog.open(str(tmp_path / "a.sqlite"))
        assert log.inline
        log.append_many_now([("us", 1, 5, b"x")])
        assert await log.read_after("us", 0) == [(1, b"x")]  # the reader connection sees the commit
        await log.close()
        for location, sync in ((str(tmp_path / "b.sqlite"), "FULL"), (":memory:", "NORMAL")):
            log = await WarningLog.open(location, synchronous=sync)
            assert not log.inline
            with pytest.raises(RuntimeError):
                log.append_many_now([("us", 1, 5, b"x")])
            await log.append_many([("us", 1, 5, b"x")])
            assert await log.read_after("us", 0) == [(1, b"x")]
            await log.close()

    asyncio.run(main())


def test_an_inline_hub_commits_and_fans_out_inside_submit_many(tmp_path: Path) -> None:
    async def main() -> None:
        settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")
        hub = await PictureHub.open(settings, ["us", "jp"])
        sub = hub.subscribe("us")
        update = picture_pb2.PictureUpdate(source_sent_time_ns=7)
        update.tracks.add(track_id=1)
        done = hub.submit_many([("us", update), ("jp", update)])
        # no await yet: already committed, applied and queued for the subscriber
        assert hub.last_seq("us") == 1 and hub.last_seq("jp") == 1
        assert sub.depth == 1
        assert await done == [1, 1]
        assert await hub._log.read_after("jp", 0) != []
        sub.close()
        await hub.close()

    asyncio.run(main())


def test_the_stage_trace_stamps_every_stage_in_order_and_attributes_writes(tmp_path: Path) -> None:
    async def main() -> None:
        settings = Settings(warning_log=str(tmp_path / "w.sqlite"), grpc_listen="127.0.0.1:0")
        hub = await PictureHub.open(settings, ["us"])
        hub.observer = trace = StageTrace()
        handle = await start_server(settings, hub)
        try:
            async with grpc.aio.insecure_channel(handle.address) as channel:
                stub = warning_service_pb2_grpc.WarningServiceStub(channel)
                call = stub.Subscribe(warning_service_pb2.SubscribeRequest())
                assert (await call.read()).kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT
                sent = time.time_ns()
                trace.stamp(sent, "received", sent + 1)
                for stage in ("decoded", "fused", "built"):
                    trace.stamp(sent, stage)
                await hub.publish("us", picture_pb2.PictureUpdate(source_sent_time_ns=sent))
                await hub.publish("us", picture_pb2.PictureUpdate())  # no source: not traced
                for _ in range(2):
                    await call.read()
                call.cancel()
        finally:
            await handle.stop(0.5)
            await hub.close()
        stamps = trace.as_dict()["batches"][str(sent)]
        assert list(stamps) == list(StageTrace.STAGES)
        times = [stamps[s] for s in StageTrace.STAGES]
        assert times == sorted(times)
        writes = trace.as_dict()["writes"][str(sent)]
        assert len(writes) == 1 and stamps["delivered"] <= writes[0][0] <= writes[0][1]
        assert list(trace.as_dict()["batches"]) == [str(sent)]

    asyncio.run(main())


def test_track_messages_built_from_their_last_message_equal_messages_built_afresh() -> None:
    """Over batches where nations join (sources change) and tracks get (re)assessed, every track message of
    every update equals the message built from scratch plus its latest assessment (the plain path)."""
    service = FusionService(Settings(), Clock(), Metrics())
    group = service.groups[0]
    captured: list[list] = []
    ingest = group.engine.ingest

    def capture(batch):  # type: ignore[no-untyped-def]
        result = ingest(batch)
        captured.append(list(result.changed))
        return result

    group.engine.ingest = capture
    truth = synthetic.truth_states(4, seed=3)
    t0 = time.time_ns()
    schedule = [["us"], ["us", "jp"], ["us", "jp", "kr"], ["kr"], ["us", "jp", "kr"]]
    checked = 0
    for k, nations in enumerate(schedule):
        for nation in nations:
            batch = synthetic.nation_batch(nation, truth, t0 + k * 400_000_000, batch_seq=k, seed=k)
            updates = service.handle_tracks(nation, wire.encode_batch(batch))
            if not updates:
                continue
            for track, msg in zip(captured[-1], updates[0][1].tracks, strict=True):
                expected = picture.system_track_pb(track)
                last = group.assessed.get(track.track_id)
                if last is not None:
                    fill_track_assessment(expected, last[1])
                assert msg == expected
                checked += 1
        if k % 2 == 0:
            service.assess_due()
    assert checked > 20
    assert any(len(m.sources) > 1 for m in group.latest.values())  # nations did join
    assert group.assessed  # and assessments were carried


def test_the_fusion_service_stamps_decode_fuse_and_build_of_a_traced_batch() -> None:
    service = FusionService(Settings(), Clock(), Metrics())
    service.observer = trace = StageTrace()
    payload, nation = synthetic.synthetic_batches(time.time_ns(), n_objects=2)[0]
    sent = wire.decode_batch(payload, nation, time.time_ns(), service.limits).sent_time_ns
    service.handle_tracks(nation, payload)
    stamps = trace.batches[sent]
    assert list(stamps) == ["decoded", "fused", "built"]
    assert stamps["decoded"] <= stamps["fused"] <= stamps["built"]


def test_the_stage_trace_attributes_a_write_only_while_its_bytes_are_queued() -> None:
    """Bytes are mapped to their batch by id() while they sit in subscriber queues, and no longer: once every
    queued copy is written the entry goes, so later bytes that reuse the id are not charged to that batch
    (they were, and showed as writes "taking" hundreds of milliseconds)."""
    trace = StageTrace()
    sent = time.time_ns()
    trace.stamp(sent, "delivered")
    data = b"x" * 64
    trace.queued(data, sent, 2)
    trace.wrote(data, 1, 2)
    trace.wrote(data, 3, 4)
    trace.wrote(data, 5, 6)  # a third write of bytes with the same id: not one of the two queued copies
    assert trace.as_dict()["writes"][str(sent)] == [(1, 2), (3, 4)]
    trace.wrote(b"y" * 64, 7, 8)  # never queued (a snapshot): not attributed
    assert trace.as_dict()["writes"][str(sent)] == [(1, 2), (3, 4)]


def test_the_assessment_process_runs_at_low_priority_and_assesses_as_the_service_would() -> None:
    import functools

    from triwarn.services.fusion import ASSESS_NICE, AssessProcess

    service = FusionService(Settings(), Clock(), Metrics())
    truth = synthetic.truth_states(3, seed=2)
    t0 = time.time_ns()
    for nation in ("us", "jp"):
        service.handle_tracks(nation, wire.encode_batch(synthetic.nation_batch(nation, truth, t0)))
    [(group, tracks, forget)] = service.take_due()
    assert tracks

    async def remote() -> tuple[dict, int]:  # type: ignore[type-arg]
        proc = AssessProcess(Settings(), len(service.groups))
        try:
            await proc.ready()
            nice = await asyncio.get_running_loop().run_in_executor(
                proc._pool, functools.partial(os.getpriority, os.PRIO_PROCESS, 0)
            )
            return await proc.assess(0, tracks, forget, t0), nice
        finally:
            await proc.close()

    there, nice = asyncio.run(remote())
    here = service.assess(group, tracks, forget, t0)
    assert sorted(there) == sorted(here)
    for track_id, a in here.items():
        assert assessment_pb(there[track_id]) == assessment_pb(a)
    if sys.platform == "linux":
        assert nice == max(ASSESS_NICE, os.getpriority(os.PRIO_PROCESS, 0))


def test_a_dead_assessment_process_is_replaced() -> None:
    import signal
    from concurrent.futures.process import BrokenProcessPool

    from triwarn.services.fusion import AssessProcess

    async def main() -> None:
        proc = AssessProcess(Settings(), 1)
        try:
            await proc.ready()
            pid = await asyncio.get_running_loop().run_in_executor(proc._pool, os.getpid)
            os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            with pytest.raises(BrokenProcessPool):
                await proc.assess(0, [], [], time.time_ns())
            assert await proc.assess(0, [], [], time.time_ns()) == {}  # a new process
        finally:
            await proc.close()

    asyncio.run(main())


_ORPHAN_PARENT = """
import asyncio, os, sys, time
from triwarn.services.fusion import AssessProcess
from triwarn.services.runtime.settings import Settings

async def main():
    proc = AssessProcess(Settings(), 1)
    await proc.ready()
    pid = await asyncio.get_running_loop().run_in_executor(proc._pool, os.getpid)
    print(pid, flush=True)
    time.sleep(60)  # killed before this ends

asyncio.run(main())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_the_assessment_process_dies_with_a_killed_service() -> None:
    """A fusion service killed outright (SIGKILL: no shutdown code runs) leaves no assessment process behind."""
    import signal
    import subprocess

    parent = subprocess.Popen([sys.executable, "-P", "-c", _ORPHAN_PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # alive while the service lives
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            with open(f"/proc/{child}/stat") as f:  # a zombie waiting for init to reap it counts as gone
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the assessment process outlived its killed service")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()


def test_the_transport_floor_delivers_every_batch_to_every_subscriber(broker: BrokerHandle) -> None:
    from triwarn.benches.bench_e2e import run_floor_config

    r = run_floor_config(broker.url, rate=20, n_subs=2, duration_s=0.5, period_s=0.1)
    assert r["batches_published"] == 15  # 3 nations x 5 periods
    assert r["updates_received"] == 2 * 15
    assert r["lost"] == 0 and r["gaps"] == 0
    assert r["update_bytes_mean"] > 0


def test_a_state_parsed_from_its_fixed_layout_wire_bytes_equals_the_state_set_field_by_field() -> None:
    """``picture.state_wire`` writes every field, zeros included: the parsed message and its serialization are
    those of the message built with attribute sets (zeros unset, -0.0 kept)."""
    from triwarn.v1 import tracks_pb2

    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 6)) * 1e6
    x[1, :3] = 0.0
    x[2, 4] = -0.0
    upper = rng.normal(size=(5, 21))
    upper[3, ::2] = 0.0
    data = picture.state_wire(x, upper)
    size = len(data) // 5
    for i in range(5):
        expected = tracks_pb2.CartesianState()
        expected.x_m, expected.y_m, expected.z_m, expected.vx_m_s, expected.vy_m_s, expected.vz_m_s = x[i].tolist()
        expected.covariance_upper[:] = upper[i].tolist()
        parsed = tracks_pb2.CartesianState.FromString(data[i * size : (i + 1) * size])
        assert parsed == expected
        assert parsed.SerializeToString() == expected.SerializeToString()
