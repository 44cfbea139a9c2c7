"""An append-only, hash-chained audit log of releases to consoles (who, which view, which sequence numbers,
when), one JSON object per line::

    {"i": 0, "time_ns": ..., "who": "console-jp", "nation": "jp", "view": "jp", "call": "Subscribe",
     "first_seq": 12, "last_seq": 40, "prev": "<hash of record i-1>", "hash": "<sha256 of this record>"}

``hash`` is the SHA-256 of ``prev`` and the record's other fields in canonical JSON (sorted keys, no spaces);
the first record's ``prev`` is 64 zeros. ``verify`` recomputes the chain: an edited, inserted, removed or
reordered record breaks it at that record (truncating the end is detected only against a copy of the last
hash kept elsewhere, e.g. in the log of the service: each record's hash is logged at DEBUG). Records are
flushed to the file as they are written, not fsynced.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

GENESIS = "0" * 64


def record_hash(prev: str, fields: dict[str, Any]) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(prev.encode() + b"\n" + body.encode()).hexdigest()


class AuditLog:
    """Appends chained records to ``path`` (continuing the chain of an existing file)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._index = 0
        self._prev = GENESIS
        if self.path.exists():
            result = verify(self.path)
            if not result.ok:
                raise ValueError(f"audit log {self.path}: {result.message}; not appending to a broken chain")
            self._index, self._prev = result.records, result.last_hash
        self._file: IO[str] = self.path.open("a", encoding="utf-8")

    def record(self, who: str, nation: str, view: str, call: str, first_seq: int, last_seq: int) -> str:
        fields = {
            "i": self._index,
            "time_ns": time.time_ns(),
            "who": who,
            "nation": nation,
            "view": view,
            "call": call,
            "first_seq": first_seq,
            "last_seq": last_seq,
        }
        digest = record_hash(self._prev, fields)
        self._file.write(json.dumps({**fields, "prev": self._prev, "hash": digest}, sort_keys=True) + "\n")
        self._file.flush()
        self._index += 1
        self._prev = digest
        return digest

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class Verification:
    ok: bool
    records: int
    last_hash: str
    message: str


def verify(path: str | Path) -> Verification:
    """Check every record's chain link and hash; the first broken record is named."""
    prev = GENESIS
    n = 0
    with Path(path).open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                claimed, linked = rec.pop("hash"), rec.pop("prev")
            except (json.JSONDecodeError, KeyError, AttributeError):
                return Verification(False, n, prev, f"line {line_no}: not an audit record")
            if linked != prev or rec.get("i") != n:
                return Verification(
                    False, n, prev, f"line {line_no}: record {rec.get('i')} does not follow record {n - 1}"
                )
            if record_hash(prev, rec) != claimed:
                return Verification(False, n, prev, f"line {line_no}: record {n} was altered (its hash does not match)")
            prev = claimed
            n += 1
    return Verification(True, n, prev, f"{n} records, chain intact, last hash {prev}")


def leading_seq(update: bytes) -> int:
    """The ``seq`` of a serialized PictureUpdate whose first field is ``seq`` (field 1, varint: how the hub
    serializes every update); 0 when it does not start with it."""
    if not update or update[0] != 0x08:
        return 0
    value, shift = 0, 0
    for byte in update[1:11]:
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7
    return 0
