//! The `examples/pocket-to-notes` hub end to end.
