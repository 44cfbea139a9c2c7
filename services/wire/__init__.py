"""Every protobuf conversion, both directions: local track batches and node status (``tracks``), and the
shared picture (``picture``). The core never sees a protobuf type."""
