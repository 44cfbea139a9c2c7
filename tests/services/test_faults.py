"""Process faults as tests, with real processes: the fusion service killed with SIGKILL and restarted on the
same warning log, the broker restarted under running publishers. Real Mosquitto, real gRPC, real files.

A publisher thread plays three nations' nodes seeing the same ballistic objects (truth propagated by the
fusion engine's own ballistic model, so that a track restored after a restart gates against the new local
tracks, as a real missile's would), one batch per nation every 0.5 s."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from triwarn.analysis.fuzz import BatchStream
from triwarn.services import synthetic
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.broker import BrokerHandle, free_port, start_broker
from triwarn.services.wire import tracks as wire
from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

NATIONS = ("us", "jp", "kr")


class Publisher:
    """Three nations' batches of ``n_objects`` ballistic objects every ``period_s``, in a thread, through
    reconnections (a new birth, bd_seq, after each), under one client id with a persistent session as the
    nodes do. ``acked``: batches whose publish the broker acknowledged."""

    def __init__(self, broker_url: str, n_objects: int = 2, period_s: float = 0.5, seed: int = 3) -> None:
        self.url = broker_url
        self.period_s = period_s
        self.objects = BatchStream(n_objects, seed=seed, t0_ns=time.time_ns())  # its ballistic truth
        self.sent = 0
        self.acked = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def truth(self, t_ns: int) -> np.ndarray:
        return self.objects.truth(t_ns)

    @staticmethod
    def status(nation: str, birth: bool, bd_seq: int) -> bytes:
        event = wire.NodeStatusEvent(nation, f"{nation}-c2", birth, bd_seq, time.time_ns(), (), 0.5)
        return wire.encode_status(event)

    async def _main(self) -> None:
        seq = 0
        while not self._stop.is_set():
            bd_seq = time.time_ns() // 1000
            will = aiomqtt.Will(wire.status_topic("us"), self.status("us", False, bd_seq), qos=1, retain=True)
            try:
                async with mqtt.client(
                    self.url, f"faults-publisher-{id(self)}", will=will, keepalive_s=2, clean_session=False
                ) as client:
                    for nation in NATIONS:
                        await client.publish(wire.status_topic(nation), self.status(nation, True, bd_seq), qos=1)
                    seq = 0
                    while not self._stop.is_set():
                        now = time.time_ns()
                        truth = self.truth(now)
                        for nation in NATIONS:
                            b = synthetic.nation_batch(nation, truth, now, batch_seq=seq, bd_seq=bd_seq, seed=seq)
                            await client.publish(wire.tracks_topic(nation), wire.encode_batch(b), qos=1)
                            self.acked += 1
                        self.sent += 1
                        seq += 1
                        await asyncio.sleep(self.period_s)
            except Exception:  # the broker is restarting: reconnect
                await asyncio.sleep(0.2)

    def start(self) -> Publisher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)


class FusionProcess:
    """``triwarn fusion`` as a child process (SIGKILL-able)."""

    def __init__(self, broker_url: str, log_path: Path, port: int, **env: str) -> None:
        self.target = f"127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "TRIWARN_BROKER_URL": broker_url,
            "TRIWARN_GRPC_LISTEN": self.target,
            "TRIWARN_METRICS_PORT": "0",
            "TRIWARN_WARNING_LOG": str(log_path),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = log_path.with_name(f"fusion-{port}-{time.monotonic_ns()}.log")  # its stderr

    def start(self, timeout_s: float = 180.0) -> FusionProcess:
        with self.log_path.open("ab") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "triwarn.cli.main", "fusion"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + timeout_s
        try:
            with grpc.insecure_channel(self.target) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                while time.monotonic() < deadline:
                    assert self.proc.poll() is None, "the fusion service died at start"
                    with contextlib.suppress(grpc.RpcError):
                        req = health_pb2.HealthCheckRequest(service="")
                        if stub.Check(req, timeout=1.0).status == health_pb2.HealthCheckResponse.SERVING:
                            return self
                    time.sleep(0.2)
            raise TimeoutError("the fusion service did not become SERVING")
        except BaseException:
            self.stop()
            raise

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Picture:
    """A subscriber's picture of one view, kept in a thread: tracks by number, warnings by id."""

    def __init__(self, target: str, view: int = tracks_pb2.NATION_US) -> None:
        self.tracks: dict[int, picture_pb2.SystemTrack] = {}
        self.warnings: dict[int, picture_pb2.Warning] = {}
        self.ever: set[int] = set()  # every track number seen
        self.channel = grpc.insecure_channel(target)
        stub = warning_service_pb2_grpc.WarningServiceStub(self.channel)
        self.call = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=view))
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        with contextlib.suppress(grpc.RpcError):
            for u in self.call:
                if u.kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT:
                    self.tracks.clear()
                    self.warnings.clear()
                for t in u.tracks:
                    self.tracks[t.track_id] = t
                    self.ever.add(t.track_id)
                for k in u.deleted_track_ids:
                    self.tracks.pop(k, None)
                for w in u.warnings:
                    if w.state in (picture_pb2.Warning.STATE_ENDED, picture_pb2.Warning.STATE_CANCELLED):
                        self.warnings.pop(w.warning_id, None)
                    else:
                        self.warnings[w.warning_id] = w

    def close(self) -> None:
        self.call.cancel()
        self.channel.close()


