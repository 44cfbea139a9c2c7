"""Benchmark of the web console (``triwarn web``): first paint and update lag behind the gRPC stream.

Runs the real pieces on this machine: a private MQTT broker (Mosquitto if installed, else the embedded one),
the fusion service (``triwarn fusion`` in a child process), ``triwarn web`` (child process) and Debian's
headless chromium driven by Playwright. ``--tracks`` objects fly ballistically (synthetic mid-course
tracks, every nation sees every object) and are published each ``--period`` seconds.

- **first paint**: from navigation start to the first frame that shows tracks (``triwarnStats.firstRenderMs``,
  ``performance.now()`` of the page), and the browser's own ``first-contentful-paint``;
- **update lag**: a gRPC subscriber in this process (same view, the same stream any console gets) notes the
  wall time each update ``seq`` arrives; the page notes the wall time it drew that ``seq``
  (``triwarnStats.rendered``). Lag = drawn - arrived, per seq both saw.

    python benches/bench_web.py                    # 50 tracks, 30 s; writes benches/results/bench_web.json
    python benches/bench_web.py --tracks 10 --seconds 10

Needs ``apt-get install chromium`` and ``pip install playwright`` (the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.sensors.sim import synthetic
from triwarn.services.runtime import mqtt
from triwarn.services.web.paths import rk4_step
from triwarn.services.wire import tracks as wire

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RESULTS = Path(__file__).resolve().parent / "results" / "bench_web.json"


class SyntheticFlights:
    """``n`` objects flying ballistically (drag-free, from :func:`synthetic.truth_states`), published by all three
    nations every ``period_s`` over MQTT, in a thread with its own event loop, until :meth:`stop`."""

    def __init__(self, broker_url: str, n: int, period_s: float = 0.5, seed: int = 0) -> None:
        self.broker_url = broker_url
        self.truth = synthetic.truth_states(n, seed)
        self.period_s = period_s
        self.seed = seed
        self.batches = 0
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="flights", daemon=True)

    def start(self) -> SyntheticFlights:
        self._thread.start()
        return self

    def pause(self) -> None:
        """Stop publishing (the tracks go stale) without closing the connection."""
        self._paused.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        if self._error is not None:
            raise self._error

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # surfaced by stop()
            self._error = exc

    async def _run(self) -> None:
        async with mqtt.client(self.broker_url, f"bench-web-{os.getpid()}-{time.time_ns()}") as client:
            last = time.monotonic()
            while not self._stop.is_set():
                now = time.monotonic()
                r, v = rk4_step(self.truth[:, :3], self.truth[:, 3:], now - last)
                self.truth = np.hstack([r, v])
                last = now
                if not self._paused.is_set():
                    t_ns = time.time_ns()
                    for nation in ("us", "jp", "kr"):
                        batch = synthetic.nation_batch(nation, self.truth, t_ns, batch_seq=self.batches, seed=self.seed)
                        await client.publish(wire.tracks_topic(nation), wire.encode_batch(batch), qos=1)
                    self.batches += 1
                await asyncio.sleep(max(0.0, self.period_s - (time.monotonic() - now)))


def start_web(target: str, view: str = "us", timeout_s: float = 60.0) -> tuple[subprocess.Popen[str], str]:
    """``triwarn web --target TARGET --listen 127.0.0.1:0`` as a child process; returns it and the page's URL
    (read from its first line of output)."""
    cmd = [sys.executable, "-P", "-m", "triwarn.cli.main", "web", "--target", target, "--view", view]
    proc = subprocess.Popen([*cmd, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "serving http://" in line:
            return proc, line.split("serving ", 1)[1].split()[0]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"triwarn web did not start (exit code {proc.poll()})")


def stop_process(proc: subprocess.Popen[Any], timeout_s: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after ``timeout_s``; closes its stdout pipe; returns the exit code."""
    proc.terminate()
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    return code


def browser_available() -> bool:
    """Whether Debian's chromium and Playwright's Python package are installed (the tests skip otherwise)."""
    return Path(CHROMIUM).is_file() and importlib.util.find_spec("playwright") is not None


@contextlib.contextmanager
def browser_page(requests: list[str]) -> Iterator[Any]:
    """A Playwright page in Debian's headless chromium; every request URL the page makes is appended to
    ``requests``."""
    from playwright.sync_api import sync_playwright  # heavy optional dependency: only the benchmark needs it

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.on("request", lambda r: requests.append(r.url))
            yield page
        finally:
            browser.close()


