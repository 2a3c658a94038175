//! The `examples/morning-digest` hub end to end.
