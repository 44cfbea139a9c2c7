"""One coalition broker run from a config file, its ACL denials counted: ``triwarn broker --config FILE``.

The brokers :func:`triwarn.services.trust.topology.start_coalition` starts (the demo, the tests) log at the
debug level into a :class:`~triwarn.services.trust.broker_log.BrokerLog` of the process that started them
(:func:`spawn_counted`). A broker started on its own (docker-compose.coalition.yml: one container per broker)
gets the same reader here:
Mosquitto runs as this process's child with its output piped into a ``BrokerLog`` (the ACL read from the
config's ``acl_file``), the log file is ``mosquitto.log`` beside the config, and the counts are served as
``triwarn_broker_publishes_denied_total`` and ``triwarn_broker_subscriptions_denied_total`` on ``metrics``
(``HOST:PORT``). SIGTERM and SIGINT stop Mosquitto cleanly (it saves its persistence); the exit code is its.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server

from triwarn.services.runtime.broker import BrokerError, dies_with_parent
from triwarn.services.trust.broker_log import AclRules, BrokerLog, DeniedPublishes

log = logging.getLogger(__name__)
#: how long Mosquitto may take to stop after SIGTERM before it is killed (inside compose's 10 s grace period)
STOP_WAIT_S = 8.0


def config_acl(config_text: str) -> Path | None:
    """The ``acl_file`` a Mosquitto config names (None: none)."""
    for line in config_text.splitlines():
        words = line.split(None, 1)
        if len(words) == 2 and words[0] == "acl_file":
            return Path(words[1].strip())
    return None


def logs_at_debug(config_text: str) -> bool:
    """Whether the config asks for Mosquitto's debug level (the only one at which it logs a denied publish)."""
    return any(line.split() in (["log_type", "debug"], ["log_type", "all"]) for line in config_text.splitlines())


def spawn_counted(
    exe: str,
    config: Path,
    log_path: Path,
    env: dict[str, str] | None = None,
    before: BrokerLog | None = None,
) -> tuple[subprocess.Popen[bytes], BrokerLog]:
    """Start Mosquitto ``exe`` on ``config`` with its output read by a :class:`BrokerLog` (the ACL the config
    names; ``log_path`` keeps the rest), dying with this process. ``before``: the reader of the broker's
    previous run (a restart), whose counts go on once it has read that run's last lines."""
    acl_path = config_acl(config.read_text())
    acl = AclRules.parse(acl_path.read_text()) if acl_path is not None and acl_path.exists() else None
    if acl is None:
        log.warning("%s names no readable acl_file: denied subscriptions will not be counted", config)
    proc = subprocess.Popen(
        dies_with_parent([exe, "-c", str(config)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    if before is not None:
        before.join()
    publishes = before.denied_publishes() if before is not None else None
    subscriptions = before.denied_subscriptions() if before is not None else None
    return proc, BrokerLog(proc.stdout, log_path, publishes, acl, subscriptions)


def run_counted(config: Path, name: str, metrics: str | None = None, stop: threading.Event | None = None) -> int:
    """Run Mosquitto on ``config`` until it exits or ``stop`` is set (the caller's signal handlers set it);
    returns its exit code. ``name`` labels the metrics (``broker``)."""
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if exe is None:
        raise BrokerError("mosquitto is not installed: `apt-get install mosquitto`")
    if not logs_at_debug(config.read_text()):
        log.warning("%s does not log at the debug level: denied publishes will not be counted", config)
    proc, reader = spawn_counted(exe, config, config.parent / "mosquitto.log")
    server = None
    stop = stop or threading.Event()
    try:
        if metrics:
            host, _, port = metrics.rpartition(":")
            registry = CollectorRegistry()
            registry.register(DeniedPublishes({name: reader}))
            try:
                server, _thread = start_http_server(int(port), host or "0.0.0.0", registry)
            except (OSError, ValueError) as exc:
                raise BrokerError(f"cannot serve the metrics on {metrics}: {exc}") from None
        while proc.poll() is None and not stop.wait(0.2):
            pass
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join()
        if server is not None:
            server.shutdown()
    code = int(proc.returncode or 0)
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says