class GrpcArrivals:
    """A gRPC subscriber in a thread: the wall time (ms since the epoch) each update ``seq`` arrives."""

    def __init__(self, target: str, view: str) -> None:
        self.target, self.view = target, view
        self.arrived_ms: dict[int, float] = {}
        self._call: Any = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> GrpcArrivals:
        self._thread.start()
        return self

    def _main(self) -> None:
        import grpc

        from triwarn.v1 import tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

        with grpc.insecure_channel(self.target) as channel:
            stub = warning_service_pb2_grpc.WarningServiceStub(channel)
            view = tracks_pb2.Nation.Value(f"NATION_{self.view.upper()}")
            self._call = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=view))
            with contextlib.suppress(grpc.RpcError):  # cancelled by stop(), or the service shutting down
                for update in self._call:
                    self.arrived_ms[int(update.seq)] = time.time() * 1e3

    def stop(self) -> None:
        if self._call is not None:
            self._call.cancel()
        self._thread.join(10)


def measure(page: Any, url: str, target: str, seconds: float, n_tracks: int, view: str = "us") -> dict[str, Any]:
    """Open ``url`` and measure first paint, then the lag of each drawn update behind the gRPC stream."""
    arrivals = GrpcArrivals(target, view).start()
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(
        f"window.triwarnStats && window.triwarnStats.firstRenderMs !== null && "
        f"document.querySelectorAll('path.trk').length >= {n_tracks}",
        timeout=60_000,
    )
    wall_first_s = time.perf_counter() - t0
    first = page.evaluate(
        "() => ({tracks: window.triwarnStats.firstRenderMs,"
        " fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null})"
    )
    time.sleep(seconds)
    rendered = page.evaluate("() => window.triwarnStats.rendered")
    frame = np.array(page.evaluate("() => window.triwarnStats.renderMs") or [np.nan])
    parts = np.array(list(page.evaluate("() => window.triwarnStats.parts").values()) or [[np.nan] * 3])
    arrivals.stop()
    lags = [
        float(ms) - arrivals.arrived_ms[int(seq)] for seq, ms in rendered.items() if int(seq) in arrivals.arrived_ms
    ]
    a = np.array(lags) if lags else np.array([np.nan])
    return {
        "tracks": n_tracks,
        "tracks_drawn": page.evaluate("() => document.querySelectorAll('path.trk').length"),
        "first_paint_tracks_ms": first["tracks"],
        "first_contentful_paint_ms": first["fcp"],
        "first_tracks_wall_s": wall_first_s,
        "updates_compared": len(lags),
        "updates_received_grpc": len(arrivals.arrived_ms),
        "lag_ms": {
            "median": float(np.median(a)),
            "p95": float(np.percentile(a, 95)),
            "max": float(np.max(a)),
        },
        "frame_cpu_ms": {  # the page's own work per frame (render(): map layers, table, profile)
            "median": float(np.median(frame)),
            "p95": float(np.percentile(frame, 95)),
        },
        # where the lag goes (median, p95): gRPC arrival to message in the server (paths, JSON), server to
        # page (server-sent events, the browser's event loop), page arrival to the frame that drew it
        "parts_ms": {
            name: {"median": float(np.median(parts[:, k])), "p95": float(np.percentile(parts[:, k], 95))}
            for k, name in enumerate(("server", "transport", "page"))
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to measure the lag")
    parser.add_argument("--period", type=float, default=0.5, help="seconds between each nation's batches")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from triwarn.services.runtime.broker import free_port, start_broker

    broker = start_broker()
    workdir = Path(tempfile.mkdtemp(prefix="triwarn-bench-web-"))
    port = free_port()
    target = f"127.0.0.1:{port}"
    procs: list[subprocess.Popen[Any]] = []
    flights = None
    try:
        fusion_cmd = [sys.executable, "-P", "-m", "triwarn.cli.main", "fusion", "--broker", broker.url]
        fusion_cmd += ["--listen", target, "--metrics-port", "0", "--warning-log", str(workdir / "warnings.sqlite")]
        procs.append(subprocess.Popen(fusion_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_serving(target, 300.0)
        flights = SyntheticFlights(broker.url, args.tracks, args.period).start()
        web, url = start_web(target)
        procs.append(web)
        requests: list[str] = []
        with browser_page(requests) as page:
            result = measure(page, url, target, args.seconds, args.tracks)
        origin = url.rstrip("/")
        result["requests"] = len(requests)
        result["requests_off_loopback"] = [u for u in requests if not u.startswith(origin)]
    finally:
        if flights is not None:
            flights.stop()
        for p in reversed(procs):
            stop_process(p)
        broker.stop()
    result.update(
        {
            "period_s": args.period,
            "seconds": args.seconds,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "load_average_1min_at_end": os.getloadavg()[0],
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": "python benches/bench_web.py " + " ".join(sys.argv[1:]),
        }
    )
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def wait_serving(target: str, timeout_s: float) -> None:
    """Wait until the gRPC health check at ``target`` says SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            with contextlib.suppress(grpc.RpcError):
                if (
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0).status
                    == health_pb2.HealthCheckResponse.SERVING
                ):
                    return
            time.sleep(0.2)
    raise TimeoutError(f"the fusion service at {target} did not become SERVING")


if __name__ == "__main__":
    sys.exit(main())
