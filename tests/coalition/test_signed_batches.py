"""Signed track batches end to end: nodes publish on their national brokers under their certificates, the
bridges carry the bytes to the hub, and the fusion service there accepts only what a registered node of the
topic's nation signed; everything else is rejected and counted by reason (real brokers, TLS and gRPC)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
from coalition_helpers import ServiceThread, fusion_at_hub, tls, wait_until
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from triwarn.sensors.sim.synthetic import nation_batch, truth_states
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.trust import signing
from triwarn.services.trust.topology import CoalitionBrokers
from triwarn.services.wire import tracks as wire
from triwarn.v1 import tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

pytestmark = pytest.mark.timeout(900)


def _batch(nation: str, seq: int, node_id: str = "") -> bytes:
    batch = nation_batch(nation, truth_states(2, 0), time.time_ns(), batch_seq=seq, bd_seq=7)
    payload = wire.encode_batch(batch)
    if node_id:
        payload += tracks_pb2.LocalTrackBatch(node_id=node_id).SerializeToString()
    return payload


def _status(nation: str, bd_seq: int, birth: bool) -> bytes:
    event = wire.NodeStatusEvent(nation, f"{nation}-c2", birth, bd_seq, time.time_ns(), (), 1.0)
    return wire.encode_status(event)


def _signer(pki: Path, node_id: str) -> signing.Signer:
    return signing.Signer.load(pki / f"{node_id}.ed25519", node_id)


def _rejected(metrics: Metrics, nation: str, reason: str) -> float:
    return metrics.value("triwarn_batches_rejected_total", nation=nation, reason=reason)


async def _jp_tracks(target: str, pki: Path) -> int:
    files = tls(pki, "console-jp")
    async with grpc.aio.secure_channel(target, files.grpc_channel_credentials()) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        snap = await stub.GetPicture(warning_service_pb2.GetPictureRequest(), timeout=5)
    return sum(1 for t in snap.tracks if tracks_pb2.NATION_JP in t.contributing_nations)


@pytest.fixture(scope="module")
def hub_fusion(coalition: CoalitionBrokers, pki: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    thread, metrics = fusion_at_hub(coalition, pki, tmp_path_factory.mktemp("fusion"))
    try:
        yield thread, metrics
    finally:
        thread.stop()


def test_every_forgery_is_rejected_and_counted(
    coalition: CoalitionBrokers, pki: Path, hub_fusion: tuple[ServiceThread, Metrics]
) -> None:
    thread, metrics = hub_fusion
    jp = _signer(pki, "jp-c2")
    kr = _signer(pki, "kr-c2")
    rogue = signing.Signer("jp-c9", Ed25519PrivateKey.generate())  # not registered
    impostor = signing.Signer("jp-c2", Ed25519PrivateKey.generate())  # a registered id, another key
    good = jp.sign(signing.BATCH, _batch("jp", 0))
    tampered = bytearray(good)
    tampered[40] ^= 0x01
    cases = {
        "unsigned": [_batch("jp", 1)],
        "unknown_node": [rogue.sign(signing.BATCH, _batch("jp", 2))],
        "wrong_nation": [kr.sign(signing.BATCH, _batch("jp", 3))],  # kr's key (stolen) on jp's topic
        "bad_signature": [
            bytes(tampered),
            impostor.sign(signing.BATCH, _batch("jp", 4)),
            jp.sign(signing.STATUS, _batch("jp", 5)),  # a status signature passed off as a batch's
        ],
        "node_mismatch": [jp.sign(signing.BATCH, _batch("jp", 6, node_id="jp-c3"))],
        "replayed": [good],  # the same signed batch again, after it was accepted
    }
    forged_status = [
        _status("jp", 2**62, birth=False),  # unsigned DEATH with a huge bd_seq: the attack of issue 15
        kr.sign(signing.STATUS, _status("jp", 2**62, birth=False)),
    ]

    async def run() -> tuple[int, int]:
        async with mqtt.client(coalition.url("jp"), "jp-c2", tls=tls(pki, "jp-c2")) as node:
            await node.publish("triwarn/v1/jp/status", jp.sign(signing.STATUS, _status("jp", 7, True)), qos=1)
            await node.publish("triwarn/v1/jp/tracks", good, qos=1)
            target = thread_target
            assert await _wait_async(lambda: _jp_tracks(target, pki), 15)
            for payloads in cases.values():
                for p in payloads:
                    await node.publish("triwarn/v1/jp/tracks", p, qos=1)
            for p in forged_status:
                await node.publish("triwarn/v1/jp/status", p, qos=1)
            await asyncio.sleep(0.2)
            assert await wait_until(lambda: _rejected(metrics, "jp", "replayed") >= 1, 10)
            await asyncio.sleep(0.5)
            return await _jp_tracks(target, pki), int(metrics.value("triwarn_node_online", nation="jp"))

    thread_target = _target(thread)
    tracks, status = asyncio.run(run())
    assert tracks > 0  # the signed batch made it into jp's view
    assert status == 1  # the forged DEATHs did not mark the node offline
    expected = {reason: len(p) for reason, p in cases.items()}
    expected["unsigned"] += 1
    expected["wrong_nation"] += 1
    got = {reason: int(_rejected(metrics, "jp", reason)) for reason in expected}
    assert got == expected


def _target(thread: ServiceThread) -> str:
    return thread.target


async def _wait_async(probe, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await probe():
            return True
        await asyncio.sleep(0.1)
    return False
