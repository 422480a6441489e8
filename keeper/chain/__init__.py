"""Chain I/O: JSON-RPC with retries, fee data and L2 fee oracles."""
