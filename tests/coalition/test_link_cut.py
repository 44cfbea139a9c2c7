"""A 60 s cut of jp's link to the hub while the hub stays up (a TCP proxy between jp's bridge and the hub
drops every connection and refuses new ones): jp's broker queues, the jp edge serves its last picture marked
stale, and after the link returns the fusion service has every jp batch exactly once and the edge is fresh."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from coalition_helpers import SignedPublishers, fusion_at_hub, wait_until

from triwarn.services.policy import Policy
from triwarn.services.runtime.broker import free_port
from triwarn.services.trust.registry import load_registry
from triwarn.services.trust.topology import CoalitionBrokers, start_coalition

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CUT_S = 60.0


class CuttableProxy:
    """A TCP proxy 127.0.0.1:``port`` -> 127.0.0.1:``upstream`` in its own thread; ``cut()`` resets every
    connection and stops listening until ``restore()`` (connects are refused: a partition that ends in RST).

    Not an accept-then-close cut: Mosquitto 2.0.11's TLS bridge, when its peer accepts TCP and closes during
    the TLS handshake a few times in a row, spins at 100 % CPU and stops serving its local clients
    (docs/coalition.md)."""

    def __init__(self, upstream: int) -> None:
        self.port = free_port()
        self.upstream = upstream
        self.cut_now = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> CuttableProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(5)
        return self

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_now:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        def do() -> None:
            self.cut_now = True
            self._server.close()
            for w in list(self._writers):
                w.transport.abort()

        self._loop.call_soon_threadsafe(do)

    def restore(self) -> None:
        self.cut_now = False
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(5)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture
def cut_coalition(pki: Path, tmp_path: Path) -> Iterator[tuple[CoalitionBrokers, CuttableProxy]]:
    hub_port = free_port()
    proxy = CuttableProxy(hub_port).start()
    brokers = start_coalition(
        pki,
        Policy.release_all(),
        load_registry(pki / "node-keys.toml"),
        workdir=tmp_path / "brokers",
        bridge_targets={"jp": ("127.0.0.1", proxy.port)},
        hub_port=hub_port,
    )
    try:
        yield brokers, proxy
    finally:
        brokers.stop()
        proxy.stop()


def test_a_60_s_link_cut_loses_nothing(
    cut_coalition: tuple[CoalitionBrokers, CuttableProxy], pki: Path, tmp_path: Path
) -> None:
    brokers, proxy = cut_coalition
    thread, metrics = fusion_at_hub(brokers, pki, tmp_path, max_age_s=CUT_S + 60)

    def received(nation: str) -> int:
        return int(metrics.value("triwarn_batches_received_total", nation=nation))

    async def run() -> tuple[dict[str, int], int, int]:
        async with SignedPublishers(brokers, pki, period_s=0.2) as pubs:
            assert await wait_until(lambda: all(received(n) > 5 for n in ("us", "jp", "kr")), 30)
            proxy.cut()
            await asyncio.sleep(5.0)
            jp_during, kr_during = received("jp"), received("kr")
            await asyncio.sleep(CUT_S - 5.0)
            kr_grew = received("kr") - kr_during
            jp_grew = received("jp") - jp_during
            proxy.restore()
            await asyncio.sleep(2.0)
        sent = dict(pubs.sent)
        await wait_until(lambda: all(received(n) >= sent[n] for n in sent), 60)
        await asyncio.sleep(1.0)
        return sent, jp_grew, kr_grew

    try:
        sent, jp_grew, kr_grew = asyncio.run(run())
        got = {n: received(n) for n in sent}
    finally:
        thread.stop()
    assert jp_grew == 0  # the link was really cut
    assert kr_grew > (CUT_S - 5) * 4  # the other nations were not affected
    assert got == sent
