"""Helpers of the coalition tests: MQTT clients that publish as, and record what is delivered to, a given
identity (ACL tests look at deliveries, never at acknowledgements: a denied publish is dropped silently)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from triwarn.services.runtime import mqtt
from triwarn.services.runtime.broker import free_port
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings
from triwarn.services.runtime.tls import TlsFiles
from triwarn.services.trust.topology import CoalitionBrokers

#: national monitors that may read everything on their own broker (test-only ACL lines): what a broker carries
MONITORS = {n: f"monitor-{n}" for n in ("hub", "us", "jp", "kr")}


def tls(pki: Path, identity: str) -> TlsFiles:
    return TlsFiles.in_dir(pki, identity)


class Background:
    """``_run()`` as a task for the life of an ``async with``; entered once ``_ready`` is set.

    The exit cancels the task AND sets ``stopping``, which loops must check: on Python 3.11
    ``asyncio.wait_for`` (inside aiomqtt's publish) swallows a cancellation that arrives as its future
    completes, and a loop relying on the cancellation alone then runs on for ever. The exit fails after
    ``STOP_S`` rather than hang."""

    STOP_S = 30.0

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.stopping = False

    async def _run(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self.stopping = True
        self._task.cancel()
        done, _ = await asyncio.wait({self._task}, timeout=self.STOP_S)
        assert done, f"{type(self).__name__} did not stop within {self.STOP_S:.0f} s"
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Recorder(Background):
    """Subscribes as ``identity`` to ``topics`` on ``url`` and records (topic, payload) until stopped."""

    def __init__(self, url: str, files: TlsFiles, topics: list[str]) -> None:
        super().__init__()
        self.url, self.files, self.topics = url, files, topics
        self.messages: list[tuple[str, bytes]] = []

    async def _run(self) -> None:
        async with mqtt.client(self.url, "recorder", tls=self.files) as client:
            for t in self.topics:
                await client.subscribe(t, qos=1)
            self._ready.set()
            async for m in client.messages:
                payload = m.payload if isinstance(m.payload, bytes | bytearray) else b""
                self.messages.append((str(m.topic), bytes(payload)))

    def topics_seen(self) -> set[str]:
        """Topics of the messages received, except the bridge's retained link state (``.../link``)."""
        return {t for t, _ in self.messages if not t.endswith("/link")}

    def payloads(self, topic: str) -> list[bytes]:
        return [p for t, p in self.messages if t == topic]


async def publish(url: str, files: TlsFiles, topic: str, payload: bytes, identifier: str = "pub") -> None:
    async with mqtt.client(url, identifier, tls=files) as client:
        await client.publish(topic, payload, qos=1)


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


class ServiceThread:
    """An asyncio service ``main(stop)`` in a thread with its own loop, ready once ``ready()`` is true or its
    gRPC health says SERVING over mutual TLS; ``stop()`` ends it and re-raises what it died of."""

    def __init__(self, main: Callable[[asyncio.Event], Any], name: str) -> None:
        self._main = main
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.target = ""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self._main(self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:
            self.error = exc

    def start_serving(self, target: str, files: TlsFiles, timeout_s: float = 600.0) -> ServiceThread:
        self.target = target
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        with grpc.secure_channel(target, files.grpc_channel_credentials()) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.error is not None:
                    raise RuntimeError(f"{self._thread.name} died at start") from self.error
                try:
                    status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        return self
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise TimeoutError(f"{self._thread.name} did not become SERVING")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), f"{self._thread.name} did not stop within 30 s"
        if self.error is not None:
            raise self.error


def fusion_at_hub(coalition: CoalitionBrokers, pki: Path, tmp: Path, **extra: Any) -> tuple[ServiceThread, Metrics]:
    """The fusion service at the hub with its certificate and the node-key registry, started and SERVING."""
    from triwarn.services import fusion  # heavy (numba): only the tests that run the service import it

    port = free_port()
    files = TlsFiles.in_dir(pki, "fusion-us")
    settings = Settings.load(
        env={},
        broker_url=coalition.url("hub"),
        grpc_listen=f"127.0.0.1:{port}",
        grpc_target=f"127.0.0.1:{port}",
        metrics_port=0,
        warning_log=str(tmp / "fusion.sqlite"),
        tls_ca=files.ca,
        tls_cert=files.cert,
        tls_key=files.key,
        node_keys=str(pki / "node-keys.toml"),
        **extra,
    )
    metrics = Metrics()
    thread = ServiceThread(lambda stop: fusion.run(settings, stop=stop, metrics=metrics), "fusion")
    return thread.start_serving(settings.grpc_target, files), metrics


BILATERAL_POLICY = """version = 1
[release.jp]
to = ["us"]
[release.kr]
to = ["us"]
"""


class SignedPublishers(Background):
    """Every nation's node publishing signed synthetic batches (2 objects seen by all three) on its national
    broker under its own certificate, every ``period_s``, until stopped: ``sent[nation]`` counts them."""

    def __init__(self, coalition: CoalitionBrokers, pki: Path, period_s: float = 0.2) -> None:
        super().__init__()
        self.coalition, self.pki, self.period_s = coalition, pki, period_s
        self.sent: dict[str, int] = {}

    async def _run(self) -> None:
        self._ready.set()
        # a task group, not gather: stopped, it waits for every node to end (gather ends with its first
        # cancelled child while the others may still publish)
        async with asyncio.TaskGroup() as nodes:
            for n in ("us", "jp", "kr"):
                nodes.create_task(self._node(n))

    async def _node(self, nation: str) -> None:
        # heavy imports only where batches are made
        from triwarn.sensors.sim.synthetic import nation_batch, truth_states
        from triwarn.services.trust import signing
        from triwarn.services.wire import tracks as wire

        node_id = f"{nation}-c2"
        signer = signing.Signer.load(self.pki / f"{node_id}.ed25519", node_id)
        truth = truth_states(2, 0)
        bd_seq = time.time_ns() // 1_000_000
        seq = 0
        while not self.stopping:
            try:
                async with mqtt.client(self.coalition.url(nation), node_id, tls=tls(self.pki, node_id)) as client:
                    while not self.stopping:
                        batch = nation_batch(nation, truth, time.time_ns(), batch_seq=seq, bd_seq=bd_seq)
                        await client.publish(
                            f"triwarn/v1/{nation}/tracks", signer.sign(signing.BATCH, wire.encode_batch(batch)), qos=1
                        )
                        seq += 1
                        self.sent[nation] = seq
                        await asyncio.sleep(self.period_s)
            except Exception:  # the national broker restarts in some tests: reconnect
                # ... unless this is the stop: a cancellation during a publish can leave the client's exit as an
                # MQTT error instead; swallowed, this node would publish on after the others stopped
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
                await asyncio.sleep(0.5)
