//! Tests: stdlib_fs.
