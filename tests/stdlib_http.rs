//! Tests: stdlib_http.
