"""Processes: national nodes, the fusion service and the distribution of the picture.

Services own asyncio, MQTT, gRPC, storage and settings (``runtime``). Every protobuf conversion lives in one
adapter package (``triwarn.services.wire``); the core never sees a protobuf type.
"""
