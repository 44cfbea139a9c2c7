"""A slow subscriber does not delay the others: the update latency of N normal subscribers of the fusion
service, without and with one slow subscriber that keeps a bounded receive window, and when and how the slow
one is ended.

Each run starts a broker (Mosquitto when installed), a fresh fusion service (``fusion.run`` in a child process,
``subscriber_max_lag_s`` from ``--max-lag``), N subscribers of the ``us`` view (the end-to-end benchmark's,
one child process; triwarn's console window, ``CLIENT_OPTIONS``) and, in the runs "with", one more subscriber
in a child process of its own with the same bounded window that reads one update every ``--slow-read-period``
seconds (the issue's reader: one a second). Three nations publish one batch each per ``--period`` seconds of
``rate * period`` synthetic tracks for ``--duration`` seconds. Runs alternate without / with, ``--repeat``
pairs, so that other work on the machine falls on both alike.

Per run: the normal subscribers' publish-to-receive latency p50 / p99 (ms; the batch's ``sent_time_ns`` to
the subscriber's receipt, one clock) over the whole run, over the part the slow subscriber was attached (from
the first publish to its end; the same interval in the run without it) and over the rest, and batches lost;
and for the slow one the status it got (``RESOURCE_EXHAUSTED`` expected), seconds from the first publish to
its end, the updates it read, and its bound: the time to fill its receive window at the measured update rate
and size, plus ``--max-lag``.

    python benches/bench_slow_subscriber.py [--subscribers 10] [--rate 100] [--duration 30] [--max-lag 10]
        [--repeat 2]      (writes benches/results/bench_slow_subscriber.json)
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

from triwarn.benches.script import script_main

#: where ``python benches/bench_slow_subscriber.py`` writes its results
RESULTS = Path(__file__).resolve().parent / "results" / "bench_slow_subscriber.json"

#: The issue's target: the others' p99 with the slow subscriber at most this factor of the run without it.
P99_TARGET_RATIO = 1.2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--subscribers", type=int, default=10, help="normal subscribers (default 10)")
    p.add_argument("--rate", type=int, default=100, help="tracks per second per nation (default 100)")
    p.add_argument("--period", type=float, default=0.1, help="seconds between two batches of a nation (0.1)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of publishing per run (default 30)")
    p.add_argument("--max-lag", type=float, default=10.0, help="the service's subscriber_max_lag_s (default 10)")
    p.add_argument("--slow-read-period", type=float, default=1.0, help="seconds between the slow one's reads (1)")
    p.add_argument("--repeat", type=int, default=2, help="pairs of runs without / with the slow one (default 2)")
    p.add_argument("--broker", help="use this MQTT broker (mqtt://HOST:PORT) instead of starting one")
    p.add_argument("--output", type=Path, help="write the results (JSON) to this file")


def run(args: argparse.Namespace) -> int:
    from triwarn.services.runtime.broker import start_broker

    load_before = os.getloadavg()
    broker = start_broker(args.broker)
    print(f"broker: {broker.kind} at {broker.url}", flush=True)
    runs: list[dict[str, Any]] = []
    try:
        for k in range(args.repeat):
            for slow in (False, True):
                label = "with" if slow else "without"
                print(
                    f"-- pair {k + 1}/{args.repeat}, {label} the slow subscriber, {args.duration:g} s ...", flush=True
                )
                r = run_once(broker.url, args, slow)
                r["pair"] = k
                runs.append(r)
                print("   " + _line(r), flush=True)
    finally:
        broker.stop()
    pairs = []
    for k in range(args.repeat):
        a, b = (r for r in runs if r["pair"] == k)
        window_s = b["slow"]["ended_after_s"] if b["slow"].get("ended_after_s") is not None else args.duration
        for r in (a, b):
            r["attached"] = _latency(r["_samples"], window_s)
            r["after"] = _latency(r["_samples"], float("inf"), after_s=window_s)
        pairs.append(
            {
                "p99_ratio_whole_run": b["whole_run"]["p99_ms"] / a["whole_run"]["p99_ms"],
                "p99_ratio_while_attached": b["attached"]["p99_ms"] / a["attached"]["p99_ms"],
                "p99_ratio_after_it_ended": b["after"]["p99_ms"] / a["after"]["p99_ms"],
                "p50_ratio_whole_run": b["whole_run"]["p50_ms"] / a["whole_run"]["p50_ms"],
            }
        )
    pooled = {
        label: _latency([s for r in runs if r["with_slow"] == slow for s in r["_samples"]], float("inf"))
        for label, slow in (("without", False), ("with", True))
    }
    for r in runs:
        r.pop("_samples")
    doc = {
        "benchmark": "slow_subscriber",
        "what": "normal subscribers' publish-to-receive latency without / with one slow bounded-window subscriber",
        "command": "python benches/bench_slow_subscriber.py " + " ".join(sys.argv[1:]),
        "broker": broker.kind,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # other work on the machine inflates every figure: the 1-minute load average before and after
            "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        },
        "settings": {
            "subscribers": args.subscribers,
            "rate_tracks_per_s_per_nation": args.rate,
            "period_s": args.period,
            "duration_s": args.duration,
            "subscriber_max_lag_s": args.max_lag,
            "slow_read_period_s": args.slow_read_period,
        },
        "target": f"others' p99 with the slow one <= {P99_TARGET_RATIO:g} x without",
        "runs": runs,
        "pairs": pairs,
        "pooled": pooled,
        "p99_ratio_pooled": pooled["with"]["p99_ms"] / pooled["without"]["p99_ms"],
    }
    print()
    for label in ("without", "with"):
        p = pooled[label]
        print(f"pooled {label:7s} the slow one: p50 {p['p50_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms, n={p['samples']}")
    print(f"p99 ratio (with / without), pooled: {doc['p99_ratio_pooled']:.3f} (target <= {P99_TARGET_RATIO:g})")
    for k, pr in enumerate(pairs):
        print(
            f"pair {k + 1}: p99 ratio whole run {pr['p99_ratio_whole_run']:.3f}, "
            f"while attached {pr['p99_ratio_while_attached']:.3f}, after it ended {pr['p99_ratio_after_it_ended']:.3f}"
        )
    output = args.output
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"written to {output}")
    ended = all(r["slow"]["code"] == "RESOURCE_EXHAUSTED" for r in runs if r["with_slow"])
    return 0 if ended and all(r["lost"] == 0 for r in runs) else 1


def _latency(samples: list[tuple[float, float]], within_s: float, after_s: float = -1.0) -> dict[str, float]:
    """p50 / p99 (ms) of (seconds from the first publish, latency ms) samples published after ``after_s`` and
    within ``within_s``."""
    lat = np.array([ms for t, ms in samples if after_s < t <= within_s])
    if lat.size == 0:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "samples": 0}
    return {
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "max_ms": float(lat.max()),
        "samples": int(lat.size),
    }


def _line(r: dict[str, Any]) -> str:
    w = r["whole_run"]
    text = f"others: p50 {w['p50_ms']:.2f} ms, p99 {w['p99_ms']:.2f} ms ({w['samples']} receipts, lost {r['lost']})"
    if r["with_slow"]:
        s = r["slow"]
        text += (
            f"; slow one: {s['code']} after {s['ended_after_s']:.1f} s (bound {s['bound_s']:.1f} s), "
            f"read {s['updates_read_slowly']} updates slowly, {s['updates_read']} in all"
        )
    return text


def run_once(broker_url: str, args: argparse.Namespace, slow: bool) -> dict[str, Any]:
    from triwarn.benches.e2e_publishers import publish
    from triwarn.benches.e2e_service import scrape_metrics, stop_process, wait_serving
    from triwarn.benches.e2e_subscribers import Subscribers
    from triwarn.services.distribution.keepalive import RECEIVE_WINDOW_BYTES
    from triwarn.services.runtime.broker import free_port

    n_objects = max(1, round(args.rate * args.period))
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="triwarn-bench-slow-") as tmp:
        target = f"127.0.0.1:{free_port()}"
        metrics_port = free_port()
        log_path = Path(tmp) / "fusion.log"
        fusion = ctx.Process(
            target=_fusion_main,
            args=(broker_url, target, metrics_port, str(Path(tmp) / "warnings.sqlite"), str(log_path), args.max_lag),
        )
        fusion.start()
        slow_proc = None
        try:
            wait_serving(target, fusion, 300.0, log_path)
            subscribers = Subscribers(target, args.subscribers)
            subscribers.wait_ready(60.0)
            if slow:
                parent, child = ctx.Pipe()
                slow_proc = ctx.Process(target=_slow_main, args=(target, args.slow_read_period, child), daemon=True)
                slow_proc.start()
                if not parent.poll(60.0):
                    raise RuntimeError("the slow subscriber did not connect")
                parent.recv()  # "ready": it holds its snapshot
            start_ns = time.time_ns()
            watch = _EndWatch(metrics_port)
            try:
                published = asyncio.run(publish(broker_url, n_objects, args.duration, args.period))
            finally:
                watch.stop()
            expected = len(published) * args.subscribers
            last, still_since = -1, time.monotonic()
            while subscribers.progress.value < expected and time.monotonic() - still_since < 15.0:
                if subscribers.progress.value != last:
                    last, still_since = subscribers.progress.value, time.monotonic()
                time.sleep(0.1)
            service = scrape_metrics(metrics_port)
            received = subscribers.stop()
            slow_result: dict[str, Any] = {}
            if slow_proc is not None:
                parent.send("drain")  # read what gRPC buffered, then the status
                if parent.poll(60.0):
                    slow_result = parent.recv()
                else:
                    slow_result = {"code": "NOT_ENDED", "details": "", "updates_read": None}
        finally:
            if slow_proc is not None and slow_proc.is_alive():
                slow_proc.kill()
            stop_process(fusion, 15.0)
    sent = {ns for _, ns, _ in published}
    samples: list[tuple[float, float]] = []
    lost = 0
    n_bytes: list[int] = []
    for rec in received:
        got = {int(s) for s in rec["source_ns"] if s}
        lost += len(sent - got)
        for src, recv, size in zip(rec["source_ns"], rec["recv_ns"], rec["n_bytes"], strict=True):
            if src:
                samples.append(((src - start_ns) * 1e-9, (recv - src) * 1e-6))
                n_bytes.append(size)
    out: dict[str, Any] = {
        "with_slow": slow,
        "whole_run": _latency(samples, float("inf")),
        "published_batches": len(published),
        "lost": lost,
        "fusion_service": service,
        "_samples": samples,
    }
    if slow:
        updates_per_s = len(published) / args.duration
        mean_bytes = float(np.mean(n_bytes)) if n_bytes else 0.0
        fill_s = RECEIVE_WINDOW_BYTES / max(1.0, mean_bytes * updates_per_s)
        ended = watch.ended_ns
        out["slow"] = {
            "code": slow_result.get("code"),
            "details": slow_result.get("details"),
            "updates_read": slow_result.get("updates_read"),
            "updates_read_slowly": slow_result.get("updates_read_slowly"),
            # when the service ended it (its fell-behind counter moved), from the first publish
            "ended_after_s": (ended - start_ns) * 1e-9 if ended else None,
            "window_fill_s": fill_s,
            "bound_s": fill_s + args.max_lag,
            "mean_update_bytes": mean_bytes,
            "updates_per_s": updates_per_s,
        }
    return out


def _fusion_main(
    broker_url: str, target: str, metrics_port: int, warning_log: str, log_path: str, max_lag_s: float
) -> None:
    """Child process: the fusion service (``fusion.run``) with ``subscriber_max_lag_s``."""
    from triwarn.services import fusion
    from triwarn.services.runtime.logs import setup_logging
    from triwarn.services.runtime.settings import Settings

    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    setup_logging("WARNING")
    settings = Settings.load(
        broker_url=broker_url,
        grpc_listen=target,
        metrics_port=metrics_port,
        warning_log=warning_log,
        subscriber_max_lag_s=max_lag_s,
    )
    asyncio.run(fusion.run(settings))


def _slow_main(target: str, read_period_s: float, conn: Any) -> None:
    asyncio.run(_slow(target, read_period_s, conn))


class _EndWatch:
    """Polls the service's ``triwarn_subscribers_fell_behind_total`` every 0.1 s in a thread, for the whole
    run with or without a slow subscriber (the scrapes cost the service alike); ``ended_ns``: when it first
    moved (the service ended a subscriber for falling behind), or None."""

    def __init__(self, metrics_port: int) -> None:
        import threading

        self.ended_ns: int | None = None
        self._port = metrics_port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        from triwarn.benches.e2e_service import scrape_metrics

        while not self._stop.wait(0.1):
            try:
                ended = scrape_metrics(self._port).get("triwarn_subscribers_fell_behind_total", 0.0) > 0
                if ended and self.ended_ns is None:
                    self.ended_ns = time.time_ns()
            except OSError:
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


async def _slow(target: str, read_period_s: float, conn: Any) -> None:
    """One subscriber with triwarn's bounded receive window that reads one update every ``read_period_s``
    until told "drain", then reads what is left as fast as it can; sends back how its call ended (status code
    name, details) and the updates it read."""
    import grpc

    from triwarn.services.distribution.keepalive import CLIENT_OPTIONS
    from triwarn.v1 import picture_pb2, warning_service_pb2, warning_service_pb2_grpc

    async with grpc.aio.insecure_channel(target, options=CLIENT_OPTIONS) as channel:
        call = warning_service_pb2_grpc.WarningServiceStub(channel).Subscribe(warning_service_pb2.SubscribeRequest())
        assert (await call.read()).kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT
        conn.send("ready")
        n = 0
        result: dict[str, Any]
        slowly = None  # updates read at the slow pace, before "drain"
        try:
            while True:
                if slowly is None:
                    await asyncio.sleep(read_period_s)
                    if conn.poll():
                        slowly = n
                if await call.read() is grpc.aio.EOF:
                    result = {"code": "OK", "details": ""}
                    break
                n += 1
        except grpc.aio.AioRpcError as exc:
            result = {"code": exc.code().name, "details": exc.details()}
        result["updates_read"] = n
        result["updates_read_slowly"] = n if slowly is None else slowly
        conn.send(result)


def main() -> int:
    return script_main(__doc__, add_arguments, run, output=RESULTS)


if __name__ == "__main__":
    sys.exit(main())
