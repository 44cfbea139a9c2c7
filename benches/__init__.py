"""Benchmarks: every harness, each runnable as ``python benches/bench_NAME.py`` and as ``triwarn bench NAME``.

They stand beside the data flow and import from it, never into it; results go to ``benches/results/``.
"""
