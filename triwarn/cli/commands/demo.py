"""``triwarn demo``: the whole stack on this machine, on a built-in launch scenario.

Where mosquitto is on PATH (and no --broker is given) the default topology is the coalition's
(docker-compose.coalition.yml, docs/coalition.md: four brokers, mTLS, signed batches, national edges).
Otherwise, or with --topology single, the topology of docker-compose.yml, same entry points, as child processes:

    broker (--broker URL | mosquitto from PATH | embedded amqtt)
    triwarn fusion                       gRPC WarningService on a free port
    triwarn node --nation us|jp|kr       sensors + tracker -> MQTT
    triwarn subscribe                    prints the live shared picture

The scenario runs ``--speed`` times faster than real time (every process gets the same clock start and
speed). The demo ends by itself when the scenario ends (or after ``--duration`` seconds) and exits 0; Ctrl-C
stops everything cleanly. Children die with the demo even if it is killed (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from triwarn.cli.commands._common import open_start_gate, remove_demo_endpoints, say, write_demo_endpoints
from triwarn.cli.main import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED
from triwarn.cli.warmup import ProgressLine, warm_up
from triwarn.services.runtime.broker import BrokerError, dies_with_parent, free_port, start_broker

NATIONS = ("us", "jp", "kr")
#: the gRPC port the documentation promises (docker-compose.yml, README): taken when it is free
DEFAULT_GRPC_PORT = 50051
#: wall seconds from "every process is ready" to scenario time 0: the fusion service subscribes and serves, the
#: nodes build their sensors and tracker and connect, in this time
START_LEAD_S = 3.0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="run everything locally on a built-in launch scenario (start here)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: when the scenario ends)")
    p.add_argument("--scenario", default="demo", help="scenario file or catalog name (default: demo)")
    p.add_argument("--speed", type=float, default=5.0, help="times faster than real time (default 5)")
    p.add_argument("--broker", help="use this MQTT broker (mqtt://HOST:PORT) instead of starting one")
    p.add_argument("--json", action="store_true", help="print the picture as one JSON object per update")
    p.add_argument("--seed", type=int, default=1, help="random seed of the simulation (default 1)")
    p.add_argument("--workdir", help="where logs and the warning log go (default: a new temporary folder)")
    p.add_argument("--web", nargs="?", const="127.0.0.1:8080", metavar="HOST:PORT", help="also serve the web map")
    p.add_argument(
        "--topology",
        choices=["auto", "coalition", "single"],
        default="auto",
        help="auto (default): coalition where mosquitto is installed and no --broker is given, else single (and "
        "it says why); coalition: four Mosquitto brokers (us, jp, kr, US hub) with mTLS, signed batches and "
        "national edges (docs/coalition.md); single: one broker, no TLS",
    )
    p.set_defaults(func=run)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a test's or a supervisor's stop): stops the demo as Ctrl-C does, cleanup included
    (brokers, the endpoints file), but exits 0, as the other commands do on SIGTERM."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def interrupted(exc: KeyboardInterrupt, workdir: Path) -> int:
    """The message and exit code of a demo stopped by Ctrl-C (130) or SIGTERM (0)."""
    if isinstance(exc, Terminated):
        say(f"triwarn demo: stopped (SIGTERM); logs are in {workdir}")
        return 0
    say(f"triwarn demo: interrupted; logs are in {workdir}")
    return EXIT_INTERRUPTED


def _spawn(args: list[str], log_file: Any | None = None) -> subprocess.Popen[bytes]:
    # -P: the working directory is not put on sys.path, so a checkout's triwarn/ folder cannot shadow the
    # installed package when the demo is started from the repository's root
    cmd = [sys.executable, "-P", "-m", "triwarn.cli.main", *args]
    return subprocess.Popen(
        dies_with_parent(cmd),  # SIGTERM when the demo dies, even by SIGKILL (Linux)
        stdout=log_file if log_file is not None else None,
        stderr=subprocess.STDOUT if log_file is not None else None,
        stdin=subprocess.DEVNULL,
    )


def _wait_serving(
    target: str,
    proc: subprocess.Popen[bytes],
    timeout_s: float,
    credentials: Any = None,
    name: str = "the fusion service",
) -> None:
    """Wait until the gRPC server of ``proc`` (``name`` in messages) at ``target`` reports SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout_s
    channel_cm = grpc.insecure_channel(target) if credentials is None else grpc.secure_channel(target, credentials)
    with channel_cm as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}")
            with contextlib.suppress(grpc.RpcError):
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not become ready within {timeout_s:.0f} s")


