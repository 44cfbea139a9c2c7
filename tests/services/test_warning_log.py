"""The durable warning log on SQLite and on a real PostgreSQL server (skipped where none answers).

The PostgreSQL tests use the server on 127.0.0.1:5432 (trust auth, database ``test``); each test works in a
schema of its own, named in the URL's search_path, and drops it afterwards.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triwarn.services.distribution.hub import PictureHub
from triwarn.services.distribution.warning_log import WarningLog
from triwarn.services.runtime.settings import Settings
from triwarn.v1 import picture_pb2

PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"


def _postgres_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=0.5):
            pass
    except OSError:
        return f"no PostgreSQL server answers on {PG_HOST}:{PG_PORT}"
    try:
        psycopg.connect(f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{PG_DB}", connect_timeout=2).close()
    except psycopg.Error as exc:
        return f"PostgreSQL on {PG_HOST}:{PG_PORT} refuses user postgres, database {PG_DB}: {exc}"
    return None


@pytest.fixture
def pg_url() -> Iterator[str]:
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    base = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{PG_DB}"
    schema = f"triwarn_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "log" / "warnings.sqlite")
    return str(request.getfixturevalue("pg_url"))


def test_append_read_bounds_and_reopen(location: str) -> None:
    async def main() -> None:
        wlog = await WarningLog.open(location)
        assert await wlog.bounds("us") == (0, 0)
        await wlog.append_many([("us", s, 1000 + s, f"u{s}".encode()) for s in range(1, 6)])
        await wlog.append_many([("jp", 1, 7, b"\x00\xff")])
        assert await wlog.bounds("us") == (1, 5)
        assert await wlog.read_after("us", 2, 2) == [(3, b"u3"), (4, b"u4")]
        assert await wlog.read_after("jp", 0) == [(1, b"\x00\xff")]
        await wlog.close()
        wlog = await WarningLog.open(location)  # durable across a close
        assert await wlog.bounds("us") == (1, 5)
        assert await wlog.load_checkpoint("us") is None
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            await wlog.append_many([("us", 5, 0, b"again")])  # a seq is written once
        await wlog.close()

    asyncio.run(main())


def test_checkpoint_keeps_the_last_n_and_the_snapshot(location: str) -> None:
    async def main() -> None:
        wlog = await WarningLog.open(location)
        await wlog.append_many([("us", s, s, b"d") for s in range(1, 101)])
        deleted = await wlog.checkpoint("us", 100, b"snapshot@100", keep_last=30)
        assert deleted == 70
        assert await wlog.bounds("us") == (71, 100)
        assert await wlog.load_checkpoint("us") == (100, b"snapshot@100")
        await wlog.checkpoint("us", 100, b"newer", keep_last=30)  # one checkpoint per view
        assert await wlog.load_checkpoint("us") == (100, b"newer")
        await wlog.close()

    asyncio.run(main())


def test_sqlite_log_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"

    async def main() -> None:
        wlog = await WarningLog.open(str(path))
        await wlog.append_many([("us", 1, 1, b"x")])
        await wlog.close()

    asyncio.run(main())
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT seq, payload FROM picture_updates").fetchall() == [(1, b"x")]


def test_sqlite_wal_is_checkpointed_into_the_database_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"

    async def main() -> None:
        wlog = await WarningLog.open(str(path), wal_checkpoint_bytes=64 * 1024)
        size_before = path.stat().st_size
        payload = bytes(range(256)) * 40  # 10 kB
        for seq in range(1, 101):
            await wlog.append_many([("us", seq, seq, payload)])
        # writes go to the WAL only; the checkpointer copies them into the database file meanwhile
        for _ in range(500):
            if path.stat().st_size > size_before + 500_000:
                break
            await asyncio.sleep(0.01)
        assert path.stat().st_size > size_before + 500_000
        assert await wlog.bounds("us") == (1, 100)
        await wlog.close()

    asyncio.run(main())


def test_sqlite_wal_stays_bounded_under_steady_writes_and_reads(tmp_path: Path) -> None:
    """30 MB appended back to back while another connection reads (a concurrent PASSIVE checkpoint alone
    never lets SQLite reuse the WAL from its start: it grew to 38 MB here): the WAL file stays within a small
    multiple of the checkpoint interval."""
    path = tmp_path / "w.sqlite"
    wal = Path(f"{path}-wal")
    every = 256 * 1024

    async def main() -> None:
        wlog = await WarningLog.open(str(path), wal_checkpoint_bytes=every)
        reader = sqlite3.connect(path, isolation_level=None)
        payload = bytes(range(256)) * 40  # 10 kB
        largest = 0
        for seq in range(1, 3001):
            if seq % 20 == 0:
                reader.execute("SELECT count(*) FROM picture_updates").fetchone()
            await wlog.append_many([("us", seq, seq, payload)])
            await asyncio.sleep(0.001)  # 10 MB/s: the checkpointer's thread gets the CPU now and then
            largest = max(largest, wal.stat().st_size)
        reader.close()
        assert path.stat().st_size > 25_000_000  # copied into the database
        assert largest < 20 * every and largest < path.stat().st_size / 5, f"the WAL grew to {largest} bytes"
        await wlog.close()

    asyncio.run(main())


@settings(max_examples=15, deadline=None)
@given(
    retention=st.integers(min_value=1, max_value=40),
    batches=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=6),
)
def test_hub_restart_restores_picture_and_retention(
    tmp_path_factory: pytest.TempPathFactory, retention: int, batches: list[int]
) -> None:
    """Publish in several hub lifetimes on one file; each restart continues the sequence with the same picture,
    and the log always holds at least the last ``retention`` updates (resumable)."""
    path = tmp_path_factory.mktemp("restart") / "w.sqlite"
    settings_ = Settings(warning_log=str(path), retention_updates=retention)

    async def main() -> None:
        expected: dict[int, float] = {}
        seq = 0
        for n in batches:
            hub = await PictureHub.open(settings_, ["us"])
            assert hub.last_seq("us") == seq
            snap = hub.snapshot("us")
            assert {t.track_id: t.altitude_m for t in snap.tracks} == expected
            for _ in range(n):
                seq += 1
                u = picture_pb2.PictureUpdate()
                u.tracks.add(track_id=seq % 7, altitude_m=float(seq))
                if seq % 5 == 0:
                    u.deleted_track_ids.append((seq + 3) % 7)
                assert await hub.publish("us", u) == seq
                expected[seq % 7] = float(seq)
                for d in u.deleted_track_ids:
                    expected.pop(d, None)
            await hub.close()
        wlog = await WarningLog.open(str(path))
        first, last = await wlog.bounds("us")
        assert last == seq
        assert first <= max(1, seq - retention + 1)
        await wlog.close()

    asyncio.run(main())


def test_hub_restart_on_postgresql(pg_url: str) -> None:
    settings_ = Settings(warning_log=pg_url, retention_updates=5)

    async def main() -> None:
        hub = await PictureHub.open(settings_, ["us", "kr"])
        for i in range(1, 13):
            u = picture_pb2.PictureUpdate()
            u.tracks.add(track_id=i)
            await hub.publish("kr", u)
        await hub.close()
        hub = await PictureHub.open(settings_, ["us", "kr"])
        assert hub.last_seq("kr") == 12
        assert hub.last_seq("us") == 0
        assert sorted(t.track_id for t in hub.snapshot("kr").tracks) == list(range(1, 13))
        assert await hub.publish("kr", picture_pb2.PictureUpdate()) == 13
        await hub.close()

    asyncio.run(main())
