"""Simulated sensors: they turn truth into measurements; they know sensors, not transport."""
