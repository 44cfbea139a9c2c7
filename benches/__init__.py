"""Benchmarks behind `triwarn bench`; the scripts in benches/ call them too."""
