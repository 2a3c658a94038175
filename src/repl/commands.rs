//! The REPL's commands: `:help`, `:run`, `:load`, `:vars`, `:reset`, `:reload`, `:routes`, `:quit`.
//! Results go to stdout; confirmations and errors to stderr, so piped output stays clean.

use super::completion::COMMANDS;
use super::print;
use super::shell::{Flow, Shell};
use crate::engine::RunError;
use serde_json::Value;
use std::path::Path;

/// Runs the command `line` (which starts with `:`).
pub fn execute(shell: &mut Shell, line: &str) -> Flow {
    let (name, rest) = line.split_once(char::is_whitespace).map_or((line, ""), |(name, rest)| (name, rest.trim()));
    match name {
        ":help" | ":h" | ":?" => print::out(&help()),
        ":quit" | ":q" | ":exit" => return Flow::Quit,
        ":run" => run(shell, rest),
        ":load" => load(shell, rest),
        ":vars" => vars(shell),
        ":reset" => {
            shell.session.reset();
            print::err("session reset: variables, constants, functions and imports forgotten");
        }
        ":reload" => reload(shell),
        ":routes" => print::out(&(shell.routes)(&shell.session.snapshot().manifest)),
        other => {
            let names = COMMANDS.iter().map(|(name, _)| *name);
            let hint = crate::config::closest(other, names)
                .map(|best| format!("; did you mean `{best}`?"))
                .unwrap_or_default();
            shell.complain(&format!("unknown command `{other}`{hint} (`:help` lists the commands)"));
        }
    }
    Flow::Continue
}

/// The text of `:help`.
pub fn help() -> String {
    let mut text = String::from(
        "Type Rhai. Variables, constants, functions and imports stay from entry to entry; an open\n\
         bracket, backtick string or comment continues the entry on the next line. The hub's stdlib\n\
         and connections are there (json::, http::, sql::, fs::, state:: ...), with the hub's limits;\n\
         `input` is #{} and `event` is #{kind: \"repl\"}.\n\n",
    );
    for (name, description) in COMMANDS {
        let (arguments, description) = match description.split_once("  ") {
            Some((arguments, description)) => (arguments, description),
            None => ("", *description),
        };
        text.push_str(&format!("  {:<22}{description}\n", format!("{name} {arguments}")));
    }
    text.push_str(
        "\nTab completes; Up, Down and Ctrl-R search the history (.switchboard_history in the hub; a\n\
         line that starts with a space is not kept). Ctrl-C cancels the line or interrupts a running\n\
         entry; Ctrl-D quits.",
    );
    text
}

fn run(shell: &mut Shell, rest: &str) {
    let (script, json) =
        rest.split_once(char::is_whitespace).map_or((rest, ""), |(script, json)| (script, json.trim()));
    if script.is_empty() {
        return shell.complain("usage: :run SCRIPT [JSON], for example :run hello {\"name\": \"Ada\"}");
    }
    let input = match parse_input(json) {
        Ok(input) => input,
        Err(message) => return shell.complain(&message),
    };
    let snapshot = shell.session.snapshot();
    if !snapshot.scripts.contains_key(script) && snapshot.problem(script).is_none() {
        let known = snapshot.scripts.keys().map(String::as_str);
        let hint =
            crate::config::closest(script, known).map(|best| format!("; did you mean `{best}`?")).unwrap_or_default();
        return shell.complain(&format!("no script `{script}` in this hub (looked for scripts/{script}.rhai){hint}"));
    }
    let (outcome, deliveries) = shell.session.run_script(script, input);
    match outcome.result {
        Ok(reply) => {
            let value = reply.into_json();
            if let Some(text) = print::json_value(&value) {
                print::out(&shell.redact(&text));
            }
        }
        Err(RunError::Cancelled) => shell.fail(&RunError::Cancelled),
        Err(err) => shell.complain(&format!("{script}: {err} (run {})", outcome.run_id)),
    }
    shell.show_deliveries(&deliveries);
}

fn parse_input(json: &str) -> Result<Value, String> {
    if json.is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    let value: Value = serde_json::from_str(json)
        .map_err(|err| format!("the input is not valid JSON at line {}, column {}: {err}", err.line(), err.column()))?;
    if !value.is_object() {
        return Err("the input must be a JSON object, such as {\"name\": \"Ada\"}".to_string());
    }
    Ok(value)
}

fn load(shell: &mut Shell, file: &str) {
    if file.is_empty() {
        return shell.complain("usage: :load FILE (a path, or one relative to the hub)");
    }
    let given = Path::new(file);
    let path = if given.exists() { given.to_path_buf() } else { shell.session.snapshot().dir.join(given) };
    match std::fs::read_to_string(&path) {
        Ok(code) => shell.evaluate(&code, file),
        Err(err) => shell.complain(&format!("cannot read {file}: {err}")),
    }
}

fn vars(shell: &Shell) {
    let session = &shell.session;
    let engine = &session.snapshot().engine;
    let mut lines = Vec::new();
    for variable in session.variables() {
        let keyword = if variable.constant { "const" } else { "let" };
        let value = print::compact(engine, &variable.value);
        lines.push(format!("{keyword} {} = {}", variable.name, shell.redact(&value)));
    }
    lines.extend(session.functions().into_iter().map(|function| format!("fn {function}")));
    lines.extend(session.imports().iter().cloned());
    print::out(&lines.join("\n"));
}

fn reload(shell: &mut Shell) {
    match shell.session.reload() {
        Ok(()) => {
            shell.reloads += 1;
            let snapshot = shell.session.snapshot();
            print::err(&format!(
                "reloaded {} ({})",
                snapshot.dir.display(),
                crate::count::count(snapshot.scripts.len(), "script", "scripts")
            ));
            shell.show_problems();
        }
        Err(errors) => {
            for error in &errors.0 {
                shell.complain(&error.to_string());
            }
            print::err("the session keeps the hub as it was before :reload");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_command() {
        let text = help();
        for (name, _) in COMMANDS {
            assert!(text.contains(name), "{name} missing from :help");
        }
        assert!(text.contains(":run SCRIPT [JSON]"));
    }

    #[test]
    fn run_input_must_be_a_json_object() {
        assert_eq!(parse_input("").expect("empty is {}"), serde_json::json!({}));
        assert_eq!(parse_input("{\"a\": 1}").expect("object"), serde_json::json!({"a": 1}));
        assert!(parse_input("[1]").unwrap_err().contains("JSON object"));
        assert!(parse_input("{\"a\": }").unwrap_err().contains("line 1, column"));
    }
}
