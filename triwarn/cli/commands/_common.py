"""Flags shared by the service commands; each maps onto a ``Settings`` field (flag wins over TRIWARN_*)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
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
    launcher = os.getppid()
    (folder / f"ready-{name}").touch()
    deadline = time.monotonic() + timeout_s
    t0_file = folder / "t0"
    while time.monotonic() < deadline:
        if t0_file.exists():
            return int(t0_file.read_text().strip())
        if os.getppid() != launcher:  # the launcher is gone (this process was re-parented)
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
    """Where a running ``triwarn demo`` writes its endpoints (JSON) for the consoles of this user to find it:
    the latest demo's; each demo also keeps its own copy beside it (``demo-PID.json``)."""
    return Path(tempfile.gettempdir()) / f"triwarn-{os.getuid()}" / "demo.json"


def _own_endpoints_file(pid: int) -> Path:
    return demo_endpoints_file().with_name(f"demo-{pid}.json")


def write_demo_endpoints(**endpoints: Any) -> Path:
    """Write this demo's endpoints (with its pid) atomically, as the latest demo's and as its own; the demo
    removes both when it stops."""
    path = demo_endpoints_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps({"pid": os.getpid(), **endpoints}) + "\n"
    for target in (_own_endpoints_file(os.getpid()), path):
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    return path


def _live_endpoints(path: Path) -> dict[str, Any] | None:
    try:
        endpoints = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(endpoints["pid"]), 0)  # signal 0: does the process exist?
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return endpoints if isinstance(endpoints, dict) else None


def read_demo_endpoints() -> dict[str, Any] | None:
    """The endpoints of the demo that is running now, or None: the latest demo's (:func:`demo_endpoints_file`)
    while it runs, else the most recently started of this user's other demos that still run (two demos at
    once: the consoles follow the newer one, and the older one again when the newer stops)."""
    latest = _live_endpoints(demo_endpoints_file())
    if latest is not None:
        return latest
    own: list[tuple[float, Path]] = []
    for f in demo_endpoints_file().parent.glob("demo-*.json"):
        with contextlib.suppress(OSError):
            own.append((f.stat().st_mtime, f))
    for _, f in sorted(own, reverse=True):
        found = _live_endpoints(f)
        if found is not None:
            return found
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # left by a demo killed (SIGKILL)
            if f.name == f"demo-{json.loads(f.read_text(encoding='utf-8'))['pid']}.json":
                f.unlink()
    return None


def remove_demo_endpoints() -> None:
    """Remove this process's endpoints files (its own, and the latest demo's if it is this one's)."""
    path = demo_endpoints_file()
    with contextlib.suppress(OSError):
        _own_endpoints_file(os.getpid()).unlink()
    with contextlib.suppress(OSError, ValueError, KeyError):
        if json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid():
            path.unlink()


def add_grpc_target(p: argparse.ArgumentParser) -> None:
    """``--target HOST:PORT`` of a console (see :func:`default_grpc_target` for where it looks without one)."""
    p.add_argument(
        "--target",
        dest="grpc_target",
        metavar="HOST:PORT",
        help="the fusion service's (or an edge's) gRPC address (default: env TRIWARN_GRPC_TARGET, else the "
        "running `triwarn demo`, else 127.0.0.1:50051)",
    )


def default_grpc_target(args_target: str | None, settings: Settings, view: str | None = None) -> tuple[str, str]:
    """The gRPC target a console uses, and where it came from: --target, else TRIWARN_GRPC_TARGET, else the
    running demo's endpoint (:func:`demo_endpoints_file`; a coalition demo's console address for ``view``:
    the hub for us or no view, the nation's edge for jp and kr), else the documented default 127.0.0.1:50051."""
    if args_target:
        return args_target, "--target"
    if settings.grpc_target != Settings().grpc_target:
        return settings.grpc_target, "TRIWARN_GRPC_TARGET"
    demo = read_demo_endpoints()
    if demo and isinstance(demo.get("grpc"), str):
        console = _demo_console_for_view(demo, view)
        target = console["grpc"] if console else demo["grpc"]
        return target, f"the running demo ({demo_endpoints_file()})"
    return settings.grpc_target, "the default"


