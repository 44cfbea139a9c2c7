"""Shared fixtures: a private MQTT broker per test session, and a fusion service running in a thread.

The broker is a real one: a private Mosquitto on a free loopback port (falling back to the embedded amqtt
broker where `mosquitto` is not installed; `pytest --broker embedded` forces that one).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from demo_lock import pytest_runtest_protocol  # noqa: F401  (a hook: one demo at a time, tests/demo_lock.py)

from triwarn.services.runtime.broker import BrokerHandle, free_port, start_broker
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--broker",
        default="auto",
        choices=["auto", "mosquitto", "embedded"],
        help="the MQTT broker the tests start: auto (mosquitto if installed, else embedded), mosquitto, embedded",
    )


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest) -> Iterator[BrokerHandle]:
    handle = start_broker(prefer=request.config.getoption("--broker"))
    try:
        yield handle
    finally:
        handle.stop()


class FusionThread:
    """``triwarn.services.fusion.run`` in a thread with its own event loop; ``stop()`` ends it cleanly."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="fusion", daemon=True)

    def _main(self) -> None:
        from triwarn.services import fusion

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await fusion.run(self.settings, stop=self._stop, metrics=self.metrics)

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by stop()
            self._error = exc

    def start(self, timeout_s: float = 120.0) -> FusionThread:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        self._thread.start()
        deadline = time.monotonic() + timeout_s
        with grpc.insecure_channel(self.settings.grpc_target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self._error is not None:
                    raise RuntimeError("fusion service died at start") from self._error
                try:
                    status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        return self
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise TimeoutError("the fusion service did not become SERVING")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "fusion service did not stop within 30 s"
        if self._error is not None:
            raise self._error


@pytest.fixture
def fusion_settings(broker: BrokerHandle, tmp_path: Path) -> Settings:
    port = free_port()
    return Settings.load(
        env={},
        broker_url=broker.url,
        grpc_listen=f"127.0.0.1:{port}",
        grpc_target=f"127.0.0.1:{port}",
        metrics_port=0,
        warning_log=str(tmp_path / "warnings.sqlite"),
        mqtt_max_packet_bytes=0 if broker.kind == "embedded" else None,  # the embedded broker has no MQTT 5
    )


@pytest.fixture
def fusion(fusion_settings: Settings) -> Iterator[FusionThread]:
    service = FusionThread(fusion_settings).start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def make_fusion() -> Iterator[Callable[[Settings], FusionThread]]:
    """Start fusion services with custom settings; every one started is stopped after the test."""
    started: list[FusionThread] = []

    def make(settings: Settings, timeout_s: float = 120.0) -> FusionThread:
        service = FusionThread(settings)
        started.append(service)
        return service.start(timeout_s)

    try:
        yield make
    finally:
        for service in started:
            service.stop()