def _wait_ready(gate: Path, names: list[str], procs: list[subprocess.Popen[bytes]], timeout_s: float) -> None:
    """Wait until every child has written its ready file at the start gate."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for name, p in zip(names, procs, strict=True):
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with code {p.returncode} while starting")
        missing = [n for n in names if not (gate / f"ready-{n}").exists()]
        if not missing:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{', '.join(missing)} not ready within {timeout_s:.0f} s")


def _stop_all(procs: list[subprocess.Popen[bytes]], timeout_s: float = 10.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for p in procs:
        try:
            p.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def _name(proc: subprocess.Popen[bytes]) -> str:
    """A child's name as the demo's messages give it: the subcommand and its nation, e.g. "node us"."""
    args = [str(a) for a in proc.args] if isinstance(proc.args, list) else [str(proc.args)]
    words = args[args.index("triwarn.cli.main") + 1 :] if "triwarn.cli.main" in args else args
    name = words[0] if words else "?"
    return f"{name} {words[words.index('--nation') + 1]}" if "--nation" in words else name


def _grpc_port() -> int:
    """The documented default port (50051) when no server listens there, else any free port (consoles find it
    through the endpoints file, :func:`triwarn.cli.commands._common.demo_endpoints_file`). The probe binds as
    the gRPC server does, with SO_REUSEADDR: the connections of a demo stopped within the last minute leave
    TIME_WAIT sockets on 50051, which the server binds past and a plain bind does not."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", DEFAULT_GRPC_PORT))
        return DEFAULT_GRPC_PORT
    return free_port()


def _topology(args: argparse.Namespace) -> str:
    """The topology to run: ``--topology``, or for auto the coalition where mosquitto is on PATH (and no
    --broker is given); the single broker otherwise, which says so."""
    import shutil

    if args.topology == "coalition" and shutil.which("mosquitto") is None:
        raise SystemExit("triwarn demo: --topology coalition needs mosquitto (`apt-get install mosquitto`)")
    if args.topology != "auto":
        return str(args.topology)
    if args.broker is None and shutil.which("mosquitto") is not None:
        return "coalition"
    why = "--broker was given" if args.broker else "mosquitto is not installed"
    say(f"  topology: one broker ({why}); the coalition topology needs mosquitto (docs/coalition.md)")
    return "single"


def _run_coalition(args: argparse.Namespace, scenario: Any, workdir: Path) -> int:
    """The coalition topology (issue 15): lives in its own module."""
    from triwarn.cli.commands._demo_coalition import run_coalition

    say("  topology: coalition (four brokers, mTLS, signed batches, national edges; docs/coalition.md)")
    return run_coalition(args, scenario, workdir, sys.modules[__name__])


def run_until_the_end(
    args: argparse.Namespace,
    scenario: Any,
    nodes: list[subprocess.Popen[bytes]],
    fusion: subprocess.Popen[bytes],
    console: subprocess.Popen[bytes],
    workdir: Path,
    settle_s: float,
) -> int | None:
    """Wait until the scenario ends (every node done, or ``--duration``), then ``settle_s`` for the last updates
    to arrive; None then, 1 when the fusion service stopped. Ends at once when the console exits (its reader went
    away, ``| head``, or it failed): nothing is shown any more."""
    wall_s = scenario.duration_s / args.speed + 3.0
    if args.duration is not None:
        wall_s = min(wall_s, args.duration)
    deadline = time.monotonic() + wall_s
    while time.monotonic() < deadline:
        if all(n.poll() is not None for n in nodes):
            break
        if fusion.poll() is not None:
            say(f"triwarn demo: the fusion service stopped (code {fusion.returncode}); see {workdir}")
            return 1
        if console.poll() is not None:
            return None
        time.sleep(0.2)
    time.sleep(settle_s)
    return None


