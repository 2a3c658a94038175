//! Tests: manifest.
