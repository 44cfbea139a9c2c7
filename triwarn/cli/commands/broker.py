"""``triwarn broker``: run an MQTT broker in the foreground (Mosquitto if installed, else embedded)."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "broker",
        help="run an MQTT broker for the nodes and the fusion service",
        description="Run an MQTT broker in the foreground: Mosquitto from PATH with a generated config, or "
        "the embedded Python broker (amqtt) where Mosquitto is not installed. Ctrl-C stops it.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=1883, help="port to listen on (default 1883)")
    p.add_argument(
        "--kind",
        choices=["auto", "mosquitto", "embedded"],
        default="auto",
        help="which broker (default auto)",
    )
    p.add_argument(
        "--data-dir",
        help="Mosquitto keeps its sessions and queued messages in DIR: a restart with the same DIR loses no batch "
        "queued for the fusion service (default: nothing kept across a restart)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="run Mosquitto on this config instead (a coalition broker's, from `triwarn pki brokers`), its ACL "
        "denials counted from its debug log (mosquitto.log beside FILE keeps the rest)",
    )
    p.add_argument("--name", help="with --config: the broker's name in the metrics (default: FILE's folder name)")
    p.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="with --config: serve the denied publishes and subscriptions for Prometheus here",
    )
    p.set_defaults(func=run)


def _run_config(args: argparse.Namespace) -> int:
    import signal
    import threading

    from triwarn.services.runtime.broker import BrokerError
    from triwarn.services.trust.counted_broker import run_counted

    config = Path(args.config)
    if not config.is_file():
        print(f"triwarn broker: no config at {config} (write one with `triwarn pki brokers OUT --pki-dir DIR`)")
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    name = args.name or config.resolve().parent.name
    where = f"; metrics on http://{args.metrics}/metrics" if args.metrics else ""
    print(f"MQTT broker {name} (mosquitto, {config}){where}; Ctrl-C stops it", flush=True)
    try:
        return run_counted(config, name, args.metrics, stop)
    except BrokerError as exc:
        print(f"triwarn broker: {exc}")
        return 2


def run(args: argparse.Namespace) -> int:
    from triwarn.services.runtime.broker import mosquitto_config

    if args.config:
        return _run_config(args)

    exe = shutil.which("mosquitto")
    if args.kind == "mosquitto" and exe is None:
        print("mosquitto is not installed: `apt-get install mosquitto`, or run `triwarn broker --kind embedded`")
        return 2
    kind = "mosquitto" if exe is not None and args.kind != "embedded" else "embedded"
    print(f"MQTT broker ({kind}) on mqtt://{args.host}:{args.port}; Ctrl-C stops it", flush=True)
    if kind == "mosquitto":
        assert exe is not None
        conf = Path(tempfile.mkdtemp(prefix="triwarn-mosquitto-")) / "mosquitto.conf"
        data_dir = Path(args.data_dir).resolve() if args.data_dir else None
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        conf.write_text(mosquitto_config(args.port, args.host, persistence_dir=data_dir))
        os.execv(exe, [exe, "-c", str(conf)])  # replaces this process: signals reach mosquitto directly
    import asyncio
    import signal

    from triwarn.services.runtime.broker import run_embedded

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_embedded(args.host, args.port, stop)

    asyncio.run(main())
    return 0
