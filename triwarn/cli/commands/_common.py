"""Flags shared by the service commands; each maps onto a ``Settings`` field (flag wins over TRIWARN_*)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from triwarn.services.runtime.settings import Settings, SettingsError


def add_broker(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", dest="broker_url", help="MQTT broker URL, mqtt://HOST:PORT (env TRIWARN_BROKER_URL)")


def add_scenario(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", help="scenario file or catalog name (default: demo; env TRIWARN_SCENARIO)")
    p.add_argument("--seed", type=int, help="random seed of the simulation (default 1)")
    p.add_argument(
        "--speed",
        dest="clock_speed",
        type=float,
        help="run the scenario this many times faster than real time (every process of a stack must agree)",
    )
    p.add_argument(
        "--t0-ns",
        dest="scenario_t0_ns",
        type=int,
        help="wall-clock start of scenario time 0, ns since the Unix epoch (default: now, or loop-aligned)",
    )


def settings_from(args: argparse.Namespace, *names: str, **extra: Any) -> Settings:
    """Settings from the environment, overridden by the flags ``names`` that were given."""
    overrides = {name: getattr(args, name, None) for name in names}
    overrides.update(extra)
    try:
        return Settings.load(**overrides)
    except SettingsError as exc:
        raise SystemExit(f"triwarn: {exc}") from None


def add_start_gate(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--start-gate",
        dest="start_gate",
        metavar="DIR",
        help="get ready, write DIR/ready-NAME, then wait for DIR/t0 (ns since the epoch) and use it as --t0-ns; "
        "`triwarn demo` uses it so that no process's clock starts before every process has started",
    )


def wait_at_start_gate(gate: str, name: str, timeout_s: float = 900.0) -> int:
    """Tell the launcher this process is ready and wait for the common clock start it then writes.

    The launcher (``triwarn demo``) starts the fusion service and the nodes at once; importing numpy, numba and
    grpc and loading the cached kernels takes each of them about a second on a quiet machine and ten or more on
    a loaded one. Only when all are ready does it choose ``t0``, so a slow start never costs the scenario's
    first seconds (or, at 25x, all of them)."""
    folder = Path(gate)
    (folder / f"ready-{name}").touch()
    deadline = time.monotonic() + timeout_s
    t0_file = folder / "t0"
    while time.monotonic() < deadline:
        if t0_file.exists():
            return int(t0_file.read_text().strip())
        if os.getppid() == 1:  # the launcher is gone
            break
        time.sleep(0.05)
    raise SystemExit(f"triwarn: no start time appeared in {t0_file} within {timeout_s:.0f} s")


def open_start_gate(gate: str, lead_s: float) -> int:
    """Write the common clock start, ``lead_s`` from now, atomically; returns it."""
    t0_ns = time.time_ns() + int(lead_s * 1e9)
    tmp = Path(gate) / "t0.tmp"
    tmp.write_text(str(t0_ns))
    tmp.rename(Path(gate) / "t0")
    return t0_ns


def demo_endpoints_file() -> Path:
    """Where a running ``triwarn demo`` writes its endpoints (JSON) for the consoles of this user to find it."""
    return Path(tempfile.gettempdir()) / f"triwarn-{os.getuid()}" / "demo.json"


def write_demo_endpoints(**endpoints: Any) -> Path:
    """Write this demo's endpoints (with its pid) atomically; the demo removes the file when it stops."""
    path = demo_endpoints_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), **endpoints}) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_demo_endpoints() -> dict[str, Any] | None:
    """The endpoints of the demo that is running now, or None (no file, unreadable, or its process is gone)."""
    path = demo_endpoints_file()
    try:
        endpoints = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(endpoints["pid"]), 0)  # signal 0: does the process exist?
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return endpoints if isinstance(endpoints, dict) else None


def remove_demo_endpoints() -> None:
    """Remove the endpoints file if it is this process's."""
    path = demo_endpoints_file()
    with contextlib.suppress(OSError, ValueError, KeyError):
        if json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid():
            path.unlink()


def default_grpc_target(args_target: str | None, settings: Settings) -> tuple[str, str]:
    """The gRPC target a console uses, and where it came from: --target, else TRIWARN_GRPC_TARGET, else the
    running demo's endpoint (:func:`demo_endpoints_file`), else the documented default 127.0.0.1:50051."""
    if args_target:
        return args_target, "--target"
    if settings.grpc_target != Settings().grpc_target:
        return settings.grpc_target, "TRIWARN_GRPC_TARGET"
    demo = read_demo_endpoints()
    if demo and isinstance(demo.get("grpc"), str):
        return demo["grpc"], f"the running demo ({demo_endpoints_file()})"
    return settings.grpc_target, "the default"
