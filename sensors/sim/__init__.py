"""Sensor simulation: radar and space-based infrared models, sensor catalog, measurement generation."""
