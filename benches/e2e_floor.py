"""The bare transport floor's consumer: a child process that takes the nations' batches from MQTT and sends a
fixed picture update for each to every subscriber from its own gRPC server, with no fusion and no log: what
the machine's transport costs on its own."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Any

import grpc

from triwarn.services.distribution.keepalive import SERVER_OPTIONS
from triwarn.services.distribution.server import SERVICE_NAME
from triwarn.services.runtime import mqtt
from triwarn.services.wire import tracks as wire
from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2


def floor_main(broker_url: str, target: str, template: bytes, conn: Any) -> None:
    asyncio.run(_floor(broker_url, target, template, conn))


async def _floor(broker_url: str, target: str, template: bytes, conn: Any) -> None:
    """Child process: MQTT (QoS 1, aiomqtt, like the fusion service) -> parse the batch for its sent time ->
    the update bytes (``template`` with seq and source_sent_time_ns appended: protobuf merges concatenated
    messages) -> one bounded queue per subscriber -> grpc.aio ``context.write`` of the same bytes to each."""

    queues: set[asyncio.Queue[bytes]] = set()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    snapshot = picture_pb2.PictureUpdate(kind=picture_pb2.PictureUpdate.KIND_SNAPSHOT).SerializeToString()

    async def subscribe(request: Any, context: Any) -> None:
        queue: asyncio.Queue[bytes] = asyncio.Queue(1000)
        queues.add(queue)
        try:
            await context.write(snapshot)
            while True:
                await context.write(await queue.get())
        finally:
            queues.discard(queue)

    server = grpc.aio.server(options=SERVER_OPTIONS)
    handler = grpc.unary_stream_rpc_method_handler(
        subscribe, request_deserializer=warning_service_pb2.SubscribeRequest.FromString, response_serializer=None
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, {"Subscribe": handler}),))
    server.add_insecure_port(target)
    await server.start()
    seq = 0
    async with mqtt.client(broker_url, f"bench-floor-{time.time_ns()}") as client:
        await client.subscribe(wire.TRACKS_SUBSCRIPTION, qos=1)
        conn.send("ready")

        async def consume() -> None:
            nonlocal seq
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
                sent_ns = tracks_pb2.LocalTrackBatch.FromString(bytes(payload)).sent_time_ns
                seq += 1
                tail = picture_pb2.PictureUpdate(seq=seq, time_ns=time.time_ns(), source_sent_time_ns=sent_ns)
                data = template + tail.SerializeToString()
                for queue in list(queues):
                    queue.put_nowait(data)

        consumer = asyncio.create_task(consume())
        await stop.wait()
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    await server.stop(0.5)
