//! The `examples/temperature-alert` hub end to end.
