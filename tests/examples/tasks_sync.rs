//! The `examples/tasks-sync` hub end to end.
