//! `switchboard routes`: what the hub serves and runs.

use super::args::HubArgs;
use super::print_stdout;
use crate::config::Auth;
use crate::error::Error;

pub fn routes(args: HubArgs) -> Result<(), Error> {
    let manifest = crate::config::load(&args.dir)?.manifest;
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
        out.push_str(&format!(
            "{:<7} {:<32} -> {:<24} ({auth})\n",
            route.method.to_ascii_uppercase(),
            path,
            route.script
        ));
    }
    for cron in &manifest.crons {
        out.push_str(&format!(
            "cron    {:<32} -> {:<24} (schedule \"{}\"; not run by this version)\n",
            cron.name, cron.script, cron.schedule
        ));
    }
    for watch in &manifest.watches {
        out.push_str(&format!("watch   {:<32} -> {:<24} (not run by this version)\n", watch.path, watch.script));
    }
    for on in &manifest.subscriptions {
        out.push_str(&format!("on      {:<32} -> {:<24} (not run by this version)\n", on.event, on.script));
    }
    print_stdout(out.trim_end())
}
