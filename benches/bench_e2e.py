"""End-to-end benchmark: nodes -> Mosquitto -> fusion service -> gRPC -> N subscribers, all on loopback.

For every (rate, subscribers) configuration it starts a broker (Mosquitto when installed), a fresh fusion
service (``fusion.run``, the entry point of ``triwarn fusion``, in a child process with its own warning log
and a ``StageTrace``), N subscribers of the ``us`` view (one child process, one gRPC channel each) and three
publishers (us, jp, kr, one MQTT client each, QoS 1, like the nodes). Each nation publishes one batch per
``--period`` seconds with ``rate * period`` tracks of synthetic objects in mid-course
(``triwarn.sensors.sim.synthetic``), propagated under point-mass gravity so that they stay associated. It
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
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.benches.e2e_report import print_table, result_line, stage_lines, summarize
from triwarn.benches.script import script_main
from triwarn.benches.stage_trace import StageTrace


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
                    say(result_line(r))
                    say(stage_lines(r))
                    if args.floor:
                        say("   bare transport floor (no fusion, no log; same update bytes) ...")
                        f = run_floor_config(
                            broker.url, rate, n_subs, args.duration, args.period, args.subscriber_processes, template
                        )
                        floors.append(f)
                        say(result_line(f, split=False))
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
                say(result_line(r, split=False))
                say(stage_lines(r))
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
            print_table(results)
        if floors:
            print("\nbare transport floor (nodes -> broker -> consumer without fusion or log -> gRPC -> subscribers):")
            print_table(floors)
        if stage2:
            print("\ndistribution alone (hub -> log -> gRPC -> subscribers):")
            print_table(stage2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(doc, indent=2) + "\n")
        say(f"written to {args.output}")
    return 0 if all(r["lost"] == 0 and r["gaps"] == 0 for r in results) else 1


def _print(*a: Any) -> None:
    print(*a, flush=True)


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
    # the parts are imported here, not at the top: `triwarn bench` imports this module to build its parser on
    # every start of the CLI, which must not pay for grpc, MQTT and numba
    from triwarn.benches.e2e_publishers import publish
    from triwarn.benches.e2e_service import picture_template, scrape_metrics, stop_process, wait_serving
    from triwarn.benches.e2e_subscribers import Subscribers
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
            wait_serving(target, fusion, 300.0, log_path)
            subscribers = Subscribers(target, n_subs, procs)
            subscribers.wait_ready(60.0)  # every subscriber holds its snapshot
            published = asyncio.run(publish(broker_url, n_objects, duration_s, period_s))
            # drain: wait until every subscriber has every update, or nothing moved for 15 s (a busy machine
            # can stall the service for seconds; an update that comes later than that counts as lost)
            expected = len(published) * n_subs
            last, still_since = -1, time.monotonic()
            while subscribers.progress.value < expected and time.monotonic() - still_since < 15.0:
                if subscribers.progress.value != last:
                    last, still_since = subscribers.progress.value, time.monotonic()
                time.sleep(0.1)
            service = scrape_metrics(metrics_port)
            template = picture_template(target)
            if service.get("triwarn_batches_rejected_total") or service.get("triwarn_internal_errors_total"):
                say(f"   the fusion service logged: {log_path.read_text()[-1500:]}")
            received = subscribers.stop()
        finally:
            stop_process(fusion, 15.0)
        trace = json.loads(trace_path.read_text()) if trace_path.exists() else None
    if raw_dir is not None:
        raw_dir.mkdir(parents=True, exist_ok=True)
        raw = {"published": published, "received": received, "trace": trace}
        (raw_dir / f"e2e-{rate}-{n_subs}.json").write_text(json.dumps(raw))
    summary = summarize(rate, n_subs, n_objects, duration_s, period_s, published, received)
    summary["fusion_service"] = service
    if trace is not None:
        summary["stages_ms"] = _stages(published, received, trace)
        summary["tail"] = _tail(received, trace)
    summary["_template"] = template  # the floor's update (not in the JSON)
    return summary


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


def run_distribution_config(
    rate: int, n_subs: int, duration_s: float, period_s: float, procs: int = 1
) -> dict[str, Any]:
    """The distribution alone: this process publishes picture updates into a PictureHub (SQLite log, gRPC
    server) at the rate the end-to-end run produces them (3 nations x 1/period batches/s, each one update
    per view, ``rate * period`` tracks each); N subscribers in a child process measure as above."""
    return asyncio.run(_distribution(rate, n_subs, duration_s, period_s, procs))


async def _distribution(rate: int, n_subs: int, duration_s: float, period_s: float, procs: int) -> dict[str, Any]:
    from triwarn.benches.e2e_publishers import synthetic_update
    from triwarn.benches.e2e_subscribers import Subscribers
    from triwarn.core.tracks import NATIONS
    from triwarn.services.distribution.hub import PictureHub
    from triwarn.services.distribution.server import start_server
    from triwarn.services.runtime.settings import Settings
    from triwarn.v1 import picture_pb2

    n_objects = max(1, round(rate * period_s))
    template = synthetic_update(n_objects)
    with tempfile.TemporaryDirectory(prefix="triwarn-bench-dist-") as tmp:
        settings = Settings(warning_log=str(Path(tmp) / "warnings.sqlite"), grpc_listen="127.0.0.1:0")
        hub = await PictureHub.open(settings, NATIONS)
        hub.observer = trace = StageTrace()
        handle = await start_server(settings, hub)
        await handle.set_serving()
        subscribers = Subscribers(handle.address, n_subs, procs)
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
    summary = summarize(rate, n_subs, n_objects, duration_s, period_s, published, received)
    summary["stages_ms"] = _stages(published, received, trace.as_dict())
    return summary


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
    does no fusion and keeps no log (:func:`floor_main`): what this machine's transport costs on its own.
    ``template``: the serialized update to send for every batch (default: a synthetic one of the same number
    of tracks)."""
    from triwarn.benches.e2e_floor import floor_main
    from triwarn.benches.e2e_publishers import publish, synthetic_update
    from triwarn.benches.e2e_service import stop_process
    from triwarn.benches.e2e_subscribers import Subscribers
    from triwarn.services.runtime.broker import free_port

    n_objects = max(1, round(rate * period_s))
    if template is None:
        template = synthetic_update(n_objects).SerializeToString()
    target = f"127.0.0.1:{free_port()}"
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    consumer = ctx.Process(target=floor_main, args=(broker_url, target, template, child), daemon=True)
    consumer.start()
    try:
        if not parent.poll(60.0):
            raise RuntimeError("the floor consumer did not start")
        parent.recv()  # "ready": serving and subscribed
        subscribers = Subscribers(target, n_subs, procs)
        subscribers.wait_ready(60.0)
        published = asyncio.run(publish(broker_url, n_objects, duration_s, period_s))
        expected = len(published) * n_subs
        deadline = time.monotonic() + 15.0
        while subscribers.progress.value < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        received = subscribers.stop()
    finally:
        stop_process(consumer, 10.0)
    summary = summarize(rate, n_subs, n_objects, duration_s, period_s, published, received)
    summary.pop("publish_to_fusion_ms")
    summary.pop("fusion_to_receive_ms")
    return summary


#: where ``python benches/bench_e2e.py`` writes its results (``triwarn bench e2e`` writes only with --output)
RESULTS = Path(__file__).resolve().parent / "results" / "bench_e2e.json"


def main() -> int:
    return script_main(__doc__, add_arguments, run, output=RESULTS)


if __name__ == "__main__":
    sys.exit(main())
