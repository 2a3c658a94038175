//! Tests: stdlib_mail.
