"""Distribution of the shared picture: the hub (``hub``) with its views (``view``), subscriptions
(``subscription``) and filters (``filters``), the gRPC WarningService (``server``, ``keepalive``) and the
durable warning log (``warning_log``)."""
