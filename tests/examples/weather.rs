//! The `examples/weather` hub end to end.
