//! The `examples/github-webhook` hub end to end.
