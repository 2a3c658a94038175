//! `switchboard routes`: what the hub serves and runs, with each cron job's schedule in words and
//! its next fire times.

use super::args::HubArgs;
use super::print_stdout;
use crate::config::Schedule;
use crate::config::{Auth, Manifest};
use crate::error::Error;

pub fn routes(args: HubArgs) -> Result<(), Error> {
    let manifest = crate::config::load(&args.dir, &crate::hub::script_names(&args.dir))?.manifest;
    print_stdout(&render(&manifest))
}

/// The listing of what `manifest` serves and runs; also the REPL's `:routes`.
pub fn render(manifest: &Manifest) -> String {
    let mut out = String::new();
    if manifest.routes.is_empty() {
        out.push_str("no routes\n");
    }
    for route in &manifest.routes {
        let auth = match route.auth {
            Auth::Public => "public".to_string(),
            Auth::Private if route.scopes.is_empty() => "key".to_string(),
            Auth::Private => format!("key: {}", route.scopes.join(", ")),
        };
        let path = crate::triggers::http::pattern(&route.path);
        out.push_str(&format!("{:<7} {:<32} -> {:<24} ({auth})\n", route.method.as_str(), path, route.script));
    }
    let now = chrono::Utc::now();
    for cron in &manifest.crons {
        let zone = cron.timezone.as_deref().unwrap_or("UTC");
        out.push_str(&format!("cron    {:<32} -> {:<24} (\"{}\" in {zone})\n", cron.name, cron.script, cron.schedule));
        if let Ok(schedule) = Schedule::parse(&cron.schedule, cron.timezone.as_deref()) {
            out.push_str(&format!("          {}\n", schedule.describe()));
            for next in schedule.upcoming(now, 3) {
                out.push_str(&format!("          next {}\n", next.format("%Y-%m-%d %H:%M:%S %Z (%:z)")));
            }
        }
    }
    for watch in &manifest.watches {
        let patterns = crate::config::watch_spec::globs(watch).join(", ");
        let events = watch.events.as_ref().map_or_else(
            || "created".to_string(),
            |events| events.iter().map(|event| crate::config::parsed::word(*event)).collect::<Vec<_>>().join(", "),
        );
        let depth = if watch.recursive { ", recursive" } else { "" };
        out.push_str(&format!("watch   {:<32} -> {:<24} ({patterns}; {events}{depth})\n", watch.path, watch.script));
    }
    for on in &manifest.subscriptions {
        out.push_str(&format!("on      {:<32} -> {:<24}\n", on.event, on.script));
    }
    for mqtt in &manifest.mqtt {
        let qos = mqtt.qos.level();
        out.push_str(&format!(
            "mqtt    {:<32} -> {:<24} (connection {}, qos {qos})\n",
            mqtt.topic, mqtt.script, mqtt.connection
        ));
    }
    out.trim_end().to_string()
}
