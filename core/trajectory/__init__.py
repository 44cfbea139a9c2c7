"""Trajectory, tracking and fusion core: frames, gravity, atmosphere, flight, propagation, filters,
association, fusion, impact and launch point. Kernels take and return float64 arrays in SI units.
"""
