"""The national node against a real broker: birth/death pairing, last will, reconnection, track numbering."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiomqtt
import numpy as np
import pytest

from triwarn.services import node
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.broker import BrokerHandle, free_port, start_broker
from triwarn.services.runtime.settings import Settings
from triwarn.v1 import tracks_pb2


class Observer:
    """Collects every message on triwarn/v1/<nation>/# in a thread, reconnecting when the broker restarts."""

    def __init__(self, url: str, nation: str) -> None:
        self.url = url
        self.nation = nation
        self.statuses: list[tracks_pb2.NodeStatus] = []
        self.batches: list[tracks_pb2.LocalTrackBatch] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        while not self._stop.is_set():
            try:
                async with mqtt.client(self.url, f"observer-{time.time_ns()}", keepalive_s=2) as c:
                    await c.subscribe(f"triwarn/v1/{self.nation}/#", qos=1)
                    async for m in c.messages:
                        payload = bytes(m.payload)  # type: ignore[arg-type]
                        if str(m.topic).endswith("/status"):
                            self.statuses.append(tracks_pb2.NodeStatus.FromString(payload))
                        else:
                            self.batches.append(tracks_pb2.LocalTrackBatch.FromString(payload))
                        if self._stop.is_set():
                            return
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    def start(self) -> Observer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def wait(self, predicate, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out: {len(self.statuses)} statuses, {len(self.batches)} batches")


@contextmanager
def node_thread(settings: Settings) -> Iterator[None]:
    loop_box: dict[str, object] = {}

    async def main() -> None:
        stop = asyncio.Event()
        loop_box["loop"], loop_box["stop"] = asyncio.get_running_loop(), stop
        await node.run(settings, stop=stop)

    t = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    t.start()
    try:
        yield
    finally:
        deadline = time.monotonic() + 10
        while "loop" not in loop_box and time.monotonic() < deadline:
            time.sleep(0.05)
        loop_box["loop"].call_soon_threadsafe(loop_box["stop"].set)  # type: ignore[attr-defined]
        t.join(30)
        assert not t.is_alive(), "the node did not stop on its stop event"


def _settings(url: str, nation: str = "jp", speed: float = 20.0) -> Settings:
    return Settings.load(
        env={}, broker_url=url, nation=nation, scenario="demo", clock_speed=speed, scenario_t0_ns=time.time_ns()
    )


def test_node_reconnects_after_a_broker_restart_with_a_new_birth_and_no_reused_track_numbers() -> None:
    port = free_port()
    broker: BrokerHandle = start_broker(prefer="auto", port=port)
    observer = Observer(broker.url, "jp").start()
    try:
        with node_thread(_settings(broker.url)):
            observer.wait(lambda: any(len(b.tracks) for b in observer.batches))
            broker.stop()
            time.sleep(1.0)
            broker = start_broker(prefer="auto", port=port)
            births = lambda: [s for s in observer.statuses if s.kind == tracks_pb2.NodeStatus.KIND_BIRTH]  # noqa: E731
            observer.wait(lambda: len({s.bd_seq for s in births()}) >= 2, timeout_s=60)
            second = max(s.bd_seq for s in births())
            observer.wait(lambda: sum(b.bd_seq == second for b in observer.batches) >= 3)
    finally:
        observer.stop()
        broker.stop()

    first = min(s.bd_seq for s in births())
    assert second > first, "a reconnection must carry a new, larger bd_seq"
    after = [b for b in observer.batches if b.bd_seq == second]
    assert after[0].batch_seq == 0, "batch_seq restarts at 0 within a new birth"
    assert [b.batch_seq for b in after] == list(range(len(after))), "no gaps within a birth"
    # a track number is never reused: once DELETED it never comes back
    deleted: set[int] = set()
    for b in observer.batches:
        for t in b.tracks:
            assert t.local_track_number not in deleted, f"track number {t.local_track_number} was reused"
            if t.status == tracks_pb2.TRACK_STATUS_DELETED:
                deleted.add(t.local_track_number)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_death_pairs_with_birth_whether_the_node_is_killed_or_stopped(broker: BrokerHandle, how: str) -> None:
    nation = "kr" if how == "SIGKILL" else "us"
    observer = Observer(broker.url, nation).start()
    cmd = [sys.executable, "-P", "-m", "triwarn.cli.main", "node", "--nation", nation, "--broker", broker.url]
    cmd += ["--speed", "5", "--t0-ns", str(time.time_ns())]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = b""
    try:
        observer.wait(lambda: len(observer.batches) >= 2, timeout_s=120)
        proc.send_signal(getattr(signal, how))
        code = proc.wait(30)
        observer.wait(lambda: any(s.kind == tracks_pb2.NodeStatus.KIND_DEATH for s in observer.statuses))
    finally:
        observer.stop()
        if proc.poll() is None:
            proc.kill()
        stderr = proc.communicate()[1]
    birth = next(s for s in observer.statuses if s.kind == tracks_pb2.NodeStatus.KIND_BIRTH)
    death = next(s for s in observer.statuses if s.kind == tracks_pb2.NodeStatus.KIND_DEATH)
    assert death.bd_seq == birth.bd_seq
    assert birth.node_id == death.node_id == f"{nation}-c2"
    assert len(birth.sensor_ids) >= 1 and birth.update_period_s == 1.0
    if how == "SIGTERM":
        assert code == 0, stderr.decode(errors="replace")


def test_a_node_started_late_in_its_scenario_does_not_burst_the_elapsed_part(broker: BrokerHandle) -> None:
    """Started 10 s (wall, 200 s of scenario at speed 20) after its scenario's start: the elapsed ticks are
    stepped without being sent, so no batch carries a state older than half of ``max_age_s``."""
    settings = Settings.load(
        env={},
        broker_url=broker.url,
        nation="us",
        scenario="demo",
        clock_speed=20.0,
        scenario_t0_ns=time.time_ns() - 10 * 10**9,
    )
    observer = Observer(broker.url, "us").start()
    try:
        with node_thread(settings):
            observer.wait(lambda: sum(len(b.tracks) > 0 for b in observer.batches) >= 3, timeout_s=120)
    finally:
        observer.stop()
    ages_s = [(b.sent_time_ns - min(t.time_ns for t in b.tracks)) * 1e-9 for b in observer.batches if b.tracks]
    assert max(ages_s) <= 0.5 * settings.max_age_s + 2 * settings.update_period_s, ages_s
    assert observer.batches[0].batch_seq == 0


def test_a_nodes_batch_says_how_many_objects_each_track_may_stand_for(tmp_path: Path) -> None:
    """Node.step carries the tracker's object count (LocalTrackBatch.objects, sent as estimated_objects): one
    per track, at least 1; in a raid (family seed 2: launchers ripple-firing 2-10 s apart) some US infrared
    track stands for more than one missile at some step."""
    from triwarn.scenarios.families import generate
    from triwarn.scenarios.scenario_file import load_scenario
    from triwarn.services.node import Node
    from triwarn.services.runtime.clock import ManualClock
    from triwarn.services.runtime.settings import Settings

    path = tmp_path / "raid-2.toml"
    path.write_text(generate("raid", 2).toml())
    t0 = load_scenario(str(path)).epoch_ns
    clock = ManualClock(t0)
    base = Settings().replace(scenario=str(path), seed=2, scenario_t0_ns=t0, scenario_loop=False)
    node = Node(base.replace(nation="us", node_id=""), clock)
    most = 0
    for k in range(1, 90):
        clock.set(t0 + k * 1_000_000_000)
        batch = node.step(float(k), k, 1)
        assert batch.objects.shape == batch.track_numbers.shape and np.all(batch.objects >= 1)
        most = max(most, int(batch.objects.max(initial=0)))
    assert most >= 2
