"""Distribution of the shared picture: the hub, subscriptions, the gRPC WarningService and the durable
warning log."""
