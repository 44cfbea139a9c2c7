"""What every service runs on: settings, clock, logging, metrics, the MQTT client, the broker launcher and
process lifecycle."""
