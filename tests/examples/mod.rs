//! The example hubs under examples/, each run end to end against local stand-ins that speak the
//! real service's protocol (HTTP on loopback shaped like the API, SMTP on loopback, real files).

mod cli_bridge;
mod crm_to_mailing_list;
mod csv_api;
mod env_example;
mod github_webhook;
mod morning_digest;
mod pocket_to_notes;
mod tasks_sync;
mod temperature_alert;
mod weather;
