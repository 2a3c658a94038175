//! Tests: stdlib_sql.
