//! Tests: stdlib_exec.