def wait_until(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def positions_m(tracks: dict[int, picture_pb2.SystemTrack]) -> dict[int, np.ndarray]:
    return {k: np.array([t.state.x_m, t.state.y_m, t.state.z_m]) for k, t in tracks.items()}


def nearest_truth(pos: np.ndarray, truth: np.ndarray) -> tuple[int, float]:
    d = np.linalg.norm(truth[:, :3] - pos, axis=1)
    return int(np.argmin(d)), float(d.min())


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[BrokerHandle]:
    """A broker of the test's own (it may be restarted), on a fixed port, keeping its state in
    ``tmp_path / "broker"`` (a restart on that directory keeps the sessions)."""
    handle = start_broker(prefer="auto", port=free_port(), persistence_dir=tmp_path / "broker")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.mark.slow
def test_kill_9_and_restart_on_the_same_log_leaves_no_ghosts_and_reuses_no_number(own_broker, tmp_path) -> None:
    n_objects = 2
    log_path = tmp_path / "warnings.sqlite"
    port = free_port()
    publisher = Publisher(own_broker.url, n_objects).start()
    fusion = FusionProcess(own_broker.url, log_path, port, TRIWARN_RESTORE_GRACE_S="6").start()
    try:
        before = Picture(fusion.target)
        wait_until(lambda: len(before.tracks) == n_objects, 30, "the first picture")
        time.sleep(2.0)
        numbers = {
            nearest_truth(p, publisher.truth(time.time_ns()))[0]: k for k, p in positions_m(before.tracks).items()
        }
        assert len(numbers) == n_objects, "one track per object before the kill"
        before.close()
        fusion.kill()

        fusion = FusionProcess(own_broker.url, log_path, port, TRIWARN_RESTORE_GRACE_S="6").start()
        after = Picture(fusion.target)
        # reconciled: the same objects under the same numbers, never two tracks for one object
        time.sleep(8.0)  # past the restore grace period: unconfirmed restored tracks would be gone
        truth = publisher.truth(time.time_ns())
        seen = {k: nearest_truth(p, truth) for k, p in positions_m(after.tracks).items()}
        assert len(after.tracks) == n_objects, f"{len(after.tracks)} tracks for {n_objects} objects: {seen}"
        assert {obj: k for k, (obj, _) in seen.items()} == numbers, "an object changed its number"
        assert all(d < 20_000.0 for _, d in seen.values()), f"a track is far from any object: {seen}"
        assert after.ever <= set(numbers.values()), f"numbers seen after the restart: {sorted(after.ever)}"
        after.close()
    finally:
        publisher.stop()
        fusion.stop()


@pytest.mark.slow
def test_unconfirmed_restored_tracks_age_out_and_new_objects_never_get_their_numbers(own_broker, tmp_path) -> None:
    log_path = tmp_path / "warnings.sqlite"
    port, metrics_port = free_port(), free_port()
    first_env = {"TRIWARN_RESTORE_GRACE_S": "5", "TRIWARN_METRICS_PORT": str(metrics_port)}
    fusion = FusionProcess(own_broker.url, log_path, port, **first_env).start()
    publisher = Publisher(own_broker.url, 2).start()  # after the service subscribed: it gets every batch
    try:
        before = Picture(fusion.target)
        wait_until(lambda: len(before.tracks) == 2, 30, "the first picture")
        old_numbers = set(before.tracks)
        before.close()
        # these objects are gone, then the service dies; others appear after its restart. The service has taken
        # every batch before the kill: none is queued for it that would confirm a restored track (that case,
        # and a restarted node numbering new objects again, is tests/services/test_intake.py's)
        publisher.stop()
        # fused and written: the cycle histogram is observed at the end of each accepted batch's handling
        fused = lambda: scrape(metrics_port)["triwarn_fusion_cycle_seconds_count"]  # noqa: E731
        wait_until(lambda: fused() >= publisher.acked, 20, "every published batch fused before the kill")
        fusion.kill()
        publisher = Publisher(own_broker.url, 3, seed=11)
        fusion = FusionProcess(own_broker.url, log_path, port, TRIWARN_RESTORE_GRACE_S="5").start()
        after = Picture(fusion.target)
        wait_until(lambda: set(after.tracks) == old_numbers, 10, "the restored picture")
        publisher.start()
        try:
            wait_until(lambda: len(after.tracks) == 3 and not set(after.tracks) & old_numbers, 30, "3 new tracks alone")
        except AssertionError as exc:
            log_tail = fusion.log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(
                f"{exc}: tracks {sorted(after.tracks)}, old {sorted(old_numbers)}\n{log_tail}"
            ) from None
        assert not after.warnings or all(w.track_id not in old_numbers for w in after.warnings.values())
        assert min(after.tracks) > max(old_numbers), "a number issued before the restart was given again"
        after.close()
    finally:
        publisher.stop()
        fusion.stop()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="broker persistence needs Mosquitto")
