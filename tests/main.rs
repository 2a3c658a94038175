//! The integration suite: drives the real `switchboard` binary against temporary hubs and real
//! local services (HTTP on 127.0.0.1:0, SMTP on loopback, SQLite files, processes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod harness;

// `switchboard check`: manifest validation and compile errors.
mod check;
// HTTP connection retries and circuit breakers.
mod http_resilience;
// The Dockerfile's command and health check, compose.yaml's volume and port.
mod docker;
// The user guide's commands and the deployment files.
mod guide;
// `switchboard init`.
mod init;
// `switchboard completions` and `switchboard man`.
mod completions;
// The manifest: `${VAR}`, .env, units, unknown keys.
mod manifest;
// Cron jobs under `serve`.
mod cron;
// `cron next` against croniter (skipped when not installed).
mod cron_croniter;
// The demo hub in the repository root, driven like the README's tour.
mod demo;
// Events, `actions::run`.
mod events;
// The example hubs, end to end against local stand-ins.
mod examples;
// MQTT subscriptions and publishes against a real Mosquitto (skipped without one).
mod mqtt;
// The durable queue, retries and crash recovery.
mod queue;
// Hot reload while serving.
mod reload;
// The REPL, piped and in a pseudo-terminal.
mod repl;
// `switchboard run`: input, output, exit codes, limits.
mod run;
// The run log, `runs` commands, admin API and metrics.
mod runlog;
// `switchboard serve`: routing, statuses, input and event, limits, shutdown.
mod serve;
// Keys and scopes, webhook signatures.
mod serve_auth;
// OpenAPI document, /docs, `openapi` and `routes` commands.
mod serve_docs;
// Hub-made errors as JSON, for malformed and odd requests sent over a raw socket.
mod serve_errors;
// Path parameters: decoding and refused segments.
mod serve_paths;
// Schemathesis against the served demo hub (skipped when not installed).
mod schemathesis;
// The script contract and the Rhai-source stdlib modules.
mod scripts;
// Which manifest values are secrets, and their redaction from everything that leaves the hub.
mod secrets;
// `json`, `time`, `log` and `state`.
mod stdlib_basics;
// `exec` with real programs.
mod stdlib_exec;
// `fs` confined to the hub and its roots.
mod stdlib_fs;
// `http` against a real loopback HTTP server.
mod stdlib_http;
// `mail` against a real SMTP server on loopback.
mod stdlib_mail;
// `sql` against real SQLite files.
mod stdlib_sql;
// `sql` against real PostgreSQL, and the type mapping table on SQLite and each server.
mod stdlib_sql_servers;
// `sql` on a real MySQL/MariaDB server: every call, deadlines, TLS, errors, check.
mod stdlib_sql_mysql;
// MySQL `tls` against a MariaDB of the test's own with a self-signed certificate.
mod stdlib_sql_mysql_tls;
// Repository rules: module docs, no debugging leftovers, examples check.
mod tidy;
// Watched folders.
mod watch;
