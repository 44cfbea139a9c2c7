"""A Mosquitto broker's log, read as it is written: publishes its ACL denied, counted; the rest kept.

Mosquitto 2.0 has no counter of ACL denials and logs a denied publish only at its ``debug`` level
("Denied PUBLISH from CLIENT (d0, q1, r0, m1, 'TOPIC', ... (N bytes))"), among a line or two for every packet
it receives or sends. :class:`BrokerLog` reads such a broker's output from a pipe in a thread of the process
that started it: it counts the denials per client id (the certificate's CN, ``use_username_as_clientid``:
bounded by the PKI, so fit for a metric label), writes the denials and every non-per-packet line (connections,
TLS errors, warnings) to the broker's log file, and drops the per-packet debug lines, so the file stays as
small as at the ``notice`` level. The topic of a denial is in the log file, not in a label (a client chooses
it: unbounded).

Under MQTT 3.1.1 (bridges, triwarn's clients) the publisher is not told; an MQTT 5 client gets PUBACK reason
135 (not authorized) for QoS 1. Either way the broker logs it, and this counts it.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

#: "Denied PUBLISH from bridge-kr (d0, q1, r0, m3, 'triwarn/v1/jp/tracks', ... (7 bytes))"
DENIED_PUBLISH = re.compile(r"Denied PUBLISH from (\S+) \(")
#: per-packet lines of the debug level (after the "<epoch>: " prefix): not written to the log file
_PER_PACKET = ("Received ", "Sending ", "No will message specified", "\t", "Bridge ")


def _message(line: str) -> str:
    """The line without Mosquitto's "<epoch seconds>: " prefix."""
    head, sep, rest = line.partition(": ")
    return rest if sep and head.isdigit() else line


class BrokerLog:
    """Reads one broker's output (``stream``, its stdout and stderr) until EOF, in a daemon thread, appending
    what it keeps to ``log_path``. ``denied`` maps client id to the publishes the broker denied it (from
    ``denied_before`` on: the counts of the broker's previous run, when it is restarted)."""

    def __init__(self, stream: IO[bytes], log_path: Path, denied_before: dict[str, int] | None = None) -> None:
        self.denied: Counter[str] = Counter(denied_before or {})
        self._lock = threading.Lock()
        self._stream = stream
        self._log_path = log_path
        self._thread = threading.Thread(target=self._run, name=f"broker-log-{log_path.parent.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._stream, self._log_path.open("ab", buffering=0) as out:
            for raw in self._stream:
                line = raw.decode(errors="replace")
                message = _message(line)
                match = DENIED_PUBLISH.match(message)
                if match:
                    with self._lock:
                        self.denied[match.group(1)] += 1
                elif message.startswith(_PER_PACKET):
                    continue
                out.write(raw)

    def denied_publishes(self) -> dict[str, int]:
        """Client id -> publishes denied so far."""
        with self._lock:
            return dict(self.denied)

    def join(self, timeout_s: float = 5.0) -> None:
        """Wait for the broker's output to end (after the broker exited)."""
        self._thread.join(timeout_s)


class DeniedPublishes(Collector):
    """``triwarn_broker_publishes_denied_total{broker, client}``, read from ``logs`` (broker name -> its
    :class:`BrokerLog`, looked up at every scrape, so a restarted broker's new reader is seen)."""

    def __init__(self, logs: dict[str, BrokerLog]) -> None:
        self._logs = logs

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "triwarn_broker_publishes_denied",
            "Publishes a coalition broker's ACL denied (dropped), per broker and client id, from its log",
            labels=["broker", "client"],
        )
        for broker, log in sorted(self._logs.items()):
            for client, n in sorted(log.denied_publishes().items()):
                family.add_metric([broker, client], n)
        yield family
