"""Processes: national nodes, the fusion service, the gRPC WarningService, the broker launcher and the CLI.

Services own asyncio, MQTT, gRPC, storage and settings. Each converts wire messages to domain types in one
adapter module (``triwarn.services.wire``); the core never sees a protobuf type.
"""
