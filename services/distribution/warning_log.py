"""The durable warning log: every picture update is appended here before any subscriber sees it.

One table holds the serialized ``PictureUpdate`` DELTAs of every view, keyed by (view, seq); a second holds
one checkpoint per view (a serialized SNAPSHOT and the seq it includes), so that a restarted fusion service
rebuilds each view's picture from the checkpoint plus the deltas after it, continues the sequence, and
serves resumes from before the restart.

Backends, chosen by ``Settings.warning_log``:

- a file path: SQLite (standard library), WAL journal, ``synchronous=NORMAL``: a committed update survives a
  crash of the fusion process (which is what a restart is); a power failure may lose the updates of the last
  moments before the next WAL checkpoint. Pass ``synchronous="FULL"`` to fsync every commit.
- ``postgresql://...``: PostgreSQL through psycopg 3 (its commit is durable when it returns).

Threading and batching: PostgreSQL, and SQLite with ``synchronous=FULL`` (an fsync per commit, ~4 ms), run in
ONE worker thread (a single-thread executor): the event loop never waits on the network or an fsync, it
awaits a future. SQLite in its default ``synchronous=NORMAL`` mode writes **inline**, on the caller's thread:
a WAL commit without fsync is a ~0.1-0.2 ms ``write()``, cheaper than the two thread hand-offs of the
executor (measured on a busy 2-core machine: p50 0.21 vs 0.41 ms, p99 0.4-0.6 vs 4.7-5.0 ms, the executor's
tail being the interpreter's 5 ms GIL switch interval); reads (restore, resumes) then use a second connection
in the worker thread, so a long resume never blocks the loop (WAL readers do not block the writer). In both
modes :meth:`WarningLog.append_many` returns once the rows are committed, and callers hand over rows in
batches: the hub gathers every update published while the previous commit was in flight into the next
transaction (group commit), so a burst costs one commit, not one per update, and a quiet stream still
commits each update at once (no timer adds latency). ``WarningLog.inline`` says which mode a log is in.

Retention: :meth:`WarningLog.checkpoint` stores a view's snapshot and deletes its deltas older than the
last ``keep_last``. Deltas after the newest checkpoint are never deleted, so restore never has a hole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: Bytes appended to a SQLite log between two WAL checkpoints.
WAL_CHECKPOINT_BYTES = 8 * 1024 * 1024
#: Longest time between two WAL checkpoints of a log that was written to at all, seconds (a quiet log's WAL
#: is copied back too).
WAL_CHECKPOINT_S = 30.0

#: One log row: (view, seq, time_ns, serialized PictureUpdate).
Row = tuple[str, int, int, bytes]


class _Backend(Protocol):
    """Blocking storage; every method runs in the log's worker thread."""

    def append_many(self, rows: Sequence[Row]) -> None: ...
    def read_after(self, view: str, after_seq: int, limit: int) -> list[tuple[int, bytes]]: ...
    def bounds(self, view: str) -> tuple[int, int]: ...
    def load_checkpoint(self, view: str) -> tuple[int, bytes] | None: ...
    def load_counter(self, name: str) -> int: ...
    def save_counter(self, name: str, value: int) -> None: ...
    def checkpoint(self, view: str, seq: int, payload: bytes, keep_last: int) -> int: ...
    def close(self) -> None: ...