def test_a_broker_restart_keeps_every_track_in_the_picture_and_loses_no_batch(own_broker, tmp_path) -> None:
    """The broker stops (SIGTERM: it sends the publishers' wills, a DEATH) and comes back on its port and its
    persistence directory; the nodes come back with a new birth within the grace period, and no track leaves
    the picture meanwhile. The service's persistent session outlives the restart: the batches published
    before it reconnects are queued for it, so none is lost (no sequence gap) and every acknowledged batch
    is fused."""
    port = free_port()
    metrics_port = free_port()
    fusion = FusionProcess(
        own_broker.url,
        tmp_path / "w.sqlite",
        port,
        TRIWARN_NODE_DEATH_GRACE_S="15",
        TRIWARN_METRICS_PORT=str(metrics_port),
    ).start()
    publisher = Publisher(own_broker.url, 2).start()  # after the service subscribed: its first batches count
    broker = own_broker
    try:
        picture = Picture(fusion.target)
        wait_until(lambda: len(picture.tracks) == 2, 30, "the first picture")
        numbers = set(picture.tracks)
        # the broker stops and comes back on the same port with the same persistence directory
        broker.stop()
        time.sleep(2.0)
        broker = start_broker(prefer="mosquitto", port=own_broker.port, persistence_dir=tmp_path / "broker")
        sent = publisher.sent
        wait_until(lambda: publisher.sent > sent + 6, 30, "the publisher back")
        assert set(picture.tracks) == numbers, "a track left the picture or a new number appeared"
        assert picture.ever == numbers
        publisher.stop()
        # every batch the broker acknowledged reaches the service (a batch whose acknowledgement the
        # restart cut may arrive too, uncounted by the publisher)
        wait_until(lambda: scrape(metrics_port)["triwarn_batches_received_total"] >= publisher.acked, 20, "every batch")
        metrics = scrape(metrics_port)
        assert metrics.get("triwarn_batch_sequence_gaps_total", 0.0) == 0, "batches were lost across the restart"
        assert set(picture.tracks) == numbers
        picture.close()
    finally:
        publisher.stop()
        fusion.stop()
        broker.stop()


class TcpProxy:
    """An asyncio TCP proxy in a thread, ``127.0.0.1:port`` -> ``upstream``; :meth:`cut` closes every
    connection (the client sees a reset) and refuses new ones until :meth:`restore`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._open = threading.Event()
        self._open.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main(ready)), daemon=True)
        self._thread.start()
        ready.wait(10)

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        ready.set()
        async with server:
            await asyncio.Event().wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open.is_set():
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        self._open.clear()
        assert self._loop is not None

        def abort_all() -> None:
            for w in list(self._writers):
                w.transport.abort()

        self._loop.call_soon_threadsafe(abort_all)

    def restore(self) -> None:
        self._open.set()


@pytest.mark.slow
def test_a_cut_and_restored_node_connection_keeps_its_tracks(own_broker, tmp_path) -> None:
    """The nodes' connection to the broker is cut (reset) for 2 s and restored: the broker delivers their
    will, they come back with a new birth within the grace period, and no track leaves the picture."""
    port = free_port()
    host, broker_port = own_broker.url.rsplit("//", 1)[1].split(":")
    proxy = TcpProxy(host, int(broker_port))
    publisher = Publisher(f"mqtt://127.0.0.1:{proxy.port}", 2).start()
    fusion = FusionProcess(own_broker.url, tmp_path / "w.sqlite", port, TRIWARN_NODE_DEATH_GRACE_S="15").start()
    try:
        picture = Picture(fusion.target)
        wait_until(lambda: len(picture.tracks) == 2, 30, "the first picture")
        numbers = set(picture.tracks)
        proxy.cut()
        time.sleep(2.0)
        proxy.restore()
        sent = publisher.sent
        wait_until(lambda: publisher.sent > sent + 6, 30, "the publisher back")
        assert set(picture.tracks) == numbers, "a track left the picture or a new number appeared"
        assert picture.ever == numbers
        picture.close()
    finally:
        publisher.stop()
        fusion.stop()


def scrape(port: int) -> dict[str, float]:
    """The fusion service's Prometheus metrics, summed over labels: name -> value."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
    return out
