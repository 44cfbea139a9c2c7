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

A subscription the ACL denies is not refused by Mosquitto 2.0: it grants it (SUBACK 0) and filters each message
at delivery, and logs nothing about it. Given the broker's ACL file, the reader also counts, per client id, the
subscriptions of which the ACL lets nothing through (no read rule of that client can match a topic the filter
matches: :func:`readable`), and writes a "Denied SUBSCRIBE (by ACL: nothing readable)" line for each to the log
file. A filter that is partly readable (``#`` for a client that may read one topic) is not counted.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

#: "Denied PUBLISH from bridge-kr (d0, q1, r0, m3, 'triwarn/v1/jp/tracks', ... (7 bytes))"
DENIED_PUBLISH = re.compile(r"Denied PUBLISH from (\S+) \(")
#: "Received SUBSCRIBE from edge-jp", then one "\tFILTER (QoS n)" line per filter
SUBSCRIBE = re.compile(r"Received SUBSCRIBE from (\S+)$")
SUBSCRIBE_FILTER = re.compile(r"\t(.+) \(QoS \d+\)$")
#: per-packet lines of the debug level (after the "<epoch>: " prefix): not written to the log file
_PER_PACKET = ("Received ", "Sending ", "No will message specified", "\t", "Bridge ")


def _overlap(a: str, b: str) -> bool:
    """Whether two MQTT topic filters can match one topic (``+`` one level, ``#`` the rest, itself included)."""
    la, lb = a.split("/"), b.split("/")
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else None
        y = lb[i] if i < len(lb) else None
        if x == "#" or y == "#":
            return True
        if x is None or y is None:
            return False
        if x != y and "+" not in (x, y):
            return False
    return True


@dataclass(frozen=True)
class AclRules:
    """The read rules of a Mosquitto ``acl_file``: ``user`` blocks of ``topic [read|write|readwrite] FILTER``
    lines, and ``pattern`` lines for every client (``%c`` client id, ``%u`` user name; here the same)."""

    by_user: dict[str, tuple[str, ...]] = field(default_factory=dict)
    patterns: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AclRules:
        by_user: dict[str, list[str]] = {}
        patterns: list[str] = []
        user: str | None = None
        for raw in text.splitlines():
            words = raw.split(None, 2)
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "user" and len(words) >= 2:
                user = raw.split(None, 1)[1].strip()
                by_user.setdefault(user, [])
            elif words[0] in ("topic", "pattern") and len(words) >= 2:
                access, filt = ("readwrite", raw.split(None, 1)[1].strip()) if len(words) == 2 else (words[1], words[2])
                if access not in ("read", "readwrite") and len(words) == 3:
                    continue
                if words[0] == "pattern":
                    patterns.append(filt.strip())
                elif user is not None:
                    by_user[user].append(filt.strip())
        return cls({u: tuple(f) for u, f in by_user.items()}, tuple(patterns))

    def readable(self, client: str, filt: str) -> bool:
        """Whether the ACL can let any message matching ``filt`` (``$share/GROUP/`` stripped) reach ``client``."""
        if filt.startswith("$share/"):
            filt = filt.split("/", 2)[2] if filt.count("/") >= 2 else filt
        rules = [*self.by_user.get(client, ()), *(p.replace("%c", client).replace("%u", client) for p in self.patterns)]
        return any(_overlap(filt, rule) for rule in rules)


def _message(line: str) -> str:
    """The line without Mosquitto's "<epoch seconds>: " prefix."""
    head, sep, rest = line.partition(": ")
    return rest if sep and head.isdigit() else line


class BrokerLog:
    """Reads one broker's output (``stream``, its stdout and stderr) until EOF, in a daemon thread, appending
    what it keeps to ``log_path``. ``denied`` maps client id to the publishes the broker denied it (from
    ``denied_before`` on: the counts of the broker's previous run, when it is restarted)."""

    def __init__(
        self,
        stream: IO[bytes],
        log_path: Path,
        denied_before: dict[str, int] | None = None,
        acl: AclRules | None = None,
        denied_subscriptions_before: dict[str, int] | None = None,
    ) -> None:
        self.denied: Counter[str] = Counter(denied_before or {})
        self.denied_subs: Counter[str] = Counter(denied_subscriptions_before or {})
        self._acl = acl
        self._lock = threading.Lock()
        self._stream = stream
        self._log_path = log_path
        self._thread = threading.Thread(target=self._run, name=f"broker-log-{log_path.parent.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._read()
        except Exception:  # never stop draining: a broker whose output pipe fills up stops serving
            log.exception("reading the broker's log %s failed; draining the rest unread", self._log_path)
            with contextlib.suppress(Exception):
                for _ in self._stream:
                    pass

    def _read(self) -> None:
        with self._stream, self._log_path.open("ab", buffering=0) as out:
            subscriber: str | None = None  # the client whose SUBSCRIBE's filters follow
            for raw in self._stream:
                line = raw.decode(errors="replace")
                message = _message(line).rstrip("\n")
                match = DENIED_PUBLISH.match(message)
                if match:
                    with self._lock:
                        self.denied[match.group(1)] += 1
                    out.write(raw)
                    continue
                if self._acl is not None:
                    if sub := SUBSCRIBE.match(message):
                        subscriber = sub.group(1)
                    elif subscriber is not None and (filt := SUBSCRIBE_FILTER.match(message)):
                        if not self._acl.readable(subscriber, filt.group(1)):
                            with self._lock:
                                self.denied_subs[subscriber] += 1
                            stamp = line[: len(line) - len(_message(line))]
                            note = f"Denied SUBSCRIBE (by ACL: nothing readable) from {subscriber}: {filt.group(1)}"
                            out.write(f"{stamp}{note}\n".encode())
                        continue
                    elif not message.startswith("\t"):
                        subscriber = None
                if message.startswith(_PER_PACKET):
                    continue
                out.write(raw)

    def denied_publishes(self) -> dict[str, int]:
        """Client id -> publishes denied so far."""
        with self._lock:
            return dict(self.denied)

    def denied_subscriptions(self) -> dict[str, int]:
        """Client id -> subscriptions of which the ACL lets nothing through, so far (needs ``acl``)."""
        with self._lock:
            return dict(self.denied_subs)

    def join(self, timeout_s: float = 5.0) -> None:
        """Wait for the broker's output to end (after the broker exited)."""
        self._thread.join(timeout_s)


class DeniedPublishes(Collector):
    """``triwarn_broker_publishes_denied_total{broker, client}`` and
    ``triwarn_broker_subscriptions_denied_total{broker, client}``, read from ``logs`` (broker name -> its
    :class:`BrokerLog`, looked up at every scrape, so a restarted broker's new reader is seen)."""

    def __init__(self, logs: dict[str, BrokerLog]) -> None:
        self._logs = logs

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "triwarn_broker_publishes_denied",
            "Publishes a coalition broker's ACL denied (dropped), per broker and client id, from its log",
            labels=["broker", "client"],
        )
        subs = CounterMetricFamily(
            "triwarn_broker_subscriptions_denied",
            "Subscriptions of which a coalition broker's ACL lets nothing through (Mosquitto grants them and "
            "filters at delivery), per broker and client id, from its log",
            labels=["broker", "client"],
        )
        for broker, log in sorted(self._logs.items()):
            for client, n in sorted(log.denied_publishes().items()):
                family.add_metric([broker, client], n)
            for client, n in sorted(log.denied_subscriptions().items()):
                subs.add_metric([broker, client], n)
        yield family
        yield subs
