"""The broker launcher: a private Mosquitto and the embedded broker both carry QoS 1 messages, retained
status and last wills; a broker URL that does not answer gives an error that says what to do."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import aiomqtt
import pytest

from triwarn.services.runtime import mqtt
from triwarn.services.runtime.broker import MAX_PAYLOAD_BYTES, BrokerError, free_port, start_broker

KINDS = ["embedded"] + (["mosquitto"] if shutil.which("mosquitto") else [])


@pytest.mark.parametrize("kind", KINDS)
def test_qos1_retained_status_and_last_will_through_each_broker(kind: str) -> None:
    with start_broker(prefer=kind) as broker:
        assert broker.kind == kind
        # a client that dies without disconnecting: its will (retained) must be delivered
        script = textwrap.dedent(
            f"""
            import asyncio, os, aiomqtt
            from triwarn.services.runtime import mqtt
            async def main():
                will = aiomqtt.Will("triwarn/v1/jp/status", b"death", qos=1, retain=True)
                async with mqtt.client("{broker.url}", "dying-node", will=will, keepalive_s=1) as c:
                    await c.publish("triwarn/v1/jp/status", b"birth", qos=1, retain=True)
                    os._exit(0)  # no DISCONNECT packet: the broker must publish the will
            asyncio.run(main())
            """
        )
        subprocess.run([sys.executable, "-c", script], check=True, timeout=30)

        async def receive() -> list[bytes]:
            got: list[bytes] = []
            async with mqtt.client(broker.url, "observer") as c:
                await c.subscribe("triwarn/v1/+/status", qos=1)
                await c.subscribe("triwarn/v1/+/tracks", qos=1)
                await c.publish("triwarn/v1/us/tracks", b"batch", qos=1)
                async for message in c.messages:
                    got.append(bytes(message.payload))  # type: ignore[arg-type]
                    if b"batch" in got and b"death" in got:
                        return got
            return got

        got = asyncio.run(asyncio.wait_for(receive(), timeout=20))
        assert b"death" in got, "the last will (retained) was not delivered"
        assert b"batch" in got


def test_a_broker_url_that_does_not_answer_says_what_to_do() -> None:
    with pytest.raises(BrokerError, match="start one"):
        start_broker(f"mqtt://127.0.0.1:{free_port()}", timeout_s=0.5)
    with pytest.raises(BrokerError, match="mqtt://HOST:PORT"):
        start_broker("http://example")


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto is not installed")
def test_the_generated_mosquitto_config_drops_payloads_over_the_limit() -> None:
    """A 100 MB publish never reaches a subscriber (nor its memory); the next small message does."""
    with start_broker(prefer="mosquitto") as broker:

        async def main() -> list[int]:
            sizes: list[int] = []
            async with mqtt.client(broker.url, "limit-observer") as sub:
                await sub.subscribe("triwarn/v1/us/tracks", qos=1)
                async with mqtt.client(broker.url, "limit-publisher") as pub:
                    with contextlib.suppress(aiomqtt.MqttError):  # the broker may also close the connection
                        await pub.publish("triwarn/v1/us/tracks", b"\0" * (MAX_PAYLOAD_BYTES + 1), qos=1)
                async with mqtt.client(broker.url, "limit-publisher-2") as pub:
                    await pub.publish("triwarn/v1/us/tracks", b"small", qos=1)
                async for message in sub.messages:
                    sizes.append(len(message.payload))  # type: ignore[arg-type]
                    if message.payload == b"small":
                        return sizes
            return sizes

        assert asyncio.run(asyncio.wait_for(main(), timeout=30)) == [5]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs mosquitto")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_broker_does_not_outlive_the_process_that_started_it_even_killed() -> None:
    """SIGKILL of what started a Mosquitto broker (the demo, a benchmark) leaves no broker behind."""
    code = textwrap.dedent(
        """
        import sys, time
        from triwarn.services.runtime.broker import start_broker
        b = start_broker(prefer="mosquitto")
        print(b.process.pid, flush=True)
        time.sleep(60)
        """
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as parent:
        try:
            assert parent.stdout is not None
            broker_pid = int(parent.stdout.readline())
            assert _alive(broker_pid)
            parent.kill()
            parent.wait(10)
            deadline = time.monotonic() + 10
            while _alive(broker_pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            still = _alive(broker_pid)
            if still:
                os.kill(broker_pid, signal.SIGKILL)
            assert not still, "the broker outlived the process that started it"
        finally:
            parent.kill()


def test_a_free_port_is_never_the_documented_grpc_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """free_port() skips 50051 (the fusion service's documented port, the demo's): a broker or service on a
    "free" port must not take it from a demo starting meanwhile."""
    import socket

    from triwarn.services.runtime import broker as broker_mod

    ports = iter([50051, 50051, 40123])

    class Fake:
        def __enter__(self) -> Fake:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def bind(self, addr: tuple[str, int]) -> None:
            self.port = next(ports)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(socket, "socket", lambda *a, **k: Fake())
    assert broker_mod.free_port() == 40123
