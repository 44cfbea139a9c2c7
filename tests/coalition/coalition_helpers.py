"""Helpers of the coalition tests: MQTT clients that publish as, and record what is delivered to, a given
identity (ACL tests look at deliveries, never at acknowledgements: a denied publish is dropped silently)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from triwarn.services.runtime import mqtt
from triwarn.services.runtime.tls import TlsFiles

#: national monitors that may read everything on their own broker (test-only ACL lines): what a broker carries
MONITORS = {n: f"monitor-{n}" for n in ("hub", "us", "jp", "kr")}


def tls(pki: Path, identity: str) -> TlsFiles:
    return TlsFiles.in_dir(pki, identity)


class Recorder:
    """Subscribes as ``identity`` to ``topics`` on ``url`` and records (topic, payload) until stopped."""

    def __init__(self, url: str, files: TlsFiles, topics: list[str]) -> None:
        self.url, self.files, self.topics = url, files, topics
        self.messages: list[tuple[str, bytes]] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def __aenter__(self) -> Recorder:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        async with mqtt.client(self.url, "recorder", tls=self.files) as client:
            for t in self.topics:
                await client.subscribe(t, qos=1)
            self._ready.set()
            async for m in client.messages:
                payload = m.payload if isinstance(m.payload, bytes | bytearray) else b""
                self.messages.append((str(m.topic), bytes(payload)))

    def topics_seen(self) -> set[str]:
        return {t for t, _ in self.messages}

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
