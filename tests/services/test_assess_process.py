"""The assessment process's executor: calls run in the process in submission order, an exception raised there
comes back to the caller, and the process ends on shutdown."""

from __future__ import annotations

import asyncio
import os

import pytest

from triwarn.services.fusion import AssessProcess
from triwarn.services.runtime.settings import Settings


def test_calls_run_in_the_process_in_order_and_its_exceptions_come_back() -> None:
    async def main() -> None:
        proc = AssessProcess(Settings(), 1)
        try:
            await proc.ready()
            loop = asyncio.get_running_loop()
            pids = await asyncio.gather(*(loop.run_in_executor(proc._pool, os.getpid) for _ in range(3)))
            assert len(set(pids)) == 1 and pids[0] != os.getpid()
            squares = await asyncio.gather(*(loop.run_in_executor(proc._pool, pow, k, 2) for k in range(5)))
            assert squares == [0, 1, 4, 9, 16]
            with pytest.raises(ValueError, match="invalid literal"):
                await loop.run_in_executor(proc._pool, int, "not a number")
            assert await proc.assess(0, [], [], 0) == {}  # the process lives on
        finally:
            await proc.close()
        with pytest.raises(RuntimeError, match="shut down"):
            proc._pool.submit(os.getpid)

    asyncio.run(main())
