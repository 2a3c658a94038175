//! The REPL in a terminal: rustyline with completion, hints, multi-line entry and a history file
//! in the hub.

use super::completion::Vocabulary;
use super::entry::handle;
use super::helper::ReplHelper;
use super::print;
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

/// Reads and evaluates entries until Ctrl-D or `:quit`.
pub fn run(shell: &mut Shell, runtime: &Handle) -> Result<(), Error> {
    super::interrupt::install(runtime, shell.session.interrupt()).context("cannot handle Ctrl-C")?;
    let config = Config::builder()
        .auto_add_history(true)
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
        let entry = match editor.readline(PROMPT) {
            Ok(entry) => entry,
            // Ctrl-C while typing drops the line, like a shell.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(err) => return Err(anyhow::Error::from(err).context("cannot read from the terminal").into()),
        };
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

/// Everything the hub offers, plus the session's names.
fn vocabulary(shell: &Shell) -> Vocabulary {
    let snapshot = shell.session.snapshot();
    let mut vocabulary = Vocabulary::from_engine(&snapshot.engine);
    vocabulary.scripts = snapshot.scripts.keys().cloned().collect();
    for (name, connection) in &snapshot.manifest.connections {
        let names = match connection {
            Connection::Http(_) => &mut vocabulary.connections.http,
            Connection::Sqlite(_) => &mut vocabulary.connections.sqlite,
            Connection::Smtp(_) => &mut vocabulary.connections.smtp,
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
    vocabulary.session_functions = shell.session.functions();
}
