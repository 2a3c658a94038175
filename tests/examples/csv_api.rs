//! The `examples/csv-api` hub end to end.
