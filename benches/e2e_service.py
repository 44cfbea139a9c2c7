"""The end-to-end benchmark's handles on a fusion service in a child process: wait until it is SERVING, read
its Prometheus counters and its current picture, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from triwarn.v1 import picture_pb2, warning_service_pb2, warning_service_pb2_grpc


def wait_serving(target: str, proc: Any, timeout_s: float, log_path: Path) -> None:
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


def scrape_metrics(port: int) -> dict[str, float]:
    """The fusion service's own counters from its Prometheus endpoint (for attributing the latency)."""

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


def picture_template(target: str) -> bytes:
    """The view's current picture as a DELTA carrying every track (the size of a fused update with its
    assessments), serialized: the update the transport floor sends."""

    with grpc.insecure_channel(target) as channel:
        snap = warning_service_pb2_grpc.WarningServiceStub(channel).GetPicture(
            warning_service_pb2.GetPictureRequest(), timeout=10.0
        )
    return picture_pb2.PictureUpdate(kind=picture_pb2.PictureUpdate.KIND_DELTA, tracks=snap.tracks).SerializeToString()


def stop_process(proc: Any, timeout_s: float) -> None:
    """Stop a child process: SIGTERM (its graceful shutdown), then SIGKILL after ``timeout_s``."""
    if proc.pid is not None and proc.exitcode is None:
        os.kill(proc.pid, signal.SIGTERM)
    proc.join(timeout_s)
    if proc.exitcode is None:
        proc.kill()
        proc.join()
