//! Tests: stdlib_basics.
