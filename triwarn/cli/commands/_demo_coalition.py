"""``triwarn demo --topology coalition``: the coalition topology on this machine (docs/coalition.md).

triwarn pki init WORKDIR/pki          development CA, certificates, signing keys, node-key registry
mosquitto × 4                         broker-hub, broker-us, -jp, -kr: mTLS, generated ACLs, bridges to the hub
triwarn fusion (at the hub)           verifies signed batches; releases each view, labelled and signed
triwarn node --nation us|jp|kr        on its national broker, its own certificate, signing every batch
triwarn edge --nation jp|kr           on its national broker; serves its consoles over mTLS gRPC
triwarn subscribe × 3                 console-jp via edge-jp (shown), console-kr via edge-kr and
                                      console-us at the hub (JSON lines in WORKDIR/console-*.jsonl)
triwarn web (--web)                   console-us at the hub, as a map

Like the single broker's demo it writes its endpoints file (``_common.demo_endpoints_file``) once every
console address serves: the hub's and the edges' gRPC addresses, which console identity each serves, and the
PKI folder, so that ``triwarn subscribe`` / ``web`` / ``cot`` on this machine find the demo and connect with
mutual TLS as the console of the view they ask for.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
from pathlib import Path
from typing import Any

NATIONS = ("us", "jp", "kr")
EDGES = ("jp", "kr")


def run_coalition(args: argparse.Namespace, scenario: Any, workdir: Path, demo: Any) -> int:
    """The coalition demo; ``demo`` is the demo command's module (its spawn, wait and stop helpers)."""
    from prometheus_client import CollectorRegistry, start_http_server

    from triwarn.cli.commands._common import open_start_gate, remove_demo_endpoints, say, write_demo_endpoints
    from triwarn.services.policy import load_policy
    from triwarn.services.runtime.broker import BrokerError, free_port
    from triwarn.services.runtime.tls import TlsFiles
    from triwarn.services.trust.pki import init_pki
    from triwarn.services.trust.registry import load_registry
    from triwarn.services.trust.topology import start_coalition

    pki = init_pki(workdir / "pki")
    say(f"  development PKI: {pki} (triwarn pki init)")
    try:
        brokers = start_coalition(pki, load_policy(None), load_registry(pki / "node-keys.toml"), workdir / "brokers")
    except BrokerError as exc:
        say(f"triwarn demo: {exc}")
        return 2
    for name, handle in brokers.handles.items():
        say(f"  broker-{name}: {handle.url} (mutual TLS, ACL, {'hub' if name == 'hub' else 'bridged to the hub'})")
    registry = CollectorRegistry()
    registry.register(brokers.metrics())
    metrics_server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    broker_metrics = f"http://127.0.0.1:{metrics_server.server_port}/metrics"
    say(
        f"  brokers' denied publishes and subscriptions: {broker_metrics} "
        "(triwarn_broker_publishes_denied_total, triwarn_broker_subscriptions_denied_total)"
    )
    target = f"127.0.0.1:{demo._grpc_port()}"  # 50051 when free, as the single broker's demo
    edge_targets = {n: f"127.0.0.1:{free_port()}" for n in EDGES}
    procs: list[subprocess.Popen[bytes]] = []
    log_file = (workdir / "services.log").open("ab")
    tls = ["--tls-dir", str(pki)]
    edges: dict[str, subprocess.Popen[bytes]] = {}
    console: subprocess.Popen[bytes] | None = None
    outputs: list[Any] = []  # the JSON-lines files of the consoles that are not shown
    try:
        gate = workdir / "start-gate"
        gate.mkdir(exist_ok=True)
        for stale in gate.iterdir():
            stale.unlink()
        common = ["--speed", f"{args.speed:g}", "--start-gate", str(gate)]
        fusion = demo._spawn(
            ["fusion", "--broker", brokers.url("hub"), "--listen", target, "--metrics-port", "0",
             "--warning-log", str(workdir / "warnings.sqlite"), "--audit-log", str(workdir / "audit-fusion.jsonl"),
             *tls, *common],
            log_file,
        )  # fmt: skip
        procs.append(fusion)
        nodes = []
        for nation in NATIONS:
            node_args = ["node", "--nation", nation, "--broker", brokers.url(nation), "--scenario", args.scenario]
            nodes.append(demo._spawn([*node_args, "--seed", str(args.seed), *tls, *common], log_file))
        procs.extend(nodes)
        for nation in EDGES:
            edge_args = ["edge", "--nation", nation, "--broker", brokers.url(nation), "--listen", edge_targets[nation]]
            edge_args += ["--warning-log", str(workdir / f"edge-{nation}.sqlite"), *tls]
            edge_args += ["--audit-log", str(workdir / f"audit-edge-{nation}.jsonl")]
            edges[nation] = demo._spawn(edge_args, log_file)
        procs.extend(edges.values())
        names = ["fusion", *(f"node-{n}" for n in NATIONS)]
        say("  starting the fusion service at the hub, the nodes (us, jp, kr) and the edges (jp, kr)...")
        demo._wait_ready(gate, names, procs[: len(names)], timeout_s=300)
        open_start_gate(str(gate), lead_s=demo.START_LEAD_S)
        consoles = {"us": target, **edge_targets}
        for nation, proc in (("us", fusion), *edges.items()):
            credentials = TlsFiles.in_dir(pki, f"console-{nation}").grpc_channel_credentials()
            demo._wait_serving(consoles[nation], proc, 300, credentials, name=demo._name(proc))
        endpoints = write_demo_endpoints(
            grpc=target,
            broker=brokers.url("hub"),
            workdir=str(workdir),
            topology="coalition",
            tls_dir=str(pki),
            consoles={n: {"grpc": consoles[n], "identity": f"console-{n}"} for n in NATIONS},
            broker_metrics=broker_metrics,
        )
        say(f"  fusion service at the hub: gRPC {target} (mutual TLS)")
        say(f"  edges: jp {edge_targets['jp']}, kr {edge_targets['kr']} (mutual TLS; each serves its own nation)")
        say(f"  another shell: `triwarn subscribe [--view jp|kr]` finds them through {endpoints}")
        for nation in ("us", "kr"):
            out = (workdir / f"console-{nation}.jsonl").open("ab")
            outputs.append(out)
            sub = ["subscribe", "--target", consoles[nation], "--json", *tls, "--identity", f"console-{nation}"]
            procs.append(demo._spawn(sub, out))
        say(f"  consoles us and kr: JSON lines in {workdir}/console-us.jsonl and console-kr.jsonl")
        say("  console jp, through edge-jp (below):")
        shown = ["subscribe", "--target", edge_targets["jp"], *tls, "--identity", "console-jp"]
        console = demo._spawn([*shown, "--json"] if args.json else shown)
        procs.append(console)
        if args.web:  # `triwarn web` as the US console at the hub (docs/web.md)
            web = ["web", "--target", target, "--view", "us", "--listen", args.web, *tls, "--identity", "console-us"]
            procs.append(demo._spawn(web, log_file))
            say(f"  web map: http://{args.web}/")
        # 2 s at the end: the last updates cross the hub and the edges
        if demo.run_until_the_end(args, scenario, nodes, fusion, console, workdir, settle_s=2.0) is not None:
            return 1
    except KeyboardInterrupt as exc:
        return int(demo.interrupted(exc, workdir))
    except RuntimeError as exc:
        say(f"triwarn demo: {exc}; see {workdir / 'services.log'}")
        return 1
    finally:
        remove_demo_endpoints()
        demo._stop_all(list(reversed(procs)))
        brokers.stop()
        metrics_server.shutdown()
        metrics_server.server_close()
        denied = {b: sum(brokers.denied_publishes(b).values()) for b in brokers.handles}
        if any(denied.values()):
            say(f"  the brokers' ACLs denied publishes: {denied} (who and which topic: brokers/*/mosquitto.log)")
        denied = {b: sum(brokers.denied_subscriptions(b).values()) for b in brokers.handles}
        if any(denied.values()):
            say(f"  the brokers' ACLs denied subscriptions: {denied} (who and which: brokers/*/mosquitto.log)")
        log_file.close()
        for out in outputs:
            out.close()
    if console is not None and console.returncode in (demo.EXIT_BROKEN_PIPE, -signal.SIGPIPE):
        return int(demo.EXIT_BROKEN_PIPE)  # the reader of our output went away: end quietly, as `yes | head` does
    if console is not None and console.returncode == demo.EXIT_INTERRUPTED:
        # Ctrl-C reached the whole foreground group and the console ended first: the demo was interrupted
        return int(demo.interrupted(KeyboardInterrupt(), workdir))
    failed = [f"{demo._name(p)} (exit {p.returncode})" for p in procs if p.returncode not in (0, -signal.SIGTERM, 130)]
    if failed:
        say(f"triwarn demo: {', '.join(failed)} failed; see {workdir / 'services.log'}")
        return 1
    say(f"triwarn demo: done. Logs, the warning logs, the PKI and the broker configs are in {workdir}")
    say(f"  releases to consoles: triwarn audit verify {workdir / 'audit-edge-jp.jsonl'} (and audit-*.jsonl)")
    return 0
