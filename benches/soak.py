"""Soak: the demo stack with subscribers for N minutes; resources and update rate every minute.

    python benches/soak.py [--minutes 60] [--subscribers 3]

Starts a private Mosquitto (the generated config), the fusion service (``triwarn fusion``) on a fresh warning
log, one node per nation in loop mode (``triwarn node``, the demo scenario again and again, real time), and
``--subscribers`` gRPC subscribers (views us, jp, kr in turn) in threads of this process. Every minute it
prints and records the fusion service's RSS and open files, the warning log's database and WAL sizes, the
log lines the service wrote, and the picture updates the subscribers received per second over that minute.
Writes benches/results/soak.json. Flat means: RSS, open files and WAL size do not grow from minute to minute
(beyond the first minutes' warm-up), and the update rate follows the scenario's loop.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc

from triwarn.services.runtime.broker import free_port, start_broker
from triwarn.v1 import tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

VIEWS = (tracks_pb2.NATION_US, tracks_pb2.NATION_JP, tracks_pb2.NATION_KR)


class Subscriber:
    """One gRPC subscriber in a thread, counting the updates it receives."""

    def __init__(self, target: str, view: int) -> None:
        self.count = 0
        self.ended = ""
        self._channel = grpc.insecure_channel(target)
        stub = warning_service_pb2_grpc.WarningServiceStub(self._channel)
        self._call = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=view))
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            for _ in self._call:
                self.count += 1
        except grpc.RpcError as exc:
            self.ended = str(exc.code())

    def close(self) -> None:
        self._call.cancel()
        self._channel.close()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _children_rss_mb(pid: int) -> float:
    """RSS of the service's child processes (the assessment process)."""
    total = 0.0
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += _rss_mb(int(child))
    return total


def _size_mb(path: Path) -> float:
    try:
        return path.stat().st_size / 1e6
    except OSError:
        return 0.0


def _wait_serving(target: str, proc: subprocess.Popen[bytes], timeout_s: float = 300.0) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("the fusion service died at start")
            with contextlib.suppress(grpc.RpcError):
                status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            time.sleep(0.5)
    raise TimeoutError("the fusion service did not become SERVING")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--subscribers", type=int, default=3)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "soak.json"))
    args = p.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="triwarn-soak-"))
    db = workdir / "warnings.sqlite"
    wal = Path(f"{db}-wal")
    broker = start_broker(prefer="mosquitto")
    port = free_port()
    target = f"127.0.0.1:{port}"
    env = {
        **os.environ,
        "TRIWARN_BROKER_URL": broker.url,
        "TRIWARN_GRPC_LISTEN": target,
        "TRIWARN_METRICS_PORT": "0",
        "TRIWARN_WARNING_LOG": str(db),
        "TRIWARN_SCENARIO_LOOP": "true",
    }
    procs: list[subprocess.Popen[bytes]] = []
    logs = {name: (workdir / f"{name}.log").open("wb") for name in ("fusion", "us", "jp", "kr")}
    samples: list[dict[str, float]] = []
    subs: list[Subscriber] = []
    try:
        fusion = subprocess.Popen(
            [sys.executable, "-m", "triwarn.cli.main", "fusion"], env=env, stdout=logs["fusion"], stderr=logs["fusion"]
        )
        procs.append(fusion)
        _wait_serving(target, fusion)
        for nation in ("us", "jp", "kr"):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "triwarn.cli.main", "node", "--nation", nation],
                    env=env,
                    stdout=logs[nation],
                    stderr=logs[nation],
                )
            )
        subs = [Subscriber(target, VIEWS[i % len(VIEWS)]) for i in range(args.subscribers)]
        print(f"soak: {args.minutes:g} min, {args.subscribers} subscribers, logs in {workdir}", flush=True)
        print(" min  fusion_rss_mb  assess_rss_mb  open_files  db_mb  wal_mb  log_kb  updates_per_s", flush=True)
        started = time.monotonic()
        last_count = 0
        minute = 0
        while minute < args.minutes:
            minute += 1
            time.sleep(max(0.0, started + 60.0 * minute - time.monotonic()))
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a process ended: {proc.args} exit {proc.returncode}")
            count = sum(s.count for s in subs)
            sample = {
                "minute": minute,
                "fusion_rss_mb": round(_rss_mb(fusion.pid), 1),
                "assess_rss_mb": round(_children_rss_mb(fusion.pid), 1),
                "open_files": _open_files(fusion.pid),
                "db_mb": round(_size_mb(db), 2),
                "wal_mb": round(_size_mb(wal), 2),
                "log_kb": round(_size_mb(workdir / "fusion.log") * 1000, 1),
                "updates_per_s": round((count - last_count) / 60.0, 2),
            }
            last_count = count
            samples.append(sample)
            print(
                f"{minute:>4} {sample['fusion_rss_mb']:>14} {sample['assess_rss_mb']:>14} {sample['open_files']:>11}"
                f" {sample['db_mb']:>6} {sample['wal_mb']:>7} {sample['log_kb']:>7} {sample['updates_per_s']:>14}",
                flush=True,
            )
        ended = [s.ended for s in subs if s.ended]
        if ended:
            print(f"subscribers ended: {ended}", flush=True)
    finally:
        for s in subs:
            s.close()
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        broker.stop()
        for f in logs.values():
            f.close()
    result = {
        "minutes": args.minutes,
        "subscribers": args.subscribers,
        "samples": samples,
        "command": "python benches/soak.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
