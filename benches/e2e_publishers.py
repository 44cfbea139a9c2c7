"""What the end-to-end benchmark sends: three nations' track batches over MQTT (the synthetic objects of
:mod:`triwarn.sensors.sim.synthetic`, propagated under point-mass gravity between batches so that they stay
associated), and a synthetic picture update for the stages that run without fusion."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import numpy as np

from triwarn.core.tracks import NATIONS
from triwarn.core.trajectory.constants import GM_M3_S2
from triwarn.sensors.sim import synthetic
from triwarn.services.runtime import mqtt
from triwarn.services.wire import tracks as wire
from triwarn.v1 import picture_pb2, tracks_pb2


def synthetic_update(n_objects: int) -> Any:
    """A DELTA of ``n_objects`` fused tracks as the fusion service fills them (state, covariance, sources)."""
    update = picture_pb2.PictureUpdate(kind=picture_pb2.PictureUpdate.KIND_DELTA)
    for i in range(n_objects):
        t = update.tracks.add(track_id=i + 1, time_ns=time.time_ns(), phase=2, warning_level=2)
        t.state.x_m, t.state.y_m, t.state.z_m = -3.1e6, 4.1e6, 3.9e6
        t.state.covariance_upper.extend([1.0e4] * 21)
        nations = [tracks_pb2.NATION_US, tracks_pb2.NATION_JP, tracks_pb2.NATION_KR]
        t.contributing_nations.extend(nations)
        for nation in nations:
            t.sources.add(nation=nation, node_id="xx-c2", local_track_number=i + 1)
        t.altitude_m, t.lat_deg, t.lon_deg = 3.0e5, 39.0, 131.0
    return update


def propagate(truth: np.ndarray, dt_s: float, steps: int = 4) -> np.ndarray:
    """Point-mass gravity, a few RK-free semi-implicit Euler steps: accurate to metres over a second."""
    x = truth.copy()
    h = dt_s / steps
    for _ in range(steps):
        r = np.linalg.norm(x[:, :3], axis=1, keepdims=True)
        x[:, 3:] += -GM_M3_S2 * x[:, :3] / r**3 * h
        x[:, :3] += x[:, 3:] * h
    return x


async def publish(broker_url: str, n_objects: int, duration_s: float, period_s: float) -> list[tuple[str, int, int]]:
    """Three nations publish for ``duration_s``; returns (nation, sent_time_ns, n_tracks) per batch."""
    truth0 = synthetic.truth_states(n_objects, seed=7)
    published: list[tuple[str, int, int]] = []

    async def nation_loop(i: int, nation: str, client: Any) -> None:
        truth = truth0
        k = 0
        while True:
            t_next = start + k * period_s + i * period_s / len(NATIONS)  # nations spread over a period
            if t_next - start >= duration_s:
                return
            # the batch is built and encoded before its time; sent_time_ns is stamped right before publish
            planned_ns = time.time_ns() + int((t_next - time.monotonic()) * 1e9)
            body = wire.encode_batch(synthetic.nation_batch(nation, truth, planned_ns, batch_seq=k, seed=k))
            await asyncio.sleep(max(0.0, t_next - time.monotonic()))
            now = time.time_ns()
            await client.publish(wire.tracks_topic(nation), wire.with_sent_time(body, now), qos=1)
            published.append((nation, now, n_objects))
            truth = propagate(truth, period_s)
            k += 1

    # every client connects before the first publish and disconnects after the last one of all: a client's
    # disconnect, in this one event loop, delayed the others' last publishes by up to 60 ms
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(mqtt.client(broker_url, f"bench-e2e-{n}-{time.time_ns()}")) for n in NATIONS
        ]
        start = time.monotonic() + 0.2
        await asyncio.gather(*(nation_loop(i, n, c) for i, (n, c) in enumerate(zip(NATIONS, clients, strict=True))))
    return published
