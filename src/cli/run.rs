//! `switchboard run`: one action, once; result on stdout, printed lines and errors on stderr.

use super::args::RunArgs;
use super::print_stdout;
use crate::error::Error;
use crate::hub::Snapshot;
use crate::runner::{self, Invocation, Outcome};
use anyhow::Context;
use serde_json::Value;
use std::path::Path;

pub fn run(args: RunArgs) -> Result<(), Error> {
    let input = read_input(args.input.as_deref())?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let snapshot = Snapshot::load(&args.hub.dir, runtime.handle().clone())?;
    crate::stdlib::exec::end_on_interrupt(runtime.handle());

    let as_path = Path::new(&args.script);
    let is_file = args.script.ends_with(".rhai") && as_path.is_file();
    let name = if is_file { args.script.clone() } else { args.script.trim_end_matches(".rhai").to_string() };
    let invocation = Invocation::manual(name.clone(), &input);

    let outcome = if is_file {
        let ast = snapshot.compile_file(as_path).map_err(|err| Error::Failed(format!("{name}: {err}")))?;
        runner::run_ast(&snapshot, &ast, invocation)
    } else if snapshot.scripts.contains_key(&name) || snapshot.problem(&name).is_some() {
        runner::run(&snapshot, invocation)
    } else {
        let known: Vec<&str> = snapshot.scripts.keys().map(String::as_str).collect();
        let hint = crate::config::closest(&name, known.iter().copied())
            .map(|best| format!("; did you mean `{best}`?"))
            .unwrap_or_default();
        return Err(Error::Usage(format!(
            "no script `{name}` in {} (looked for scripts/{name}.rhai){hint}",
            snapshot.dir.display()
        )));
    };
    finish(&snapshot, outcome)
}

/// Prints the outcome of a run started by hand, then runs the subscribers of its events.
pub fn finish(snapshot: &Snapshot, outcome: Outcome) -> Result<(), Error> {
    let run_id = outcome.run_id.clone();
    let emitted = outcome.emitted;
    let printed = print_outcome(outcome);
    if emitted > 0 {
        // Subscribers run after the emitting run ends, each as its own run, before the command exits.
        for delivered in crate::triggers::events::deliver_now(snapshot, &run_id) {
            match &delivered.result {
                Ok(_) => eprintln!("[event] `{}` ok (run {})", delivered.script, delivered.run_id),
                Err(err) => {
                    eprintln!("[event] `{}` {}: {err} (run {})", delivered.script, err.status(), delivered.run_id)
                }
            }
        }
    }
    printed
}

/// Prints a result as JSON on stdout, or returns the run's error.
pub fn print_outcome(outcome: Outcome) -> Result<(), Error> {
    if let Some(marker) = crate::engine::context::dropped_marker(outcome.dropped_lines, outcome.dropped_bytes) {
        eprintln!("{marker}");
    }
    match outcome.result {
        Ok(reply) => {
            let value = reply.into_json();
            let text = serde_json::to_string_pretty(&value).context("cannot write the result")?;
            print_stdout(&text)
        }
        Err(err) => Err(Error::Failed(format!("{}: {err} (run {})", outcome.script, outcome.run_id))),
    }
}

fn read_input(raw: Option<&str>) -> Result<Value, Error> {
    let Some(raw) = raw else {
        return Ok(Value::Object(serde_json::Map::new()));
    };
    let (text, origin) = match raw.strip_prefix('@') {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|err| Error::Usage(format!("--input @{file}: cannot read: {err}")))?;
            (text, format!("--input @{file}"))
        }
        None => (raw.to_string(), "--input".to_string()),
    };
    let value: Value = serde_json::from_str(&text).map_err(|err| {
        Error::Usage(format!("{origin}: not valid JSON at line {}, column {}: {err}", err.line(), err.column()))
    })?;
    if !value.is_object() {
        return Err(Error::Usage(format!("{origin}: the input must be a JSON object such as '{{\"name\": \"Ada\"}}'")));
    }
    Ok(value)
}