def _demo_console_for_view(demo: dict[str, Any], view: str | None) -> dict[str, str] | None:
    """A coalition demo's console entry (``{"grpc": HOST:PORT, "identity": NAME}``) for ``view`` (None: us)."""
    consoles = demo.get("consoles")
    entry = consoles.get(view or "us") if isinstance(consoles, dict) else None
    ok = isinstance(entry, dict) and isinstance(entry.get("grpc"), str) and isinstance(entry.get("identity"), str)
    return entry if ok else None


def console_tls(target: str, settings: Settings) -> Any:
    """The mutual-TLS files (a ``TlsFiles``) a console uses to reach ``target``, or None for plain text: the
    settings' (--tls-* flags, TRIWARN_TLS_*) when given; else, when ``target`` is one of the running coalition
    demo's console addresses, that demo's development PKI with the certificate of the console it serves there
    (console-us at the hub, console-jp at edge-jp...); else None."""
    from triwarn.services.runtime.tls import TlsFiles

    own = TlsFiles.from_settings(settings)
    if own is not None:
        return own
    demo = read_demo_endpoints()
    if not demo or not isinstance(demo.get("tls_dir"), str) or not isinstance(demo.get("consoles"), dict):
        return None
    for view in demo["consoles"]:
        entry = _demo_console_for_view(demo, view)
        if entry is not None and entry["grpc"] == target:
            return TlsFiles.in_dir(demo["tls_dir"], entry["identity"])
    return None


def console_label_key(tls: Any) -> str:
    """The fusion service's label public key beside a console's CA (the folder `triwarn pki init` wrote), to
    check the labels' signatures; "" when there is none (plain text, or a CA kept elsewhere)."""
    if tls is None:
        return ""
    key = Path(tls.ca).parent / "fusion-us.ed25519.pub"
    return str(key) if key.is_file() else ""


def add_tls(p: argparse.ArgumentParser, default_identity: str = "") -> None:
    """Mutual TLS flags: ``--tls-dir DIR --identity NAME`` takes DIR/ca.crt, DIR/NAME.crt and DIR/NAME.key (the
    layout `triwarn pki init` writes), and the keys a role needs from DIR (see :func:`tls_overrides`);
    ``--tls-ca/--tls-cert/--tls-key`` name the files one by one."""
    p.add_argument("--tls-dir", help="folder of `triwarn pki init`: mutual TLS with the --identity's certificate")
    p.add_argument(
        "--identity",
        default=default_identity,
        help=f"identity whose certificate to use from --tls-dir (default {default_identity or 'none'})",
    )
    p.add_argument("--tls-ca", dest="tls_ca", help="CA certificate, PEM (env TRIWARN_TLS_CA)")
    p.add_argument("--tls-cert", dest="tls_cert", help="this process's certificate, PEM (env TRIWARN_TLS_CERT)")
    p.add_argument("--tls-key", dest="tls_key", help="this process's private key, PEM (env TRIWARN_TLS_KEY)")


def tls_overrides(args: argparse.Namespace, role: str = "", identity: str = "") -> dict[str, str | None]:
    """Settings overrides from the TLS flags (``--tls-dir`` first, the single-file flags win). With
    ``--tls-dir``, ``role`` adds its keys from that folder: ``fusion`` the node-key registry and the label key,
    ``node`` its signing key, ``edge`` the fusion service's label public key. ``identity``: the default when
    ``--identity`` is not given."""
    out: dict[str, str | None] = {"tls_ca": None, "tls_cert": None, "tls_key": None}
    if getattr(args, "tls_dir", None):
        name = args.identity or identity
        if not name:
            raise SystemExit("triwarn: --tls-dir needs --identity NAME")
        d = Path(args.tls_dir)
        out.update(tls_ca=str(d / "ca.crt"), tls_cert=str(d / f"{name}.crt"), tls_key=str(d / f"{name}.key"))
        if role == "fusion":
            out.update(node_keys=str(d / "node-keys.toml"), label_key=str(d / f"{name}.ed25519"))
        elif role == "node":
            out.update(signing_key=str(d / f"{name}.ed25519"))
        elif role == "edge":
            out.update(label_public_key=str(d / "fusion-us.ed25519.pub"))
    for field_name in ("tls_ca", "tls_cert", "tls_key"):
        if getattr(args, field_name, None):
            out[field_name] = getattr(args, field_name)
    return out


def say(text: str) -> None:
    """A launcher's own progress and notices: on stderr, so that stdout carries only the picture (``--json``)."""
    print(text, file=sys.stderr, flush=True)
