"""gRPC keepalive of the WarningService, both sides: the server's options and the ones its clients must use
to stay within them."""

from __future__ import annotations

#: Keepalive: ping an idle connection every 20 s, drop it if no answer within 10 s, so a vanished subscriber
#: does not hold a stream forever. Clients may ping every 10 s (see ``CLIENT_OPTIONS``).
SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
)
CLIENT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
)
