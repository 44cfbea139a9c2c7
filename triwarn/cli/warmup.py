"""Compile (first run) or load (cached) the numba kernels a stack needs, in parallel, with progress.

numba compiles a kernel at its first call and keeps the machine code in its on-disk cache, so only the first
run on a machine pays. The demo's kernels fall into two parts that share little: the nodes' (truth flights,
measurement, the national trackers) and the fusion service's (alignment, association, fusion, assessment).
Each part runs in its own process, so that the two compile at once on two cores; every kernel compiled is
reported to the parent as it finishes, and the parent shows what is compiling, how far it is and about how
long is left. The children of a stack then load the cached code in about a second each.
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

#: The warm-up parts and about how many kernels each compiles on a cold cache (counted by
#: benches/bench_cold_start.py; used only to show progress and an estimate of the time left, so a drift after a
#: kernel is added shows as a count past its estimate, never as an error).
PARTS: dict[str, int] = {"nodes": 27, "fusion": 70}


@dataclass
class Progress:
    """What the parent knows of the warm-up so far."""

    started: float = field(default_factory=time.monotonic)
    compiled: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))
    done_s: dict[str, float] = field(default_factory=dict)
    last_kernel: str = ""

    def fraction(self) -> float:
        total = sum(PARTS.values())
        done = sum(PARTS[p] if p in self.done_s else min(self.compiled[p], PARTS[p] - 1) for p in PARTS)
        return min(1.0, done / total)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        parts = []
        for part, expected in PARTS.items():
            if part in self.done_s:
                parts.append(f"{part} ready ({self.done_s[part]:.0f} s)")
            else:
                parts.append(f"{part} {self.compiled[part]}/~{expected}")
        frac = self.fraction()
        left = "" if frac <= 0.05 else f", ~{max(0.0, elapsed * (1.0 - frac) / frac):.0f} s left"
        what = f": {self.last_kernel}" if self.last_kernel and len(self.done_s) < len(PARTS) else ""
        return f"compiling numba kernels: {', '.join(parts)} [{elapsed:.0f} s{left}]{what}"


def _warm_nodes(scenario: str, seed: int) -> None:
    from triwarn.scenarios.scenario_file import load_scenario
    from triwarn.sensors.sim import nation

    load_scenario(scenario).truth()
    nation.warm_up(seed)


def _warm_fusion(scenario: str, seed: int) -> None:
    from triwarn.services.fusion import FusionService
    from triwarn.services.runtime.clock import Clock
    from triwarn.services.runtime.metrics import Metrics
    from triwarn.services.runtime.settings import Settings

    FusionService(Settings.load(env={}), Clock(), Metrics()).warm_up()


_WORK: dict[str, Callable[[str, int], None]] = {"nodes": _warm_nodes, "fusion": _warm_fusion}


def _run_part(part: str, scenario: str, seed: int, events: Any) -> None:
    """In a child process: run one part, reporting each triwarn kernel compiled, then "done" or "error"."""
    from numba.core import event

    class Compiled(event.Listener):
        def on_start(self, ev: Any) -> None:
            pass

        def on_end(self, ev: Any) -> None:
            func = ev.data["dispatcher"].py_func
            if func.__module__.startswith("triwarn."):
                events.put((part, "kernel", f"{func.__module__.removeprefix('triwarn.')}.{func.__qualname__}"))

    event.register("numba:compile", Compiled())
    t = time.perf_counter()
    try:
        _WORK[part](scenario, seed)
    except BaseException as exc:  # reported to the parent, which raises it there with its name
        events.put((part, "error", f"{type(exc).__name__}: {exc}"))
        raise
    events.put((part, "done", time.perf_counter() - t))


def warm_up(
    scenario: str = "demo", seed: int = 1, show: Callable[[Progress], None] | None = None, poll_s: float = 0.25
) -> float:
    """Warm every part at once, each in a process of its own; ``show`` is called with the progress as it
    changes (and every ``poll_s`` at most). Returns the wall seconds; raises RuntimeError if a part fails."""
    ctx = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited threads or locks
    events = ctx.Queue()
    procs = {p: ctx.Process(target=_run_part, args=(p, scenario, seed, events), daemon=True) for p in PARTS}
    progress = Progress()
    for p in procs.values():
        p.start()
    try:
        while len(progress.done_s) < len(PARTS):
            try:
                part, kind, value = events.get(timeout=poll_s)
            except queue.Empty:
                dead = [n for n, p in procs.items() if n not in progress.done_s and not p.is_alive()]
                if dead:
                    code = procs[dead[0]].exitcode
                    raise RuntimeError(f"warm-up of the {dead[0]} kernels died (exit code {code})") from None
                if show:
                    show(progress)
                continue
            if kind == "kernel":
                progress.compiled[part] += 1
                progress.last_kernel = str(value)
            elif kind == "done":
                progress.done_s[part] = float(value)
            else:
                raise RuntimeError(f"warm-up of the {part} kernels failed: {value}")
            if show:
                show(progress)
    finally:
        for p in procs.values():
            if p.is_alive() and len(progress.done_s) < len(PARTS):
                p.terminate()
            p.join(5)
    return time.monotonic() - progress.started


class ProgressLine:
    """Shows the warm-up's progress on ``out``: rewritten in place on a terminal; otherwise one line when the
    count of compiled kernels has moved on and at least ``every_s`` have passed (a log stays short)."""

    def __init__(self, out: IO[str] | None = None, every_s: float = 10.0) -> None:
        self._out = out or sys.stderr
        self._tty = self._out.isatty()
        self._every_s = every_s
        self._last_s = 0.0
        self._last_count = 0

    def __call__(self, progress: Progress) -> None:
        count = sum(progress.compiled.values()) + len(progress.done_s)
        if self._tty:
            self._out.write("\r\033[K  " + progress.line()[:150])
            self._out.flush()
        elif count != self._last_count and time.monotonic() - self._last_s >= self._every_s:
            print("  " + progress.line(), file=self._out, flush=True)
            self._last_s = time.monotonic()
        self._last_count = count

    def end(self) -> None:
        if self._tty:
            self._out.write("\r\033[K")
            self._out.flush()
