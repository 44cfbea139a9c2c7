"""gRPC keepalive of the WarningService, both sides: the server's options and the ones its clients must use
to stay within them; and the bounded receive window of triwarn's own clients."""

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
#: Receive window of triwarn's own consoles, bytes: a fixed 256 kB (no BDP probing, which grows a default
#: client's window to megabytes), so that a console that falls behind makes the server's writes wait at once
#: and its lag is measured, and bounded (``Settings.subscriber_max_lag_s``), where the server sees it.
RECEIVE_WINDOW_BYTES = 256 * 1024
CLIENT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.bdp_probe", 0),
    ("grpc.http2.lookahead_bytes", RECEIVE_WINDOW_BYTES),
)
