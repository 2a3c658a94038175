//! The REPL in a terminal: rustyline with completion, hints, multi-line entry and a history file
//! in the hub.

use super::completion::Vocabulary;
use super::entry::handle;
use super::helper::ReplHelper;
use super::print;
use super::scan;
use super::shell::{Flow, Shell};
use crate::config::Connection;
use crate::error::Error;
use anyhow::Context;
use rustyline::Editor;
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use tokio::runtime::Handle;

/// The history file, in the hub folder.
pub const HISTORY_FILE: &str = ".switchboard_history";

const PROMPT: &str = "> ";
/// The prompt of an entry's further lines, while a bracket, string or comment is open.
const CONTINUATION: &str = "... ";

/// Reads and evaluates entries until Ctrl-D or `:quit`.
pub fn run(shell: &mut Shell, runtime: &Handle) -> Result<(), Error> {
    super::interrupt::install(runtime, shell.session.interrupt()).context("cannot handle Ctrl-C")?;
    let config = Config::builder()
        // Entries, not their lines, go into the history (see `read_entry`).
        .auto_add_history(false)
        .history_ignore_dups(true)
        .and_then(|builder| builder.max_history_size(10_000))
        .context("history settings")?
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> =
        Editor::with_config(config).context("cannot set up the terminal")?;
    editor.set_helper(Some(ReplHelper::new(vocabulary(shell))));
    let history = shell.session.snapshot().dir.join(HISTORY_FILE);
    if history.exists()
        && let Err(err) = editor.load_history(&history)
    {
        print::err(&format!("warning: cannot read {}: {err}", history.display()));
    }

    let snapshot = shell.session.snapshot();
    print::out(&format!(
        "switchboard repl: hub {} ({}, {}). :help for help, Ctrl-D to quit.",
        snapshot.dir.display(),
        crate::count::count(snapshot.scripts.len(), "script", "scripts"),
        crate::count::count(snapshot.manifest.connections.len(), "connection", "connections")
    ));
    shell.show_problems();
    let mut history_warned = false;
    let mut reloads = shell.reloads;
    loop {
        let entry = match read_entry(&mut editor) {
            Ok(Some(entry)) => entry,
            // Ctrl-C while typing drops the entry, like a shell.
            Ok(None) | Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(err) => return Err(anyhow::Error::from(err).context("cannot read from the terminal").into()),
        };
        if let Err(err) = editor.add_history_entry(entry.as_str()) {
            print::err(&format!("warning: cannot keep the entry in the history: {err}"));
        }
        // Saved after every entry, so a crash or a second Ctrl-C keeps what was typed.
        if let Err(err) = editor.append_history(&history)
            && !history_warned
        {
            print::err(&format!("warning: cannot write {}: {err}", history.display()));
            history_warned = true;
        }
        let flow = handle(shell, &entry);
        if let Some(helper) = editor.helper_mut() {
            if shell.reloads != reloads {
                reloads = shell.reloads;
                helper.vocabulary = vocabulary(shell);
            } else {
                refresh_session_names(&mut helper.vocabulary, shell);
            }
        }
        if flow == Flow::Quit {
            break;
        }
    }
    Ok(())
}

/// Reads one entry: its first line at [`PROMPT`], then, while a bracket, backtick string or block
/// comment is open, further lines at [`CONTINUATION`]. `None` when Ctrl-C or Ctrl-D drops an
/// unfinished entry.
fn read_entry(editor: &mut Editor<ReplHelper, FileHistory>) -> Result<Option<String>, ReadlineError> {
    let mut entry = editor.readline(PROMPT)?;
    let command = entry.trim_start().starts_with(':');
    while !command && scan::scan(&entry).open {
        entry.push('\n');
        if let Some(helper) = editor.helper_mut() {
            helper.pending.clone_from(&entry);
        }
        let line = editor.readline(CONTINUATION);
        if let Some(helper) = editor.helper_mut() {
            helper.pending.clear();
        }
        match line {
            Ok(line) => entry.push_str(&line),
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => return Ok(None),
            Err(err) => return Err(err),
        }
    }
    Ok(Some(entry))
}

/// Everything the hub offers, plus the session's names.
fn vocabulary(shell: &Shell) -> Vocabulary {
    let snapshot = shell.session.snapshot();
    let mut vocabulary = Vocabulary::from_engine(&snapshot.engine);
    vocabulary.scripts = snapshot.scripts.keys().cloned().collect();
    for (name, connection) in &snapshot.manifest.connections {
        let names = match connection {
            Connection::Http(_) => &mut vocabulary.connections.http,
            Connection::Sqlite(_) | Connection::Postgres(_) | Connection::Mysql(_) => &mut vocabulary.connections.sql,
            Connection::Smtp(_) => &mut vocabulary.connections.smtp,
            Connection::Mqtt(_) => &mut vocabulary.connections.mqtt,
        };
        names.push(name.clone());
    }
    vocabulary.importable = crate::engine::STDLIB_MODULES.iter().map(|(name, _)| name.to_string()).collect();
    vocabulary.importable.extend(crate::hub::discover_in(&snapshot.dir, "lib").into_iter().map(|module| module.name));
    refresh_session_names(&mut vocabulary, shell);
    vocabulary
}

fn refresh_session_names(vocabulary: &mut Vocabulary, shell: &Shell) {
    vocabulary.variables = shell.session.variable_names();
    vocabulary.shapes = shell.session.shapes();
    vocabulary.session_functions = shell.session.functions();
}
