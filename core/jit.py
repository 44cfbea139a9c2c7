"""The one place numba policy lives (STYLE.md item 4).

Every kernel in ``triwarn.core`` is compiled with :func:`kernel`: nopython, ``cache=True`` (so only the very
first run on a machine pays for compilation; the cache sits beside the source in ``__pycache__``, or in
``NUMBA_CACHE_DIR`` when that is set), ``nogil=True`` (so services can run kernels in a thread) and no
``fastmath`` (it breaks NaN checks). Constants are arguments, never module globals.

Set ``NUMBA_DISABLE_JIT=1`` to run every kernel as plain Python (coverage, readable tracebacks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F | None = None, *, parallel: bool = False) -> Any:
    """Compile ``fn`` as a triwarn kernel. Use as ``@kernel`` or ``@kernel(parallel=True)``."""

    def wrap(f: F) -> F:
        return numba.njit(cache=True, nogil=True, fastmath=False, parallel=parallel)(f)  # type: ignore[no-any-return]

    if fn is not None:
        return wrap(fn)
    return wrap
