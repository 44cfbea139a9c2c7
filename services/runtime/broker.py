"""Find or start an MQTT broker: the user's, a private Mosquitto, or the embedded Python broker.

Order (``start_broker``):

1. a broker URL given by the user (nothing is started);
2. ``mosquitto`` from PATH, with a generated config on a free loopback port (``set_tcp_nodelay true``,
   persistence only in a directory given), in a child process;
3. the embedded broker (amqtt, pure Python) in a child process: the no-install default. It speaks MQTT 3.1.1
   with QoS 0/1, retained messages and last wills, which is all triwarn's nodes use.

Every child broker is stopped by ``BrokerHandle.stop()`` (also on interpreter exit) and dies with its parent
(it is started in the parent's process group and watches its stdin).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse


class BrokerError(RuntimeError):
    """The broker could not be started or reached; the message says what to do."""


@dataclass
class BrokerHandle:
    url: str  # mqtt://HOST:PORT
    kind: str  # "external", "mosquitto" or "embedded"
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def host(self) -> str:
        return urlparse(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlparse(self.url).port or 1883

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        if self.process is not None:
            for pipe in (self.process.stdin, self.process.stderr, self.process.stdout):
                if pipe is not None:
                    pipe.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> BrokerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: the documented gRPC port of the fusion service (Settings.grpc_listen, the demo's): never handed out here,
#: so that a broker or a service on a "free" port does not take it from a demo starting meanwhile
RESERVED_PORTS = frozenset({50051})


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host`` (never one of :data:`RESERVED_PORTS`)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


def dies_with_parent(argv: list[str]) -> list[str]:
    """``argv`` run so that the child gets SIGTERM (Mosquitto: a clean shutdown that saves its persistence)
    when this process dies, even by SIGKILL, so that no broker or service outlives what started it: under
    util-linux's ``setpriv --pdeathsig TERM``, which sets the signal and then executes ``argv`` (same pid), so
    no Python runs between fork and exec in a process full of threads (a ``preexec_fn`` there is unsafe).
    ``argv`` unchanged off Linux, without ``setpriv``, and when called off the main thread: the kernel sends
    the signal when the *thread* that forked the child ends, and a worker thread may end long before the
    process. (A parent that dies in the instant between fork and the ``prctl`` leaves the child running.)"""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return argv
    setpriv = shutil.which("setpriv")
    return argv if setpriv is None else [setpriv, "--pdeathsig", "TERM", "--", *argv]


def wait_for_port(host: str, port: int, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerError(f"the broker exited with code {process.returncode} before it listened on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise BrokerError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s")


#: Largest MQTT payload the generated Mosquitto config lets through (``message_size_limit``): the fusion
#: service's default ``Settings.max_payload_bytes`` plus 64 kB, so that a payload just over the service's
#: limit still reaches it and is counted and logged as ``oversized``, while a larger one (100 MB) is dropped at
#: the broker and never reaches (nor has to be buffered by) any subscriber.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024 + 64 * 1024


def _keep_user() -> list[str]:
    """The ``user`` line that keeps Mosquitto, started as root, as root (see :func:`mosquitto_config`); none
    otherwise (a non-root Mosquitto does not change its user)."""
    return [f"user {pwd.getpwuid(0).pw_name}"] if os.geteuid() == 0 else []


def mosquitto_config(
    port: int,
    host: str = "127.0.0.1",
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    persistence_dir: Path | None = None,
) -> str:
    """Mosquitto's config. With ``persistence_dir`` the broker keeps its state there (persistent sessions with
    their subscriptions and queued QoS 1 messages, retained messages), saved every second and on exit, so that
    a restart on the same directory loses none of it; without, a restart starts empty. Started as root,
    Mosquitto would drop to the user ``mosquitto``, who cannot write a directory of ours, and the change of
    user would clear the signal it gets when its starter dies (:func:`dies_with_parent`): it keeps the user
    who starts it (``user`` line)."""
    persistence = (
        ["persistence true", f"persistence_location {persistence_dir}/", "autosave_interval 1"]
        if persistence_dir is not None
        else ["persistence false"]
    )
    return "\n".join(
        [
            f"listener {port} {host}",
            "allow_anonymous true",
            *persistence,
            *_keep_user(),
            "set_tcp_nodelay true",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "max_queued_messages 10000",
            f"message_size_limit {int(max_payload_bytes)}",
            "",
        ]
    )


def start_broker(
    url: str | None = None,
    prefer: str = "auto",
    host: str = "127.0.0.1",
    port: int = 0,
    timeout_s: float = 10.0,
    persistence_dir: Path | None = None,
) -> BrokerHandle:
    """Return a running broker. ``prefer``: "auto", "mosquitto" or "embedded"; ``port`` 0 picks a free one.
    ``persistence_dir``: Mosquitto keeps its sessions and queued messages there, across a restart on the same
    directory (see :func:`mosquitto_config`; the embedded broker keeps nothing across a restart)."""
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in {"mqtt", "mqtts"} or not parsed.hostname:
            raise BrokerError(f"--broker must look like mqtt://HOST:PORT, not {url!r}")
        try:
            wait_for_port(parsed.hostname, parsed.port or 1883, timeout_s=min(timeout_s, 3.0))
        except BrokerError:
            raise BrokerError(
                f"no MQTT broker answers at {url}: start one (`triwarn broker`) or leave --broker out "
                "to let triwarn start its own"
            ) from None
        return BrokerHandle(url=url, kind="external")
    if prefer not in {"auto", "mosquitto", "embedded"}:
        raise BrokerError(f"unknown broker kind {prefer!r}: use auto, mosquitto or embedded")
    port = port or free_port(host)
    exe = shutil.which("mosquitto")
    if prefer == "mosquitto" and exe is None:
        raise BrokerError("mosquitto is not installed: `apt-get install mosquitto`, or use the embedded broker")
    if exe is not None and prefer in {"auto", "mosquitto"}:
        workdir = Path(tempfile.mkdtemp(prefix="triwarn-mosquitto-"))
        conf = workdir / "mosquitto.conf"
        if persistence_dir is not None:
            Path(persistence_dir).mkdir(parents=True, exist_ok=True)
        conf.write_text(mosquitto_config(port, host, persistence_dir=persistence_dir))
        proc = subprocess.Popen(
            dies_with_parent([exe, "-c", str(conf)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        handle = BrokerHandle(url=f"mqtt://{host}:{port}", kind="mosquitto", process=proc, workdir=workdir)
    else:
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "triwarn.services.runtime.broker", "--host", host, "--port", str(port)],
            stdin=subprocess.PIPE,  # the child exits when this pipe closes (parent died)
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        handle = BrokerHandle(url=f"mqtt://{host}:{port}", kind="embedded", process=proc)
    atexit.register(handle.stop)
    try:
        wait_for_port(host, port, timeout_s, proc)
    except BrokerError as exc:
        err = b""
        if proc.poll() is not None and proc.stderr is not None:
            err = proc.stderr.read()[-2000:]
        handle.stop()
        raise BrokerError(f"{handle.kind} broker failed: {exc}\n{err.decode(errors='replace')}") from None
    return handle


async def run_embedded(host: str, port: int, stop: asyncio.Event) -> None:
    """Run the amqtt broker until ``stop`` is set."""
    # amqtt only here: it runs in the embedded broker's own process, and loading it costs every other
    # importer of this module time and amqtt's deprecation warnings
    from amqtt.broker import Broker

    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    broker = Broker(config)
    await broker.start()
    try:
        await stop.wait()
    finally:
        await broker.shutdown()


def _embedded_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="triwarn's embedded MQTT broker (amqtt)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args(argv)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if not sys.stdin.isatty():
            # exit when the parent goes away (its end of our stdin pipe closes)
            fd = sys.stdin.fileno()
            loop.add_reader(fd, lambda: stop.set() if not os.read(fd, 1) else None)
        await run_embedded(args.host, args.port, stop)

    asyncio.run(main())
    return 0


if __name__ == "__main__":
    sys.exit(_embedded_main(sys.argv[1:]))
