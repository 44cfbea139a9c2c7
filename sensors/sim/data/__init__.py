"""Data files of the sensor simulation: the sensor catalog (sensors.toml)."""