def run(args: argparse.Namespace) -> int:
    # numba and the flight physics load here, not at import: `triwarn --help` imports every command module
    from triwarn.scenarios.scenario_file import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        say(f"triwarn demo: {exc}")
        return 2
    signal.signal(signal.SIGTERM, _terminate)  # a clean stop: children, brokers, the endpoints file
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="triwarn-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"triwarn demo: scenario {scenario.name!r}: {scenario.description}")
    say(f"  shown {args.speed:g}x faster than real time; logs in {workdir}")
    say("  numba kernels: compiled on the first run (about a minute on 2 cores), loaded from the cache afterwards")
    show = ProgressLine()
    try:
        took = warm_up(args.scenario, args.seed, show=show)
    except RuntimeError as exc:
        show.end()
        say(f"triwarn demo: {exc}")
        return 1
    show.end()
    # the flights are computed only now (their kernels are warm): before the warm-up this compiled in silence
    say(f"  kernels ready in {took:.1f} s; {scenario.duration_s:.0f} s of flight to show")
    topology = _topology(args)
    if topology == "coalition":
        return _run_coalition(args, scenario, workdir)

    try:
        broker = start_broker(args.broker)
    except BrokerError as exc:
        say(f"triwarn demo: {exc}")
        return 2
    say(f"  MQTT broker: {broker.url} ({broker.kind})")
    target = f"127.0.0.1:{_grpc_port()}"
    procs: list[subprocess.Popen[bytes]] = []
    log_file = (workdir / "services.log").open("ab")
    subscriber: subprocess.Popen[bytes] | None = None
    try:
        # The fusion service and the nodes start at once and get ready (imports, cached kernels); only then is
        # the common clock start t0 chosen (all of them run --speed times faster than the wall clock from t0),
        # so a slow start (a loaded machine) never eats the scenario's first seconds.
        gate = workdir / "start-gate"
        gate.mkdir(exist_ok=True)
        for stale in gate.iterdir():
            stale.unlink()
        common = ["--speed", f"{args.speed:g}", "--start-gate", str(gate)]
        fusion = _spawn(
            [
                "fusion",
                "--broker", broker.url,
                "--listen", target,
                "--metrics-port", "0",
                "--warning-log", str(workdir / "warnings.sqlite"),
                # the embedded broker speaks MQTT 3.1.1 only
                *(["--mqtt-max-packet-bytes", "0"] if broker.kind == "embedded" else []),
                *common,
            ],
            log_file,
        )  # fmt: skip
        procs.append(fusion)
        nodes = []
        for nation in NATIONS:
            node_args = ["node", "--nation", nation, "--broker", broker.url, "--scenario", args.scenario]
            nodes.append(_spawn([*node_args, "--seed", str(args.seed), *common], log_file))
        procs.extend(nodes)
        names = ["fusion", *(f"node-{n}" for n in NATIONS)]
        say("  starting the fusion service and the nodes (us, jp, kr)...")
        _wait_ready(gate, names, procs, timeout_s=300)
        open_start_gate(str(gate), lead_s=START_LEAD_S)
        _wait_serving(target, fusion, timeout_s=300)
        endpoints = write_demo_endpoints(grpc=target, broker=broker.url, workdir=str(workdir))
        say(f"  fusion service: gRPC {target} (another shell: `triwarn subscribe` finds it through {endpoints})")
        say("  nodes: us, jp, kr publishing on triwarn/v1/<nation>/tracks")
        sub_args = ["subscribe", "--target", target, "--view", "us"]
        if args.json:
            sub_args.append("--json")
        subscriber = _spawn(sub_args)
        procs.append(subscriber)
        if args.web:  # `triwarn web` on the same view (docs/web.md)
            procs.append(_spawn(["web", "--target", target, "--view", "us", "--listen", args.web], log_file))
            say(f"  web map: http://{args.web}/")

        if run_until_the_end(args, scenario, nodes, fusion, subscriber, workdir, settle_s=1.0) is not None:
            return 1
    except KeyboardInterrupt as exc:
        return interrupted(exc, workdir)
    except RuntimeError as exc:
        say(f"triwarn demo: {exc}; see {workdir / 'services.log'}")
        return 1
    finally:
        remove_demo_endpoints()
        _stop_all(list(reversed(procs)))
        broker.stop()
        log_file.close()
    if subscriber is not None and subscriber.returncode in (EXIT_BROKEN_PIPE, -signal.SIGPIPE):
        return EXIT_BROKEN_PIPE  # the reader of our output went away: end quietly, as `yes | head` does
    if subscriber is not None and subscriber.returncode == EXIT_INTERRUPTED:
        # Ctrl-C reached the whole foreground group and the console ended first: the demo was interrupted
        return interrupted(KeyboardInterrupt(), workdir)
    failed = [f"{_name(p)} (exit {p.returncode})" for p in procs if p.returncode not in (0, -signal.SIGTERM)]
    if failed:
        say(f"triwarn demo: {', '.join(failed)} failed; see {workdir / 'services.log'}")
        return 1
    say(f"triwarn demo: done. Logs and the warning log are in {workdir}")
    return 0
