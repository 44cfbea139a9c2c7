"""The one place numba policy lives (STYLE.md item 4).

Every kernel in ``triwarn.core`` is compiled with :func:`kernel`: nopython, ``cache=True`` (so only the very
first run on a machine pays for compilation; the cache sits beside the source in ``__pycache__``, or in
``NUMBA_CACHE_DIR`` when that is set), ``nogil=True`` (so services can run kernels in a thread) and no
``fastmath`` (it breaks NaN checks). Constants are arguments, never module globals.

Set ``NUMBA_DISABLE_JIT=1`` to run every kernel as plain Python (coverage, readable tracebacks).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

# Parallel kernels run on numba's OpenMP layer. With OpenMP's default (active) wait policy its idle threads
# spin, and on a 2-core machine that is doing other work (the services, the broker) each parallel call then
# costs milliseconds instead of microseconds (docs/assessment.md, "Measured"). PASSIVE must be set before the
# OpenMP runtime starts, so it is set here, before numba is imported; a value the user exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F | None = None, *, parallel: bool = False) -> Any:
    """Compile ``fn`` as a triwarn kernel. Use as ``@kernel`` or ``@kernel(parallel=True)``."""

    def wrap(f: F) -> F:
        return numba.njit(cache=True, nogil=True, fastmath=False, parallel=parallel)(f)  # type: ignore[no-any-return]

    if fn is not None:
        return wrap(fn)
    return wrap
