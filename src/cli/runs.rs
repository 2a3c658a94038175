//! `switchboard runs`: the run log — list, show one record, retry one run.

use super::args::{RunsAction, RunsArgs, RunsListArgs};
use super::print_stdout;
use crate::error::Error;
use crate::hub::Snapshot;
use crate::runner::{self, Invocation};
use crate::store::{RunFilter, RunPage, RunRecord, Store};
use anyhow::Context;
use std::fmt::Write;
use std::path::Path;

pub fn runs(args: RunsArgs) -> Result<(), Error> {
    match args.action {
        RunsAction::List(list) => list_runs(&list),
        RunsAction::Show { id, json, hub } => show(&hub.dir, &id, json),
        RunsAction::Retry { id, hub } => retry(&hub.dir, &id),
    }
}

fn open(dir: &Path) -> Result<Option<Store>, Error> {
    let path = dir.join("data").join("switchboard.db");
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(Store::open(&path).context("cannot open the run log")?))
}

fn list_runs(args: &RunsListArgs) -> Result<(), Error> {
    let filter = RunFilter {
        script: args.script.clone(),
        status: args.status.map(|status| status.as_str().to_string()),
        since: args
            .since
            .as_deref()
            .map(crate::runlog::since)
            .transpose()
            .map_err(|err| Error::Usage(err.to_string()))?,
        limit: args.limit,
    };
    let page = match open(&args.hub.dir)? {
        Some(store) => store.runs_page(&filter).context("cannot read the run log")?,
        None => RunPage::default(),
    };
    if args.json {
        return print_stdout(&serde_json::to_string_pretty(&page.json()).map_err(anyhow::Error::from)?);
    }
    let records = page.records;
    if records.is_empty() {
        return print_stdout("no runs match");
    }
    // The script and trigger columns are as wide as their longest entry: a cut-off route path or
    // watched file name is the part a reader needs.
    let trigger = |r: &RunRecord| format!("{} {}", r.trigger, r.detail).trim_end().to_string();
    let width = |cells: &mut dyn Iterator<Item = usize>, title: &str| cells.max().unwrap_or(0).max(title.len());
    let script_width = width(&mut records.iter().map(|r| r.script.chars().count()), "script");
    let trigger_width = width(&mut records.iter().map(|r| trigger(r).chars().count()), "trigger");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<36}  {:<19}  {:<11}  {:>9}  {:<script_width$}  {:<trigger_width$}  error",
        "id", "started (UTC)", "status", "ms", "script", "trigger"
    );
    for r in &records {
        let started = r.started_at.get(..19).unwrap_or(&r.started_at).replace('T', " ");
        let error = r.error.as_deref().unwrap_or("").lines().next().unwrap_or("");
        let row = format!(
            "{:<36}  {started:<19}  {:<11}  {:>9.1}  {:<script_width$}  {:<trigger_width$}  {}",
            r.id,
            r.status,
            r.duration_ms,
            r.script,
            trigger(r),
            shorten(error, 80)
        );
        let _ = writeln!(out, "{}", row.trim_end());
    }
    print_stdout(out.trim_end())
}

fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
    short.push('…');
    short
}

fn find(dir: &Path, id: &str) -> Result<RunRecord, Error> {
    let store = open(dir)?.ok_or_else(|| Error::Usage("no runs yet in this hub".into()))?;
    store
        .run_get(id)
        .context("cannot read the run log")?
        .ok_or_else(|| Error::Usage(format!("no run `{id}` (give the full id or a unique prefix of 8+ characters)")))
}

fn show(dir: &Path, id: &str, json: bool) -> Result<(), Error> {
    let r = find(dir, id)?;
    if json {
        return print_stdout(&serde_json::to_string_pretty(&r).map_err(anyhow::Error::from)?);
    }
    let mut out = String::new();
    let _ = writeln!(out, "run       {}", r.id);
    let _ = writeln!(out, "script    {}", r.script);
    let _ = writeln!(out, "trigger   {} {}", r.trigger, r.detail);
    let _ = writeln!(out, "started   {}", r.started_at);
    let _ = writeln!(out, "duration  {:.1} ms", r.duration_ms);
    let _ = writeln!(out, "status    {}", r.status);
    if r.attempt > 1 || r.retry_of.is_some() {
        let _ = writeln!(out, "attempt   {} of {}", r.attempt, r.retry_of.as_deref().unwrap_or("-"));
    }
    if let Some(error) = &r.error {
        let _ = writeln!(out, "error     {error}");
    }
    let _ = writeln!(out, "input     {}", r.input);
    if let Some(result) = &r.result {
        let _ = writeln!(out, "result    {result}");
    }
    if let Some(lines) = r.lines.as_array().filter(|lines| !lines.is_empty()) {
        let _ = writeln!(out, "lines");
        for line in lines {
            let level = line["level"].as_str().unwrap_or("print");
            let _ = writeln!(out, "  [{level}] {}", line["text"].as_str().unwrap_or_default());
        }
    }
    print_stdout(out.trim_end())
}

fn retry(dir: &Path, id: &str) -> Result<(), Error> {
    let original = find(dir, id)?;
    if original.input.is_string() {
        return Err(Error::Usage(format!("run {} had an input too large to keep; it cannot be retried", original.id)));
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let snapshot = Snapshot::load(dir, runtime.handle().clone())?;
    let invocation = Invocation::retry(&original);
    let outcome = runner::run(&snapshot, invocation);
    eprintln!("retried {} as run {}", original.id, outcome.run_id);
    super::run::print_outcome(outcome)
}
