"""Every protobuf conversion, both directions: local track batches and node status (``tracks``), the shared
picture with its assessments and warnings (``picture``), and the one nation map (``nations``). The core never
sees a protobuf type."""
