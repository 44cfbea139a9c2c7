"""The end-to-end benchmark's subscribers: N gRPC ``Subscribe`` streams of the ``us`` view in child processes,
each recording, per update, its sequence number, source sent time, receipt time (stamped before the bytes are
parsed), the service's stamp, its track count and its size."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from typing import Any, cast

import grpc

from triwarn.services.distribution.keepalive import CLIENT_OPTIONS
from triwarn.v1 import picture_pb2, warning_service_pb2


class Subscribers:
    """``n`` subscribers spread over ``procs`` child processes (each an event loop with one gRPC channel per
    subscriber). ``progress`` counts the batch-caused updates received so far, all subscribers together."""

    def __init__(self, target: str, n: int, procs: int = 1) -> None:
        ctx = multiprocessing.get_context("spawn")
        procs = max(1, min(procs, n))
        self.progress = ctx.Value("q", 0)
        self._pipes: list[Any] = []
        self._procs: list[Any] = []
        for k in range(procs):
            size = n // procs + (1 if k < n % procs else 0)
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_subscribers_main, args=(target, size, child, self.progress), daemon=True)
            proc.start()
            self._pipes.append(parent)
            self._procs.append(proc)

    def wait_ready(self, timeout_s: float) -> None:
        for pipe in self._pipes:
            if not pipe.poll(timeout_s):
                raise RuntimeError("the subscribers did not connect")
            pipe.recv()  # "ready"

    def stop(self) -> list[dict[str, Any]]:
        """Stop every subscriber; their records (one dict per subscriber)."""
        for pipe in self._pipes:
            pipe.send("stop")
        records: list[dict[str, Any]] = []
        for pipe in self._pipes:
            records += pipe.recv()
        self.join()
        return records

    def join(self) -> None:
        for proc in self._procs:
            proc.join(10)


def _subscribers_main(target: str, n: int, conn: Any, progress: Any) -> None:
    asyncio.run(_subscribers(target, n, conn, progress))


def _new_records(n: int) -> list[dict[str, list[int]]]:
    return [
        {"seq": [], "source_ns": [], "recv_ns": [], "stamp_ns": [], "n_tracks": [], "n_bytes": []} for _ in range(n)
    ]


def _record(rec: dict[str, list[int]], data: bytes, recv_ns: int, progress: Any) -> None:
    update = picture_pb2.PictureUpdate.FromString(data)
    rec["seq"].append(update.seq)
    if update.source_sent_time_ns:  # caused by a node's batch (assessment updates carry 0)
        with progress.get_lock():
            progress.value += 1
    rec["source_ns"].append(update.source_sent_time_ns)
    rec["recv_ns"].append(recv_ns)
    rec["stamp_ns"].append(update.time_ns)
    rec["n_tracks"].append(len(update.tracks))
    rec["n_bytes"].append(len(data))


_SUBSCRIBE = "/triwarn.v1.WarningService/Subscribe"


async def _subscribers(target: str, n: int, conn: Any, progress: Any) -> None:
    """N subscribers of the default view in this process's event loop, each on its own channel. Each receives
    an update's bytes and stamps the receipt before parsing them (the parse is the client's own work; in one
    process it still delays the other subscribers)."""

    records = _new_records(n)
    channels = [grpc.aio.insecure_channel(target, options=CLIENT_OPTIONS) for _ in range(n)]
    calls = [
        ch.unary_stream(
            _SUBSCRIBE,
            request_serializer=warning_service_pb2.SubscribeRequest.SerializeToString,
            response_deserializer=None,  # the update's bytes: stamped before they are parsed
        )(warning_service_pb2.SubscribeRequest())
        for ch in channels
    ]
    for call in calls:
        snap = picture_pb2.PictureUpdate.FromString(cast(bytes, await call.read()))
        assert snap.kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT

    async def reader(call: Any, rec: dict[str, list[int]]) -> None:
        while True:
            data = await call.read()
            now = time.time_ns()
            if data is grpc.aio.EOF:  # type: ignore[attr-defined]
                return
            _record(rec, data, now, progress)

    tasks = [asyncio.create_task(reader(c, r)) for c, r in zip(calls, records, strict=True)]
    conn.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
    for call in calls:
        call.cancel()
    for t in tasks:
        with contextlib.suppress(BaseException):
            await t
    for ch in channels:
        await ch.close(None)
    conn.send(records)
