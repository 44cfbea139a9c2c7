"""What every service runs on: settings, clock, logging, metrics, the MQTT client, the broker launcher,
process lifecycle, and the latency path's observer hook."""
