"""Physics and estimation for triwarn: numba kernels on plain float64 arrays in SI units, no I/O.

See ``triwarn.core.jit`` for the one place numba policy lives, and ``triwarn.core.trajectory`` for the
trajectory, tracking and fusion kernels.
"""
