//! The `examples/cli-bridge` hub end to end.
