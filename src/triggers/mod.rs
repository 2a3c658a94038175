//! Triggers turn outside happenings into invocations of scripts. Only `http` knows axum.

pub mod http;
