"""End-to-end benchmark: nodes -> Mosquitto -> fusion service -> gRPC -> N subscribers, all on loopback.

For every (rate, subscribers) configuration it starts a broker (Mosquitto when installed), a fresh fusion
service (``fusion.run``, the entry point of ``triwarn fusion``, in a child process with its own warning log
and a ``StageTrace``), N subscribers of the ``us`` view (one child process, one gRPC channel each) and three
publishers (us, jp, kr, one MQTT client each, QoS 1, like the nodes). Each nation publishes one batch per
``--period`` seconds with ``rate * period`` tracks of synthetic objects in mid-course
(``triwarn.services.synthetic``), propagated under point-mass gravity so that they stay associated. It
measures, per picture update a subscriber receives, the publish-to-receive latency (the batch's
``sent_time_ns``, stamped right before the MQTT publish, to the subscriber's clock when the update's bytes
arrive: one machine, one clock), the throughput, and everything lost: every published batch must reach
every subscriber as one update carrying its ``source_sent_time_ns``, and sequence numbers must have no gap.
The per-stage breakdown (``stages_ms``: p50, p99 and mean of each stage) joins the service's stage stamps
with the receipts; see ``STAGES``.

    triwarn bench e2e [--rates 100,300,1000] [--subscribers 1,10] [--duration 10] [--json]
    python benches/bench_e2e.py      (same, and writes benches/results/bench_e2e.json)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

from triwarn.benches.stage_trace import StageTrace

GM_M3_S2 = 3.986004418e14  # WGS-84 gravitational parameter (point mass is enough for a few seconds)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rates", default="100,300,1000", help="tracks per second per nation (default 100,300,1000)")
    p.add_argument("--subscribers", default="1,10", help="numbers of subscribers to run with (default 1,10)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of publishing per configuration")
    p.add_argument("--period", type=float, default=0.1, help="seconds between two batches of a nation")
    p.add_argument(
        "--subscriber-processes",
        type=int,
        default=1,
        help="spread the subscribers over this many processes (default 1; on 2 cores more was slower)",
    )
    p.add_argument("--broker", help="use this MQTT broker (mqtt://HOST:PORT) instead of starting one")
    p.add_argument("--json", action="store_true", help="print the results as one JSON document")
    p.add_argument("--output", type=Path, help="also write the results (JSON) to this file")
    p.add_argument(
        "--raw",
        type=Path,
        help="write every configuration's raw samples (publishes, receipts, the service's stage stamps) to DIR",
    )
    p.add_argument(
        "--distribution-only",
        action="store_true",
        help="run only the second stage (no broker, no fusion service)",
    )
    p.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip the bare transport floor (publishers -> Mosquitto -> a consumer that does no fusion -> gRPC -> "
        "subscribers)",
    )
    p.add_argument(
        "--no-distribution-stage",
        dest="distribution_stage",
        action="store_false",
        help="skip the second stage (picture hub -> warning log -> gRPC -> subscribers, without MQTT and fusion)",
    )


def run(args: argparse.Namespace) -> int:
    from triwarn.services.runtime.broker import start_broker

    rates = [int(r) for r in str(args.rates).split(",") if r]
    subs = [int(n) for n in str(args.subscribers).split(",") if n]
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else _print
    load_before = os.getloadavg()
    results: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    broker_kind = "none"
    if not args.distribution_only:
        broker = start_broker(args.broker)
        broker_kind = broker.kind
        say(f"broker: {broker.kind} at {broker.url}")
        try:
            for rate in rates:
                for n_subs in subs:
                    say(f"-- 3 nations x {rate} tracks/s, {n_subs} subscriber(s), {args.duration:g} s ...")
                    r = run_config(
                        broker.url, rate, n_subs, args.duration, args.period, say, args.subscriber_processes, args.raw
                    )
                    template = r.pop("_template", None)
                    results.append(r)
                    say(_line(r))
                    say(_stage_lines(r))
                    if args.floor:
                        say("   bare transport floor (no fusion, no log; same update bytes) ...")
                        f = run_floor_config(
                            broker.url, rate, n_subs, args.duration, args.period, args.subscriber_processes, template
                        )
                        floors.append(f)
                        say(_line(f, split=False))
        finally:
            broker.stop()
    stage2: list[dict[str, Any]] = []
    if args.distribution_stage or args.distribution_only:
        say("== distribution alone: PictureHub.publish -> SQLite log -> gRPC -> subscribers (same update sizes)")
        for rate in rates:
            for n_subs in subs:
                say(f"-- updates as for 3 nations x {rate} tracks/s, {n_subs} subscriber(s) ...")
                r = run_distribution_config(rate, n_subs, args.duration, args.period, args.subscriber_processes)
                stage2.append(r)
                say(_line(r, split=False))
                say(_stage_lines(r))
    doc = {
        "benchmark": "e2e",
        "what": "publish-to-receive latency, nodes -> MQTT broker -> fusion -> gRPC -> subscribers (loopback)",
        "broker": broker_kind,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # other work on the machine inflates every figure: the 1-minute load average before and after
            "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        },
        "duration_s": args.duration,
        "period_s": args.period,
        "results": results,
        "transport_floor": floors,
        "distribution_only": stage2,
    }
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        if results:
            print("\nend to end (nodes -> broker -> fusion -> gRPC -> subscribers):")
            _print_table(results)
        if floors:
            print("\nbare transport floor (nodes -> broker -> consumer without fusion or log -> gRPC -> subscribers):")
            _print_table(floors)
        if stage2:
            print("\ndistribution alone (hub -> log -> gRPC -> subscribers):")
            _print_table(stage2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(doc, indent=2) + "\n")
        say(f"written to {args.output}")
    return 0 if all(r["lost"] == 0 and r["gaps"] == 0 for r in results) else 1


def _print(*a: Any) -> None:
    print(*a, flush=True)


def _line(r: dict[str, Any], split: bool = True) -> str:
    if not split:
        return (
            f"   p50 {r['latency_ms']['p50']:.2f} ms  p99 {r['latency_ms']['p99']:.2f} ms  "
            f"max {r['latency_ms']['max']:.1f} ms  lost {r['lost']}  gaps {r['gaps']}  "
            f"{r['update_bytes_mean']:.0f} bytes per update"
        )
    return (
        f"   p50 {r['latency_ms']['p50']:.2f} ms  p99 {r['latency_ms']['p99']:.2f} ms  "
        f"max {r['latency_ms']['max']:.1f} ms  {r['delivered_tracks_per_s']:.0f} tracks/s delivered  "
        f"lost {r['lost']}  gaps {r['gaps']}\n"
        f"   of which publish -> fusion p50 {r['publish_to_fusion_ms']['p50']:.2f} ms, "
        f"fusion -> subscriber p50 {r['fusion_to_receive_ms']['p50']:.2f} ms; "
        f"fusion cycle mean {r['fusion_service'].get('fusion_cycle_mean_ms', float('nan')):.1f} ms"
    )


def _stage_lines(r: dict[str, Any]) -> str:
    stages = r.get("stages_ms") or {}
    lines = ["   stages (ms)                                      p50      p99     mean"]
    for name, v in stages.items():
        lines.append(f"     {name:<44} {v['p50']:>7.3f}  {v['p99']:>7.3f}  {v['mean']:>7.3f}")
    t = r.get("tail")
    if t:
        lines.append(
            f"   slowest 1% ({t['samples']} receipts, mean {t['latency_ms_mean']:.1f} ms): publish -> consumer "
            f"{t['mqtt_ms_mean']:.1f}, in the service {t['service_ms_mean']:.1f}, queues -> receipt "
            f"{t['to_receipt_ms_mean']:.1f} ms; {100 * t['during_assessment']:.0f}% during one of "
            f"{t['assessments']} assessment runs; {t['gc_count']} collections, longest {t['gc_max_ms']:.1f} ms"
        )
    return "\n".join(lines)


def _print_table(results: list[dict[str, Any]]) -> None:
    print()
    print("tracks/s/nation  subscribers  updates  p50 ms  p99 ms  max ms  tracks/s delivered (all subs)  lost")
    for r in results:
        print(
            f"{r['tracks_per_s_per_nation']:>15}  {r['subscribers']:>11}  {r['updates_received']:>7}  "
            f"{r['latency_ms']['p50']:>6.2f}  {r['latency_ms']['p99']:>6.2f}  {r['latency_ms']['max']:>6.1f}  "
            f"{r['delivered_tracks_per_s']:>29.0f}  {r['lost']:>4}"
        )


# --- one configuration ---------------------------------------------------------------------------------


def run_config(
    broker_url: str,
    rate: int,
    n_subs: int,
    duration_s: float,
    period_s: float,
    say: Any,
    procs: int = 1,
    raw_dir: Path | None = None,
) -> dict[str, Any]:
    from triwarn.services.runtime.broker import free_port

    n_objects = max(1, round(rate * period_s))
    with tempfile.TemporaryDirectory(prefix="triwarn-bench-e2e-") as tmp:
        target = f"127.0.0.1:{free_port()}"
        metrics_port = free_port()
        log_path = Path(tmp) / "fusion.log"
        trace_path = Path(tmp) / "stages.json"
        ctx = multiprocessing.get_context("spawn")
        # the service's own entry point (fusion.run) in a child process, with a StageTrace for the breakdown
        fusion = ctx.Process(
            target=_fusion_main,
            args=(broker_url, target, metrics_port, str(Path(tmp) / "warnings.sqlite"), str(log_path), str(trace_path)),
        )
        fusion.start()
        try:
            say("   starting the fusion service (compiling numba kernels (first run only)...)")
            _wait_serving(target, fusion, 300.0, log_path)
            subscribers = _Subscribers(target, n_subs, procs)
            subscribers.wait_ready(60.0)  # every subscriber holds its snapshot
            published = asyncio.run(_publish(broker_url, n_objects, duration_s, period_s))
            # drain: wait until every subscriber has every update, or nothing moved for 15 s (a busy machine
            # can stall the service for seconds; an update that comes later than that counts as lost)
            expected = len(published) * n_subs
            last, still_since = -1, time.monotonic()
            while subscribers.progress.value < expected and time.monotonic() - still_since < 15.0:
                if subscribers.progress.value != last:
                    last, still_since = subscribers.progress.value, time.monotonic()
                time.sleep(0.1)
            service = _scrape(metrics_port)
            template = _picture_template(target)
            if service.get("triwarn_batches_rejected_total") or service.get("triwarn_internal_errors_total"):
                say(f"   the fusion service logged: {log_path.read_text()[-1500:]}")
            received = subscribers.stop()
        finally:
            _stop_process(fusion, 15.0)
        trace = json.loads(trace_path.read_text()) if trace_path.exists() else None
    if raw_dir is not None:
        raw_dir.mkdir(parents=True, exist_ok=True)
        raw = {"published": published, "received": received, "trace": trace}
        (raw_dir / f"e2e-{rate}-{n_subs}.json").write_text(json.dumps(raw))
    summary = _summarize(rate, n_subs, n_objects, duration_s, period_s, published, received)
    summary["fusion_service"] = service
    if trace is not None:
        summary["stages_ms"] = _stages(published, received, trace)
        summary["tail"] = _tail(received, trace)
    summary["_template"] = template  # the floor's update (not in the JSON)
    return summary


def _picture_template(target: str) -> bytes:
    """The view's current picture as a DELTA carrying every track (the size of a fused update with its
    assessments), serialized: the update the transport floor sends."""
    import grpc

    from triwarn.v1 import picture_pb2, warning_service_pb2, warning_service_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        snap = warning_service_pb2_grpc.WarningServiceStub(channel).GetPicture(
            warning_service_pb2.GetPictureRequest(), timeout=10.0
        )
    return picture_pb2.PictureUpdate(kind=picture_pb2.PictureUpdate.KIND_DELTA, tracks=snap.tracks).SerializeToString()


def _fusion_main(
    broker_url: str, target: str, metrics_port: int, warning_log: str, log_path: str, trace_path: str
) -> None:
    """Child process: ``triwarn fusion`` (same settings, same ``fusion.run``) with a StageTrace, written to
    ``trace_path`` when the service stops (SIGTERM)."""
    from triwarn.services import fusion
    from triwarn.services.runtime.logs import setup_logging
    from triwarn.services.runtime.settings import Settings

    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    setup_logging("WARNING")
    settings = Settings.load(
        broker_url=broker_url, grpc_listen=target, metrics_port=metrics_port, warning_log=warning_log
    )
    trace = StageTrace()
    asyncio.run(fusion.run(settings, observer=trace))
    Path(trace_path).write_text(json.dumps(trace.as_dict()))


#: The per-stage breakdown: (name, from stamp, to stamp) over the fusion service's StageTrace; "sent" is the
#: node's publish, "first_write"/"last_write" the first start and last end of the gRPC writes of the update
#: to the subscribers, "receive" a subscriber's receipt (one sample per subscriber).
STAGES: tuple[tuple[str, str, str], ...] = (
    ("mqtt: publish -> fusion consumer", "sent", "received"),
    ("decode + validate", "received", "decoded"),
    ("fuse (engine)", "decoded", "fused"),
    ("picture update built (+ assessments)", "fused", "built"),
    ("hub: seq, serialize", "built", "enqueued"),
    ("log commit (SQLite)", "enqueued", "committed"),
    ("fan-out into subscriber queues", "committed", "delivered"),
    ("Subscribe handlers wake -> first write", "delivered", "first_write"),
    ("gRPC writes, first start -> last done", "first_write", "last_write"),
    ("fan-out -> subscriber receipt", "delivered", "receive"),
)


def _stages(
    published: list[tuple[str, int, int]], received: list[dict[str, Any]], trace: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """p50 / p99 (ms) of every stage of ``STAGES``, over the published batches the trace holds."""
    batches = {int(k): v for k, v in trace["batches"].items()}
    writes = {int(k): w for k, w in trace["writes"].items()}
    receipts: dict[int, list[int]] = {}
    for sub in received:
        for src, recv in zip(sub["source_ns"], sub["recv_ns"], strict=True):
            if src:
                receipts.setdefault(int(src), []).append(int(recv))
    samples: dict[str, list[float]] = {name: [] for name, _, _ in STAGES}
    for _, sent, _ in published:
        stamps = dict(batches.get(sent, {}))
        stamps["sent"] = sent
        if sent in writes:
            stamps["first_write"] = min(a for a, _ in writes[sent])
            stamps["last_write"] = max(b for _, b in writes[sent])
        for name, a, b in STAGES:
            if b == "receive":
                if a in stamps:
                    samples[name] += [(r - stamps[a]) * 1e-6 for r in receipts.get(sent, [])]
            elif a in stamps and b in stamps:
                samples[name].append((stamps[b] - stamps[a]) * 1e-6)
    return {
        name: {
            "p50": float(np.percentile(v, 50)),
            "p99": float(np.percentile(v, 99)),
            "mean": float(np.mean(v)),
            "samples": len(v),
        }
        for name, v in samples.items()
        if v
    }


def _tail(received: list[dict[str, Any]], trace: dict[str, Any]) -> dict[str, Any]:
    """Where the slowest 1% of receipts spent their time: mean ms from publish to the fusion consumer ("mqtt"),
    in the service (consumer -> subscriber queues) and from the queues to the receipt, the share of them that
    overlapped an assessment run, and the service's garbage collections (count, longest ms)."""
    batches = {int(k): v for k, v in trace["batches"].items()}
    assess = [(a, b) for kind, a, b in trace.get("events", []) if kind == "assess"]
    gc_ms = [(b - a) * 1e-6 for kind, a, b in trace.get("events", []) if kind.startswith("gc")]
    rows = []
    for sub in received:
        for src, recv in zip(sub["source_ns"], sub["recv_ns"], strict=True):
            st = batches.get(int(src)) if src else None
            if st is not None and "received" in st and "delivered" in st:
                rows.append((recv - src, src, st["received"], st["delivered"], recv))
    if not rows:
        return {}
    rows.sort(reverse=True)
    slow = rows[: max(1, len(rows) // 100)]
    return {
        "samples": len(slow),
        "latency_ms_mean": float(np.mean([r[0] for r in slow])) * 1e-6,
        "mqtt_ms_mean": float(np.mean([r[2] - r[1] for r in slow])) * 1e-6,
        "service_ms_mean": float(np.mean([r[3] - r[2] for r in slow])) * 1e-6,
        "to_receipt_ms_mean": float(np.mean([r[4] - r[3] for r in slow])) * 1e-6,
        "during_assessment": sum(any(a < r[4] and b > r[1] for a, b in assess) for r in slow) / len(slow),
        "assessments": len(assess),
        "gc_count": len(gc_ms),
        "gc_max_ms": max(gc_ms, default=0.0),
    }


def _stop_process(proc: Any, timeout_s: float) -> None:
    """Stop a child process: SIGTERM (its graceful shutdown), then SIGKILL after ``timeout_s``."""
    if proc.pid is not None and proc.exitcode is None:
        os.kill(proc.pid, signal.SIGTERM)
    proc.join(timeout_s)
    if proc.exitcode is None:
        proc.kill()
        proc.join()


def _scrape(port: int) -> dict[str, float]:
    """The fusion service's own counters from its Prometheus endpoint (for attributing the latency)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (
                "triwarn_fusion_cycle_seconds_sum",
                "triwarn_fusion_cycle_seconds_count",
                "triwarn_batches_late_dropped_total",
                "triwarn_batches_rejected_total",
                "triwarn_subscribers_fell_behind_total",
                "triwarn_internal_errors_total",
            ):
                values[sample.name] = values.get(sample.name, 0.0) + float(sample.value)
    n = values.get("triwarn_fusion_cycle_seconds_count", 0.0)
    if n:
        values["fusion_cycle_mean_ms"] = 1e3 * values["triwarn_fusion_cycle_seconds_sum"] / n
    return values


def _wait_serving(target: str, proc: Any, timeout_s: float, log_path: Path) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if not proc.is_alive():
                raise RuntimeError(f"the fusion service exited ({proc.exitcode}): {log_path.read_text()[-2000:]}")
            with contextlib.suppress(grpc.RpcError):
                resp = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"the fusion service did not become SERVING within {timeout_s:g} s")


def _summarize(
    rate: int,
    n_subs: int,
    n_objects: int,
    duration_s: float,
    period_s: float,
    published: list[tuple[str, int, int]],
    received: list[dict[str, Any]],
) -> dict[str, Any]:
    sent = {t for _, t, _ in published}
    lat_ms: list[float] = []
    to_fusion_ms: list[float] = []
    lost = 0
    gaps = 0
    updates = 0
    tracks = 0
    update_bytes = 0
    for sub in received:
        seqs = np.asarray(sub["seq"], dtype=np.int64)
        gaps += int(np.sum(np.diff(seqs) - 1)) if seqs.size > 1 else 0
        src = np.asarray(sub["source_ns"], dtype=np.int64)
        recv = np.asarray(sub["recv_ns"], dtype=np.int64)
        mine = np.isin(src, list(sent))
        lat_ms += ((recv[mine] - src[mine]) * 1e-6).tolist()
        to_fusion_ms += ((np.asarray(sub["stamp_ns"], dtype=np.int64)[mine] - src[mine]) * 1e-6).tolist()
        lost += len(sent - set(src[mine].tolist()))
        updates += int(mine.sum())
        tracks += int(np.asarray(sub["n_tracks"])[mine].sum())
        update_bytes += int(np.asarray(sub["n_bytes"])[mine].sum())
    lat = np.asarray(lat_ms) if lat_ms else np.asarray([np.nan])
    split = np.asarray(to_fusion_ms) if to_fusion_ms else np.asarray([np.nan])
    rest = lat - split if lat_ms else np.asarray([np.nan])
    return {
        "tracks_per_s_per_nation": rate,
        "nations": 3,
        "objects": n_objects,
        "period_s": period_s,
        "subscribers": n_subs,
        "batches_published": len(published),
        "tracks_published_per_s": sum(n for _, _, n in published) / duration_s,
        "updates_received": updates,
        "delivered_tracks_per_s": tracks / duration_s,
        "update_bytes_mean": update_bytes / updates if updates else 0.0,
        "latency_ms": {
            "p50": float(np.percentile(lat, 50)),
            "p90": float(np.percentile(lat, 90)),
            "p99": float(np.percentile(lat, 99)),
            "max": float(np.max(lat)),
            "samples": len(lat_ms),
        },
        # the split at the fusion service's stamp (update.time_ns, taken once a batch is decoded, before
        # fusing): node -> broker -> fusion ingest, then fusion + log + gRPC -> subscriber
        "publish_to_fusion_ms": {"p50": float(np.percentile(split, 50)), "p99": float(np.percentile(split, 99))},
        "fusion_to_receive_ms": {"p50": float(np.percentile(rest, 50)), "p99": float(np.percentile(rest, 99))},
        "lost": lost,
        "gaps": gaps,
    }


def _synthetic_update(n_objects: int) -> Any:
    """A DELTA of ``n_objects`` fused tracks as the fusion service fills them (state, covariance, sources)."""
    from triwarn.v1 import picture_pb2, tracks_pb2

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


def run_distribution_config(
    rate: int, n_subs: int, duration_s: float, period_s: float, procs: int = 1
) -> dict[str, Any]:
    """The distribution alone: this process publishes picture updates into a PictureHub (SQLite log, gRPC
    server) at the rate the end-to-end run produces them (3 nations x 1/period batches/s, each one update
    per view, ``rate * period`` tracks each); N subscribers in a child process measure as above."""
    return asyncio.run(_distribution(rate, n_subs, duration_s, period_s, procs))


async def _distribution(rate: int, n_subs: int, duration_s: float, period_s: float, procs: int) -> dict[str, Any]:
    from triwarn.core.tracks import NATIONS
    from triwarn.services.distribution.hub import PictureHub
    from triwarn.services.distribution.server import start_server
    from triwarn.services.runtime.settings import Settings
    from triwarn.v1 import picture_pb2

    n_objects = max(1, round(rate * period_s))
    template = _synthetic_update(n_objects)
    with tempfile.TemporaryDirectory(prefix="triwarn-bench-dist-") as tmp:
        settings = Settings(warning_log=str(Path(tmp) / "warnings.sqlite"), grpc_listen="127.0.0.1:0")
        hub = await PictureHub.open(settings, NATIONS)
        hub.observer = trace = StageTrace()
        handle = await start_server(settings, hub)
        await handle.set_serving()
        subscribers = _Subscribers(handle.address, n_subs, procs)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, subscribers.wait_ready, 60.0)
            published: list[tuple[str, int, int]] = []
            start = time.monotonic() + 0.2
            k = 0
            step = period_s / len(NATIONS)  # three nations' batches spread over a period
            while k * step < duration_s:
                await asyncio.sleep(max(0.0, start + k * step - time.monotonic()))
                now = time.time_ns()
                update = picture_pb2.PictureUpdate()
                update.CopyFrom(template)
                update.source_sent_time_ns = now
                update.time_ns = now
                await hub.publish_many([(view, update) for view in NATIONS])  # one batch, every view
                published.append((NATIONS[k % len(NATIONS)], now, n_objects))
                k += 1
            expected = len(published) * n_subs
            for _ in range(100):
                if subscribers.progress.value >= expected:
                    break
                await asyncio.sleep(0.05)
            received = await loop.run_in_executor(None, subscribers.stop)
        finally:
            await handle.stop(1.0)
            await hub.close()
            subscribers.join()
    summary = _summarize(rate, n_subs, n_objects, duration_s, period_s, published, received)
    summary["stages_ms"] = _stages(published, received, trace.as_dict())
    return summary


# --- the bare transport floor ---------------------------------------------------------------------------


def run_floor_config(
    broker_url: str,
    rate: int,
    n_subs: int,
    duration_s: float,
    period_s: float,
    procs: int = 1,
    template: bytes | None = None,
) -> dict[str, Any]:
    """The same publishers, broker and subscribers as :func:`run_config`, with a consumer in between that
    does no fusion and keeps no log (:func:`_floor_main`): what this machine's transport costs on its own.
    ``template``: the serialized update to send for every batch (default: a synthetic one of the same number
    of tracks)."""
    from triwarn.services.runtime.broker import free_port

    n_objects = max(1, round(rate * period_s))
    if template is None:
        template = _synthetic_update(n_objects).SerializeToString()
    target = f"127.0.0.1:{free_port()}"
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    consumer = ctx.Process(target=_floor_main, args=(broker_url, target, template, child), daemon=True)
    consumer.start()
    try:
        if not parent.poll(60.0):
            raise RuntimeError("the floor consumer did not start")
        parent.recv()  # "ready": serving and subscribed
        subscribers = _Subscribers(target, n_subs, procs)
        subscribers.wait_ready(60.0)
        published = asyncio.run(_publish(broker_url, n_objects, duration_s, period_s))
        expected = len(published) * n_subs
        deadline = time.monotonic() + 15.0
        while subscribers.progress.value < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        received = subscribers.stop()
    finally:
        _stop_process(consumer, 10.0)
    summary = _summarize(rate, n_subs, n_objects, duration_s, period_s, published, received)
    summary.pop("publish_to_fusion_ms")
    summary.pop("fusion_to_receive_ms")
    return summary


def _floor_main(broker_url: str, target: str, template: bytes, conn: Any) -> None:
    asyncio.run(_floor(broker_url, target, template, conn))


async def _floor(broker_url: str, target: str, template: bytes, conn: Any) -> None:
    """Child process: MQTT (QoS 1, aiomqtt, like the fusion service) -> parse the batch for its sent time ->
    the update bytes (``template`` with seq and source_sent_time_ns appended: protobuf merges concatenated
    messages) -> one bounded queue per subscriber -> grpc.aio ``context.write`` of the same bytes to each."""
    import grpc

    from triwarn.services.distribution.keepalive import SERVER_OPTIONS
    from triwarn.services.distribution.server import SERVICE_NAME
    from triwarn.services.runtime import mqtt
    from triwarn.services.wire import tracks as wire
    from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2

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


# --- publishers (in the benchmark's process) -----------------------------------------------------------


def _propagate(truth: np.ndarray, dt_s: float, steps: int = 4) -> np.ndarray:
    """Point-mass gravity, a few RK-free semi-implicit Euler steps: accurate to metres over a second."""
    x = truth.copy()
    h = dt_s / steps
    for _ in range(steps):
        r = np.linalg.norm(x[:, :3], axis=1, keepdims=True)
        x[:, 3:] += -GM_M3_S2 * x[:, :3] / r**3 * h
        x[:, :3] += x[:, 3:] * h
    return x


async def _publish(broker_url: str, n_objects: int, duration_s: float, period_s: float) -> list[tuple[str, int, int]]:
    """Three nations publish for ``duration_s``; returns (nation, sent_time_ns, n_tracks) per batch."""
    from triwarn.core.tracks import NATIONS
    from triwarn.services import synthetic
    from triwarn.services.runtime import mqtt
    from triwarn.services.wire import tracks as wire

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
            truth = _propagate(truth, period_s)
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


# --- subscribers (child processes) ---------------------------------------------------------------------


class _Subscribers:
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
    from triwarn.v1 import picture_pb2

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
    import grpc

    from triwarn.services.distribution.keepalive import CLIENT_OPTIONS
    from triwarn.v1 import picture_pb2, warning_service_pb2

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


#: where ``python benches/bench_e2e.py`` writes its results (``triwarn bench e2e`` writes only with --output)
RESULTS = Path(__file__).resolve().parent / "results" / "bench_e2e.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(output=RESULTS)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