# A rowid table: WITHOUT ROWID stores whole rows in the primary-key b-tree, which SQLite advises against for
# rows of kilobytes (an update of 30 tracks is ~15 kB); measured, a commit of three such rows: p50 0.11-0.13
# ms vs 0.20 ms. A log created before keeps its WITHOUT ROWID table; the SQL is the same for both.
_SCHEMA_SQLITE = (
    """CREATE TABLE IF NOT EXISTS picture_updates (
        view TEXT NOT NULL, seq INTEGER NOT NULL, time_ns INTEGER NOT NULL, payload BLOB NOT NULL,
        PRIMARY KEY (view, seq))""",
    """CREATE TABLE IF NOT EXISTS picture_checkpoints (
        view TEXT PRIMARY KEY, seq INTEGER NOT NULL, payload BLOB NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)
_SCHEMA_POSTGRES = (
    """CREATE TABLE IF NOT EXISTS picture_updates (
        view TEXT NOT NULL, seq BIGINT NOT NULL, time_ns BIGINT NOT NULL, payload BYTEA NOT NULL,
        PRIMARY KEY (view, seq))""",
    """CREATE TABLE IF NOT EXISTS picture_checkpoints (
        view TEXT PRIMARY KEY, seq BIGINT NOT NULL, payload BYTEA NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
)


class _SqlBackend:
    """The SQL both backends share; ``p`` is the driver's placeholder (``?`` or ``%s``)."""

    def __init__(self, conn: Any, p: str) -> None:
        self._conn = conn
        self._p = p

    def _sql(self, text: str) -> str:
        return text.replace("?", self._p)

    def _transaction(self) -> Any:
        """A context manager around one transaction that commits on success."""
        return self._conn  # sqlite3: `with conn:` commits (or rolls back)

    def append_many(self, rows: Sequence[Row]) -> None:
        with self._transaction():
            cur = self._conn.cursor()
            cur.executemany(
                self._sql("INSERT INTO picture_updates (view, seq, time_ns, payload) VALUES (?, ?, ?, ?)"),
                rows,
            )

    def read_after(self, view: str, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        cur = self._conn.cursor()
        cur.execute(
            self._sql("SELECT seq, payload FROM picture_updates WHERE view = ? AND seq > ? ORDER BY seq LIMIT ?"),
            (view, after_seq, limit),
        )
        return [(int(seq), bytes(payload)) for seq, payload in cur.fetchall()]

    def bounds(self, view: str) -> tuple[int, int]:
        cur = self._conn.cursor()
        cur.execute(self._sql("SELECT MIN(seq), MAX(seq) FROM picture_updates WHERE view = ?"), (view,))
        lo, hi = cur.fetchone()
        return (int(lo or 0), int(hi or 0))

    def load_checkpoint(self, view: str) -> tuple[int, bytes] | None:
        cur = self._conn.cursor()
        cur.execute(self._sql("SELECT seq, payload FROM picture_checkpoints WHERE view = ?"), (view,))
        row = cur.fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def load_counter(self, name: str) -> int:
        cur = self._conn.cursor()
        cur.execute(self._sql("SELECT value FROM counters WHERE name = ?"), (name,))
        row = cur.fetchone()
        return 0 if row is None else int(row[0])

    def save_counter(self, name: str, value: int) -> None:
        with self._transaction():
            self._conn.cursor().execute(
                self._sql(
                    "INSERT INTO counters (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                ),
                (name, value),
            )

    def checkpoint(self, view: str, seq: int, payload: bytes, keep_last: int) -> int:
        with self._transaction():
            cur = self._conn.cursor()
            cur.execute(self._sql("DELETE FROM picture_checkpoints WHERE view = ?"), (view,))
            cur.execute(
                self._sql("INSERT INTO picture_checkpoints (view, seq, payload) VALUES (?, ?, ?)"),
                (view, seq, payload),
            )
            cur.execute(
                self._sql("DELETE FROM picture_updates WHERE view = ? AND seq <= ?"),
                (view, seq - keep_last),
            )
            return int(cur.rowcount or 0)

    def close(self) -> None:
        self._conn.close()


class _SqliteBackend(_SqlBackend):
    def __init__(self, path: str, synchronous: str, wal_limit_bytes: int = 2 * WAL_CHECKPOINT_BYTES) -> None:
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # DEFERRED: the driver opens a transaction before the first write; `with conn:` commits it.
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level="DEFERRED")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        # No automatic checkpoints in the writer: one would stall a commit for several ms (measured: p99 of
        # a commit 6.6 ms with them, 0.2 ms without). _Checkpointer runs them from a connection of its own.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        # the WAL file is reused from its start after a complete checkpoint but never shrinks by itself: the
        # next write after one truncates it to this size (SQLite's journal_size_limit), so the file stays within
        # a few checkpoint intervals
        conn.execute(f"PRAGMA journal_size_limit={int(wal_limit_bytes)}")
        for statement in _SCHEMA_SQLITE:
            conn.execute(statement)
        conn.commit()
        self.path = path
        self.synchronous = synchronous.upper()
        super().__init__(conn, "?")

    def reader(self) -> _SqlBackend:
        """A second connection to the same file, for reads from another thread while this one writes."""
        return _SqlBackend(sqlite3.connect(self.path, check_same_thread=False), "?")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        super().close()


#: Longest a TRUNCATE checkpoint waits for the writer and readers (it holds the writer back meanwhile): busy,
#: it gives up and the next checkpoint tries again.
_TRUNCATE_WAIT_S = 0.02


class _Checkpointer:
    """Copies the SQLite WAL back into the database from its own thread and connection, once enough has been
    appended since the last time (``every_bytes``) or, if anything was, ``every_s`` has passed.

    PASSIVE first: it never blocks the writer. But SQLite reuses the WAL from its start only when a checkpoint
    has caught up with every frame before the next write, which a concurrent checkpoint under steady writing
    (or behind a reader holding an old snapshot) never does, and the file grows without bound. So when the
    file is past the database's size (at least 1 MiB, at most ``2 * every_bytes``) the checkpoint is a
    TRUNCATE: it waits (at most ``_TRUNCATE_WAIT_S``) for the writer's current transaction and for readers,
    copies the few frames PASSIVE left, and empties the file; the writer waits for it meanwhile (a few ms, at
    most once per checkpoint)."""

    def __init__(self, path: str, every_bytes: int, every_s: float = WAL_CHECKPOINT_S) -> None:
        self._path = path
        self._wal = Path(f"{path}-wal")
        self._every_bytes = every_bytes
        self._every_s = every_s
        self._pending_bytes = 0
        self._last = time.monotonic()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triwarn-warning-log-checkpoint")
        self._conn: sqlite3.Connection | None = None
        self._running: Any = None

    def note(self, n_bytes: int) -> None:
        self._pending_bytes += n_bytes
        due = self._pending_bytes >= self._every_bytes or time.monotonic() - self._last >= self._every_s
        if due and (self._running is None or self._running.done()):
            self._pending_bytes = 0
            self._last = time.monotonic()
            self._running = self._executor.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, check_same_thread=False, timeout=_TRUNCATE_WAIT_S)
        while True:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                if self._wal_bytes() > self._truncate_above():
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:  # busy or locked: the next one catches up
                log.debug("WAL checkpoint skipped: %s", exc)
            if self._pending_bytes < self._every_bytes:  # more was appended meanwhile: go again
                return
            self._pending_bytes = 0

    def _truncate_above(self) -> int:
        """WAL size past which the checkpoint truncates it: the database's size (at least 1 MiB), at most twice
        the checkpoint interval; so the WAL stays within about the database's size plus one interval."""
        try:
            db_bytes = Path(self._path).stat().st_size
        except OSError:
            db_bytes = 0
        return min(2 * self._every_bytes, max(1 << 20, db_bytes))

    def _wal_bytes(self) -> int:
        try:
            return self._wal.stat().st_size
        except OSError:
            return 0

    def close(self) -> None:
        def _close() -> None:
            if self._conn is not None:
                self._conn.close()

        self._executor.submit(_close)
        self._executor.shutdown(wait=True)


class _PostgresBackend(_SqlBackend):
    def __init__(self, url: str) -> None:
        try:
            import psycopg  # optional (the postgres extra): only a postgresql:// log needs it
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError("a postgresql:// warning log needs psycopg 3: pip install 'psycopg[binary]'") from exc
        # autocommit: reads hold no transaction open; writes use explicit transactions
        conn = psycopg.connect(url, autocommit=True)
        with conn.transaction():
            for statement in _SCHEMA_POSTGRES:
                conn.execute(statement)
        super().__init__(conn, "%s")

    def _transaction(self) -> Any:
        return self._conn.transaction()


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


class WarningLog:
    """Asynchronous front of the durable log. Open with :meth:`open`; every method is safe to await from the
    event loop (the work runs in the log's own thread, in call order)."""

    def __init__(
        self,
        backend: _Backend,
        executor: ThreadPoolExecutor,
        location: str,
        wal_checkpoint_bytes: int = WAL_CHECKPOINT_BYTES,
        reader: _Backend | None = None,
    ) -> None:
        self._backend = backend  # the writer
        self._reader = reader or backend  # reads, in the worker thread
        self._executor = executor
        self.location = location
        #: True when writes run on the caller's thread (SQLite file, synchronous NORMAL or OFF).
        self.inline = reader is not None
        self._checkpointer = (
            _Checkpointer(backend.path, wal_checkpoint_bytes)
            if isinstance(backend, _SqliteBackend) and backend.path != ":memory:"
            else None
        )

    @classmethod
    async def open(
        cls, location: str, *, synchronous: str = "NORMAL", wal_checkpoint_bytes: int = WAL_CHECKPOINT_BYTES
    ) -> WarningLog:
        """Open (creating if needed) the log at ``location``: a SQLite file path or a ``postgresql://`` URL.
        SQLite only: ``synchronous`` (NORMAL or FULL) and the bytes appended between two WAL checkpoints."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triwarn-warning-log")
        loop = asyncio.get_running_loop()
        try:
            backend: _Backend
            if is_postgres_url(location):
                backend = await loop.run_in_executor(executor, _PostgresBackend, location)
            else:
                backend = await loop.run_in_executor(
                    executor, _SqliteBackend, location, synchronous, 2 * wal_checkpoint_bytes
                )
            reader: _Backend | None = None
            if (
                isinstance(backend, _SqliteBackend)
                and backend.path != ":memory:"
                and backend.synchronous in ("OFF", "NORMAL")
            ):
                reader = await loop.run_in_executor(executor, backend.reader)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(backend, executor, location, wal_checkpoint_bytes, reader)

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def append_many(self, rows: Sequence[Row]) -> None:
        """Append rows in one transaction; returns once they are committed (inline: without suspending)."""
        if self.inline:
            self.append_many_now(rows)
        elif rows:
            await self._run(self._backend.append_many, list(rows))
            self._note(rows)

    def append_many_now(self, rows: Sequence[Row]) -> None:
        """:meth:`append_many` on the caller's thread; only for an ``inline`` log."""
        if not self.inline:
            raise RuntimeError("this warning log writes in its worker thread: await append_many")
        if rows:
            self._backend.append_many(rows)
            self._note(rows)

    def _note(self, rows: Sequence[Row]) -> None:
        if self._checkpointer is not None:
            self._checkpointer.note(sum(len(r[3]) for r in rows))

    async def read_after(self, view: str, after_seq: int, limit: int = 1000) -> list[tuple[int, bytes]]:
        """Up to ``limit`` rows of ``view`` with seq > ``after_seq``, in seq order, as (seq, payload)."""
        return await self._run(self._reader.read_after, view, after_seq, limit)

    async def bounds(self, view: str) -> tuple[int, int]:
        """(first, last) seq of the deltas retained for ``view``; (0, 0) when there are none."""
        return await self._run(self._reader.bounds, view)

    async def load_checkpoint(self, view: str) -> tuple[int, bytes] | None:
        """The newest checkpoint of ``view`` as (seq, serialized SNAPSHOT), or None."""
        return await self._run(self._reader.load_checkpoint, view)

    async def load_counter(self, name: str) -> int:
        """The value of a durable counter (0 if never saved)."""
        return await self._run(self._reader.load_counter, name)

    def save_counter_soon(self, name: str, value: int) -> None:
        """Save a durable counter before any row appended after this call: at once on the caller's thread
        (inline log), else queued to the log's thread ahead of later appends (its one thread runs calls in
        order)."""
        if self.inline:
            self._backend.save_counter(name, value)
        else:
            self._executor.submit(self._backend.save_counter, name, value)

    async def checkpoint(self, view: str, seq: int, payload: bytes, keep_last: int) -> int:
        """Store ``view``'s snapshot at ``seq`` and delete its deltas with seq <= ``seq - keep_last``.
        Returns how many deltas were deleted."""
        if self.inline:
            return self.checkpoint_now(view, seq, payload, keep_last)
        if keep_last < 1:
            raise ValueError("keep_last must be at least 1")
        return await self._run(self._backend.checkpoint, view, seq, payload, keep_last)

    def checkpoint_now(self, view: str, seq: int, payload: bytes, keep_last: int) -> int:
        """:meth:`checkpoint` on the caller's thread; only for an ``inline`` log."""
        if not self.inline:
            raise RuntimeError("this warning log writes in its worker thread: await checkpoint")
        if keep_last < 1:
            raise ValueError("keep_last must be at least 1")
        return self._backend.checkpoint(view, seq, payload, keep_last)

    async def close(self) -> None:
        try:
            if self._checkpointer is not None:
                await asyncio.get_running_loop().run_in_executor(None, self._checkpointer.close)
            if self._reader is not self._backend:
                await self._run(self._reader.close)
            await self._run(self._backend.close)
        finally:
            self._executor.shutdown(wait=True)
