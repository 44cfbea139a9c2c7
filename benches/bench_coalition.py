"""The coalition topology's costs: latency added per bridge hop, signature cost per batch, edge throughput.

Run: ``python benches/bench_coalition.py [--seconds 20] [--streams 10,100,500]``; writes
``benches/results/bench_coalition.json``. Needs mosquitto (and cc for the TCP_NODELAY shim).

1. **Per hop** (real brokers, mutual TLS, QoS 1): every nation's node publishes a signed batch of 30 tracks
   10 times a second on its national broker (3 × 300 tracks/s; then batches of 100 tracks, ~27 kB, where
   Nagle's algorithm shows); a subscriber on the same broker (0 hops) and
   one at the hub (1 hop) timestamp every message: the added latency of the hop is their difference, message
   by message (paired). Downlink alike: picture updates published at the hub for view jp, received at the
   hub (0 hops) and on jp's broker (1 hop). Run with the bridges' TCP_NODELAY shim and without.
2. **Signatures**: Ed25519 sign and verify (``Signer.sign``, ``Verifier.verify``) of batches of 30 and 300
   tracks, median of many.
3. **Edge throughput**: ``triwarn edge`` (its own process) fed 100 updates/s of 30 tracks each over the
   bridge; N console streams (one client process, mutual TLS) subscribe; updates delivered per second across
   all streams, and the release-to-console latency p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from triwarn.sensors.sim.synthetic import nation_batch, truth_states
from triwarn.services.policy import Policy
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.broker import free_port
from triwarn.services.runtime.tls import TlsFiles
from triwarn.services.trust import signing
from triwarn.services.trust.labels import Releaser
from triwarn.services.trust.pki import Identity, default_identities, init_pki
from triwarn.services.trust.registry import load_registry
from triwarn.services.trust.topology import CoalitionBrokers, start_coalition
from triwarn.services.wire import tracks as wire
from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

RESULTS = Path(__file__).resolve().parent / "results" / "bench_coalition.json"
NATIONS = ("us", "jp", "kr")
MONITORS = {n: f"monitor-{n}" for n in ("hub", *NATIONS)}
#: a second subscriber on jp's broker: its difference to the first is the measurement's own noise (0 hops)
FLOOR = "monitor-jp-b"


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _pki(folder: Path) -> Path:
    extra = [Identity(name, "console", "us" if n == "hub" else n) for n, name in MONITORS.items()]
    return init_pki(folder, [*default_identities(), *extra, Identity(FLOOR, "console", "jp")])


def _brokers(pki: Path, work: Path, nodelay: bool, count_denied: bool = True) -> CoalitionBrokers:
    return start_coalition(
        pki,
        Policy.release_all(),
        load_registry(pki / "node-keys.toml"),
        workdir=work,
        extra_acl={
            n: f"user {name}\ntopic read #\n" + (f"user {FLOOR}\ntopic read #\n" if n == "jp" else "")
            for n, name in MONITORS.items()
        },
        bridge_nodelay=nodelay,
        count_denied=count_denied,  # debug-level logs read by this process (as the demo and the tests run)
    )


async def _receive(
    url: str, files: TlsFiles, topics: list[str], seen: dict[tuple[str, int], int], ready: asyncio.Event
) -> None:
    """Record (topic, message number) -> receive time (ns) of every message on ``topics``."""
    async with mqtt.client(url, "bench", tls=files) as client:
        for t in topics:
            await client.subscribe(t, qos=1)
        ready.set()
        async for m in client.messages:
            payload = m.payload if isinstance(m.payload, bytes | bytearray) else b""
            if len(payload) >= 8:
                seen[(str(m.topic), int.from_bytes(payload[:8], "big"))] = time.time_ns()


def _payloads(n_tracks: int, pki: Path, nation: str) -> bytes:
    batch = nation_batch(nation, truth_states(n_tracks, 0), time.time_ns())
    return signing.Signer.load(pki / f"{nation}-c2.ed25519", f"{nation}-c2").sign(
        signing.BATCH, wire.encode_batch(batch)
    )


async def _hops(brokers: CoalitionBrokers, pki: Path, seconds: float, rate_hz: float, n_tracks: int) -> dict[str, Any]:
    """Paired per-hop latency, uplink (every nation) and downlink (view jp)."""
    near: dict[tuple[str, int], int] = {}
    hub: dict[tuple[str, int], int] = {}
    jp_down: dict[tuple[str, int], int] = {}
    floor: dict[tuple[str, int], int] = {}
    sent: dict[tuple[str, int], int] = {}
    ready = [asyncio.Event() for _ in range(5)]
    receivers = [
        asyncio.create_task(_receive(brokers.url("hub"), TlsFiles.in_dir(pki, MONITORS["hub"]), ["#"], hub, ready[0]))
    ]
    for i, n in enumerate(NATIONS):
        files = TlsFiles.in_dir(pki, MONITORS[n])
        target = jp_down if n == "jp" else near
        receivers.append(asyncio.create_task(_receive(brokers.url(n), files, ["#"], target, ready[i + 1])))
    receivers.append(
        asyncio.create_task(_receive(brokers.url("jp"), TlsFiles.in_dir(pki, FLOOR), ["#"], floor, ready[4]))
    )
    async with asyncio.timeout(10):
        await asyncio.gather(*(r.wait() for r in ready))
    body = {n: _payloads(n_tracks, pki, n) for n in NATIONS}
    picture = body["jp"]  # a picture update of as many tracks is of about the same size

    async def publish(url: str, identity: str, topic: str, payload: bytes) -> None:
        async with mqtt.client(url, identity, tls=TlsFiles.in_dir(pki, identity)) as client:
            k = 0
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                sent[(topic, k)] = time.time_ns()
                await client.publish(topic, k.to_bytes(8, "big") + payload, qos=1)
                k += 1
                await asyncio.sleep(max(0.0, t0 + k / rate_hz - time.monotonic()))

    await asyncio.sleep(1.0)
    await asyncio.gather(
        *(publish(brokers.url(n), f"{n}-c2", f"triwarn/v1/{n}/tracks", body[n]) for n in NATIONS),
        publish(brokers.url("hub"), "fusion-us", "triwarn/v1/picture/jp/updates", picture),
    )
    await asyncio.sleep(2.0)
    for r in receivers:
        r.cancel()
    await asyncio.gather(*receivers, return_exceptions=True)
    both = {**near, **jp_down}
    up = [(hub[k] - both[k]) * 1e-6 for k in sent if k in hub and k in both and "/picture/" not in k[0]]
    down = [(jp_down[k] - hub[k]) * 1e-6 for k in sent if k in hub and k in jp_down and "/picture/" in k[0]]
    noise = [(floor[k] - jp_down[k]) * 1e-6 for k in sent if k in floor and k in jp_down]
    lost = sum(1 for k in sent if k not in hub)
    return {
        "uplink_added_ms": {"p50": _pct(up, 50), "p99": _pct(up, 99), "n": len(up)},
        "downlink_added_ms": {"p50": _pct(down, 50), "p99": _pct(down, 99), "n": len(down)},
        "noise_floor_ms": {"p50": _pct(noise, 50), "p99": _pct(noise, 99), "n": len(noise)},
        "payload_bytes": len(body["jp"]) + 8,
        "messages_lost_at_hub": lost,
    }


def _signatures(pki: Path) -> dict[str, Any]:
    verifier = signing.Verifier(load_registry(pki / "node-keys.toml"))
    signer = signing.Signer.load(pki / "jp-c2.ed25519", "jp-c2")
    out = {}
    for n_tracks in (30, 300):
        payload = wire.encode_batch(nation_batch("jp", truth_states(n_tracks, 0), time.time_ns()))
        signed = signer.sign(signing.BATCH, payload)
        sign_s, verify_s = [], []
        for _ in range(300):
            t = time.perf_counter()
            signer.sign(signing.BATCH, payload)
            sign_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            verifier.verify(signing.BATCH, "jp", signed)
            verify_s.append(time.perf_counter() - t)
        out[f"{n_tracks}_tracks"] = {
            "bytes": len(signed),
            "signature_bytes": len(signed) - len(payload),
            "sign_us_p50": statistics.median(sign_s) * 1e6,
            "verify_us_p50": statistics.median(verify_s) * 1e6,
        }
    return out


def _update(seq: int, n_tracks: int) -> bytes:
    u = picture_pb2.PictureUpdate(seq=seq, kind=picture_pb2.PictureUpdate.KIND_DELTA, view=tracks_pb2.NATION_JP)
    u.time_ns = time.time_ns()
    for i in range(n_tracks):
        t = u.tracks.add(track_id=i + 1, altitude_m=1e5 + seq)
        t.contributing_nations.extend([tracks_pb2.NATION_JP, tracks_pb2.NATION_US])
    return u.SerializeToString()


async def _edge_throughput(
    brokers: CoalitionBrokers, pki: Path, work: Path, streams: int, seconds: float
) -> dict[str, Any]:
    port = free_port()
    log = (work / f"edge-{streams}.log").open("wb")
    edge = subprocess.Popen(
        [sys.executable, "-P", "-m", "triwarn.cli.main", "edge", "--nation", "jp", "--broker", brokers.url("jp"),
         "--listen", f"127.0.0.1:{port}", "--warning-log", str(work / f"edge-{streams}.sqlite"), "--tls-dir", str(pki)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    releaser = Releaser.load(pki / "fusion-us.ed25519", "fusion-us", "bench")
    files = TlsFiles.in_dir(pki, "console-jp")
    try:
        async with mqtt.client(brokers.url("hub"), "fusion-us", tls=TlsFiles.in_dir(pki, "fusion-us")) as hub:
            snap = picture_pb2.PictureUpdate(kind=picture_pb2.PictureUpdate.KIND_SNAPSHOT, view=tracks_pb2.NATION_JP)
            data = releaser.release("jp", 0, snap.SerializeToString())
            await hub.publish("triwarn/v1/picture/jp/snapshot", data, qos=1, retain=True)
            channel_opts = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
            channels = [
                grpc.aio.secure_channel(f"127.0.0.1:{port}", files.grpc_channel_credentials(), options=channel_opts)
                for _ in range(max(1, streams // 50))
            ]
            async with asyncio.timeout(60):
                await channels[0].channel_ready()
            received = [0]
            lat: list[float] = []

            async def console(i: int) -> None:
                stub = warning_service_pb2_grpc.WarningServiceStub(channels[i % len(channels)])
                async for u in stub.Subscribe(warning_service_pb2.SubscribeRequest()):
                    if u.kind == picture_pb2.PictureUpdate.KIND_DELTA:
                        received[0] += 1
                        if i % 10 == 0:
                            lat.append((time.time_ns() - u.time_ns) * 1e-6)

            tasks = [asyncio.create_task(console(i)) for i in range(streams)]
            await asyncio.sleep(2.0)
            rate_hz, n = 100.0, int(100.0 * seconds)
            t0 = time.monotonic()
            for k in range(1, n + 1):
                await hub.publish("triwarn/v1/picture/jp/updates", releaser.release("jp", k, _update(k, 30)), qos=1)
                await asyncio.sleep(max(0.0, t0 + k / rate_hz - time.monotonic()))
            await asyncio.sleep(3.0)
            elapsed = time.monotonic() - t0
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for c in channels:
                await c.close()
        return {
            "streams": streams,
            "updates_published": n,
            "updates_delivered": received[0],
            "expected": n * streams,
            "delivered_per_s": received[0] / elapsed,
            "latency_ms_p50": _pct(lat, 50),
            "latency_ms_p99": _pct(lat, 99),
        }
    finally:
        edge.send_signal(signal.SIGTERM)
        edge.wait(20)
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per latency run (default 20)")
    parser.add_argument("--rate", type=float, default=10.0, help="batches per second per nation (default 10)")
    parser.add_argument("--streams", default="10,100,500", help="console streams of the edge runs")
    parser.add_argument("--edge-seconds", type=float, default=5.0, help="seconds of updates per edge run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="triwarn-bench-coalition-"))
    pki = _pki(work / "pki")
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "rate_per_nation_hz": args.rate,
        "tracks_per_batch": 30,
        "signatures": _signatures(pki),
        "hops": {},
    }
    print(json.dumps(result["signatures"], indent=1), flush=True)
    for nodelay in (True, False):
        brokers = _brokers(pki, work / f"brokers-{nodelay}", nodelay)
        try:
            time.sleep(2.0)  # bridges connect
            for n_tracks in (30, 100):
                key = f"{'bridge_tcp_nodelay' if nodelay else 'bridge_nagle'}_{n_tracks}_tracks"
                result["hops"][key] = asyncio.run(_hops(brokers, pki, args.seconds, args.rate, n_tracks))
                print(key, json.dumps(result["hops"][key]), flush=True)
            if nodelay:
                result["edge"] = []
                for streams in (int(s) for s in args.streams.split(",")):
                    r = asyncio.run(_edge_throughput(brokers, pki, work, streams, args.edge_seconds))
                    result["edge"].append(r)
                    print("edge", json.dumps(r), flush=True)
        finally:
            brokers.stop()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
