"""Generated protobuf and gRPC code for proto/triwarn/v1. Do not edit: run `python tools/gen_proto.py`."""
