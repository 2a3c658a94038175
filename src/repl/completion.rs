//! What Tab completes and what the hint shows: stdlib modules and their functions (from the
//! engine's function metadata), methods and properties after `.` (those of the value's type, and
//! a map's keys, when the value is a session variable), keywords, the session's
//! variables and functions, commands, script names after `:run`, and names inside strings
//! (`sql::connection("` offers the SQL connections (SQLite, PostgreSQL, MySQL), `http::connection("`
//! the HTTP ones, `mqtt::connection("` the MQTT ones, `mail::send("` the SMTP ones; `import "`).

use super::scan::{self, Kind};
use rhai::Engine;
use std::collections::{BTreeMap, BTreeSet};

/// Rhai keywords and the built-ins the parser handles itself (so they have no metadata).
const KEYWORDS: &[&str] = &[
    "as",
    "break",
    "call",
    "catch",
    "const",
    "continue",
    "curry",
    "debug",
    "do",
    "else",
    "export",
    "false",
    "fn",
    "for",
    "Fn",
    "global",
    "if",
    "import",
    "in",
    "is_def_fn",
    "is_def_var",
    "is_shared",
    "let",
    "loop",
    "print",
    "private",
    "return",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "type_of",
    "until",
    "while",
];

/// The REPL's commands, with a one-line description each.
pub const COMMANDS: &[(&str, &str)] = &[
    (":help", "this help"),
    (":run", "SCRIPT [JSON]  run a hub script as an action with that input"),
    (":load", "FILE  evaluate a file into the session (its functions and variables stay)"),
    (":vars", "the session's variables, constants, functions and imports"),
    (":reset", "forget every variable, function and import"),
    (":reload", "re-read switchboard.toml, .env, connections and scripts (variables stay)"),
    (":routes", "the hub's routes, cron jobs, watches, subscriptions and MQTT subscriptions"),
    (":quit", "leave (Ctrl-D too)"),
];

/// One completion: what the list shows and what goes into the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub display: String,
    pub replacement: String,
}

/// The hub's connection names, by the kind of connection (each module takes only its own kind).
#[derive(Default)]
pub struct Connections {
    pub http: Vec<String>,
    /// SQLite, PostgreSQL and MySQL connections: what `sql::connection` opens.
    pub sql: Vec<String>,
    pub smtp: Vec<String>,
    pub mqtt: Vec<String>,
}

/// What completion knows of a session variable's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// The type as the engine names it in signatures: `Db`, `HttpClient`, `map`, `string`, `i64`.
    pub type_name: String,
    /// A map's keys that can follow a `.`.
    pub keys: Vec<String>,
}

/// The receiver type of functions that take any value.
const ANY: &str = "Dynamic";

/// Every name the REPL can complete.
#[derive(Default)]
pub struct Vocabulary {
    /// Module name to its functions, each with its signatures.
    modules: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Functions outside modules (stdlib methods, `response`, `fail`, Rhai's packages).
    globals: BTreeMap<String, Vec<String>>,
    /// Property names (`status` of an HTTP response, `year` of a time).
    properties: BTreeSet<String>,
    /// Method and property names by the type of their first parameter (`Db`, `map`, `string`).
    methods: BTreeMap<String, BTreeSet<String>>,
    /// `import "..."` names: `std/...` and the hub's `lib/` modules.
    pub importable: Vec<String>,
    pub scripts: Vec<String>,
    pub connections: Connections,
    pub variables: Vec<String>,
    /// What is known of each session variable's value.
    pub shapes: BTreeMap<String, Shape>,
    /// Functions defined in the session, as `name(a, b)`.
    pub session_functions: Vec<String>,
}

impl Vocabulary {
    /// Reads the functions of `engine` from its metadata.
    pub fn from_engine(engine: &Engine) -> Self {
        let mut vocabulary = Self::default();
        for signature in engine.gen_fn_signatures(true) {
            let name = signature.split('(').next().unwrap_or_default();
            let (module, function) = match name.rsplit_once("::") {
                Some((module, function)) => (Some(module), function),
                None => (None, name),
            };
            let receiver = if module.is_none() { receiver(&signature) } else { None };
            if let Some(property) = function.strip_prefix("get$") {
                vocabulary.properties.insert(property.to_string());
                if let Some(receiver) = receiver {
                    vocabulary.methods.entry(receiver.to_string()).or_default().insert(property.to_string());
                }
                continue;
            }
            if !is_identifier(function) {
                continue;
            }
            if let Some(receiver) = receiver {
                vocabulary.methods.entry(receiver.to_string()).or_default().insert(function.to_string());
            }
            let signatures = match module {
                Some(module) => {
                    vocabulary.modules.entry(module.to_string()).or_default().entry(function.to_string()).or_default()
                }
                None => vocabulary.globals.entry(function.to_string()).or_default(),
            };
            if !signatures.contains(&signature) {
                signatures.push(signature);
            }
        }
        vocabulary
    }

    /// Completions for the word before `pos` in `line` (the whole entry, possibly several lines),
    /// with the byte offset where the word starts.
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<Candidate>) {
        let before = &line[..pos];
        if let Some(command) = before.strip_prefix(':') {
            return self.complete_command(command);
        }
        let end = scan::scan(before);
        if end.kind == Kind::Text {
            return self.complete_in_string(before);
        }
        if end.kind != Kind::Code {
            return (pos, Vec::new());
        }
        let start = word_start(before);
        let word = &before[start..];
        let mut names = BTreeSet::new();
        if let Some(value) = before[..start].strip_suffix('.') {
            match self.shape_before(value) {
                Some(shape) => {
                    for type_name in [shape.type_name.as_str(), ANY] {
                        names.extend(self.methods.get(type_name).into_iter().flatten().cloned());
                    }
                    names.extend(shape.keys.iter().filter(|key| is_identifier(key)).cloned());
                }
                None => {
                    names.extend(self.globals.keys().cloned());
                    names.extend(self.properties.iter().cloned());
                }
            }
        } else if let Some((module, prefix)) = word.rsplit_once("::") {
            if let Some(functions) = self.modules.get(module) {
                names.extend(functions.keys().filter(|f| f.starts_with(prefix)).map(|f| format!("{module}::{f}")));
            }
            return (start, names.into_iter().map(plain).collect());
        } else {
            names.extend(self.modules.keys().map(|module| format!("{module}::")));
            names.extend(KEYWORDS.iter().map(|keyword| keyword.to_string()));
            names.extend(self.globals.keys().cloned());
            names.extend(self.variables.iter().cloned());
            names.extend(self.session_functions.iter().map(|f| f.split('(').next().unwrap_or(f).to_string()));
        }
        (start, names.into_iter().filter(|name| name.starts_with(word)).map(plain).collect())
    }

    /// What is known of the value `code` ends with: a session variable's shape when `code` ends
    /// with its bare name (not `a.name`, `m::name` or a call).
    fn shape_before(&self, code: &str) -> Option<&Shape> {
        let start = word_start(code);
        let name = &code[start..];
        if name.contains(':') || code[..start].ends_with('.') {
            return None;
        }
        self.shapes.get(name)
    }

    /// The signatures of the function whose name ends at `pos`, or whose `(` was just typed.
    pub fn hint(&self, line: &str, pos: usize) -> Option<String> {
        if pos < line.len() || line.starts_with(':') {
            return None;
        }
        let (before, opened) = match line.strip_suffix('(') {
            Some(before) => (before, true),
            None => (line, false),
        };
        if scan::scan(before).kind != Kind::Code {
            return None;
        }
        let word = &before[word_start(before)..];
        if word.is_empty() {
            return None;
        }
        let signatures = self.signatures(word);
        if signatures.is_empty() {
            return None;
        }
        let hint = if opened {
            format!("  {}", signatures.join(" | "))
        } else {
            let tails: Vec<&str> = signatures.iter().map(|s| s.find('(').map_or(s.as_str(), |at| &s[at..])).collect();
            tails.join(" | ")
        };
        Some(shorten(&hint, 100))
    }

    fn signatures(&self, word: &str) -> Vec<String> {
        let found = match word.rsplit_once("::") {
            Some((module, function)) => self.modules.get(module).and_then(|functions| functions.get(function)),
            None => self.globals.get(word),
        };
        let mut signatures = found.cloned().unwrap_or_default();
        if word.rsplit_once("::").is_none() {
            let session = self.session_functions.iter().filter(|f| f.split('(').next() == Some(word));
            signatures.extend(session.cloned());
        }
        signatures
    }

    fn complete_command(&self, command: &str) -> (usize, Vec<Candidate>) {
        if let Some(partial) = command.strip_prefix("run ") {
            let start = 1 + "run ".len() + (partial.len() - partial.trim_start().len());
            let partial = partial.trim_start();
            let names = self.scripts.iter().filter(|name| name.starts_with(partial)).cloned().map(plain).collect();
            return (start, names);
        }
        if command.contains(char::is_whitespace) {
            return (1 + command.len(), Vec::new());
        }
        let names = COMMANDS
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| name[1..].starts_with(command))
            .map(|name| plain(name.to_string()))
            .collect();
        (0, names)
    }

    /// Names inside a string: a module's own kind of connection in `sql::connection("`,
    /// `http::connection("`, `mqtt::connection("` and `mail::send("`, modules in `import "`,
    /// scripts in `actions::run("`.
    fn complete_in_string(&self, before: &str) -> (usize, Vec<Candidate>) {
        let Some(quote) = before.rfind(['"', '`']) else { return (before.len(), Vec::new()) };
        let partial = &before[quote + 1..];
        let code = before[..quote].trim_end();
        let names: &[String] = if code.ends_with("sql::connection(") {
            &self.connections.sql
        } else if code.ends_with("http::connection(") {
            &self.connections.http
        } else if code.ends_with("mail::send(") {
            &self.connections.smtp
        } else if code.ends_with("mqtt::connection(") {
            &self.connections.mqtt
        } else if code.ends_with("import") {
            &self.importable
        } else if code.ends_with("actions::run(") {
            &self.scripts
        } else {
            &[]
        };
        let found = names.iter().filter(|name| name.starts_with(partial)).cloned().map(plain).collect();
        (quote + 1, found)
    }
}

/// The type of a signature's first parameter, the value a method call is made on: `Db` in
/// `query(_: &mut Db, _: string) -> ...`; `None` for no parameters or an untyped one.
fn receiver(signature: &str) -> Option<&str> {
    let params = signature.split_once('(')?.1;
    let first = params.split([',', ')']).next()?;
    let type_name = first.rsplit_once(": ").map_or(first, |(_, type_name)| type_name);
    let type_name = type_name.trim().trim_start_matches("&mut ").trim();
    is_identifier(type_name).then_some(type_name)
}

fn plain(name: String) -> Candidate {
    Candidate { display: name.clone(), replacement: name }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Where the word (an identifier, possibly with `module::`) before the end of `text` starts.
fn word_start(text: &str) -> usize {
    let mut start = text.len();
    for (at, c) in text.char_indices().rev() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            start = at;
        } else {
            break;
        }
    }
    start
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let mut engine = Engine::new();
        let mut json = rhai::Module::new();
        rhai::FuncRegistration::new("parse").set_into_module(&mut json, |text: &str| text.len() as i64);
        rhai::FuncRegistration::new("pretty").set_into_module(&mut json, |text: &str| text.to_string());
        engine.register_static_module("json", json.into());
        engine.register_fn("query", |a: i64, b: i64| a + b);
        engine.register_get("status", |_: &mut rhai::Map| 200_i64);
        #[derive(Clone)]
        struct Db;
        engine
            .register_type_with_name::<Db>("Db")
            .register_fn("execute", |_: &mut Db, sql: &str| sql.len() as i64)
            .register_fn("last_insert_id", |_: &mut Db| 1_i64);
        let mut vocabulary = Vocabulary::from_engine(&engine);
        let shape = |type_name: &str, keys: &[&str]| Shape {
            type_name: type_name.to_string(),
            keys: keys.iter().map(|key| key.to_string()).collect(),
        };
        vocabulary.shapes = BTreeMap::from([
            ("db".to_string(), shape("Db", &[])),
            ("config".to_string(), shape("map", &["retries", "base url"])),
        ]);
        vocabulary.variables = vec!["jsonish".into(), "total".into()];
        vocabulary.session_functions = vec!["twice(x)".into()];
        vocabulary.scripts = vec!["hello".into(), "tasks/create".into(), "tasks/list".into()];
        vocabulary.connections = Connections {
            http: vec!["weather".into(), "webhooks".into()],
            sql: vec!["crm".into(), "db".into(), "warehouse".into()],
            smtp: vec!["outbox".into()],
            mqtt: vec!["home".into()],
        };
        vocabulary.importable = vec!["std/retry".into(), "std/text".into()];
        vocabulary
    }

    fn names(result: (usize, Vec<Candidate>)) -> (usize, Vec<String>) {
        (result.0, result.1.into_iter().map(|c| c.replacement).collect())
    }

    #[test]
    fn modules_variables_and_keywords_complete_at_the_start_of_a_word() {
        let v = vocabulary();
        assert_eq!(names(v.complete("jso", 3)), (0, vec!["json::".to_string(), "jsonish".to_string()]));
        assert_eq!(names(v.complete("let y = tw", 10)), (8, vec!["twice".to_string()]));
        assert_eq!(names(v.complete("whi", 3)).1, vec!["while".to_string()]);
        assert_eq!(names(v.complete("x + tot", 7)), (4, vec!["total".to_string()]));
    }

    #[test]
    fn module_functions_complete_after_the_module() {
        let v = vocabulary();
        assert_eq!(names(v.complete("json::p", 7)), (0, vec!["json::parse".to_string(), "json::pretty".to_string()]));
        assert_eq!(names(v.complete("x(json::pa", 10)), (2, vec!["json::parse".to_string()]));
    }

    #[test]
    fn methods_and_properties_complete_after_a_dot() {
        let v = vocabulary();
        assert_eq!(names(v.complete("conn.que", 8)), (5, vec!["query".to_string()]));
        assert_eq!(names(v.complete("reply.stat", 10)), (6, vec!["status".to_string()]));
    }

    #[test]
    fn after_a_known_value_the_dot_offers_its_type_and_keys() {
        let v = vocabulary();
        let after_db = names(v.complete("db.", 3)).1;
        assert!(after_db.contains(&"execute".to_string()) && after_db.contains(&"last_insert_id".to_string()));
        assert!(after_db.contains(&"to_string".to_string()), "functions of any value: {after_db:?}");
        assert!(!after_db.iter().any(|name| name == "keys" || name == "query" || name == "status"), "{after_db:?}");
        assert_eq!(names(v.complete("x + config.retr", 15)), (11, vec!["retries".to_string()]));
        let after_map = names(v.complete("config.", 7)).1;
        assert!(after_map.contains(&"keys".to_string()) && after_map.contains(&"status".to_string()));
        assert!(!after_map.iter().any(|name| name == "execute" || name == "base url"), "{after_map:?}");
        // Unknown values, and members of known ones, get every method.
        assert_eq!(names(v.complete("other.que", 9)), (6, vec!["query".to_string()]));
        assert_eq!(names(v.complete("config.retries.que", 18)), (15, vec!["query".to_string()]));
    }

    #[test]
    fn commands_and_script_names_complete() {
        let v = vocabulary();
        assert_eq!(names(v.complete(":re", 3)), (0, vec![":reset".to_string(), ":reload".to_string()]));
        assert_eq!(
            names(v.complete(":run tasks/", 11)),
            (5, vec!["tasks/create".to_string(), "tasks/list".to_string()])
        );
        assert!(v.complete(":vars x", 7).1.is_empty());
    }

    #[test]
    fn strings_complete_only_names_that_belong_there() {
        let v = vocabulary();
        assert_eq!(names(v.complete("sql::connection(\"d", 18)), (17, vec!["db".to_string()]));
        assert_eq!(names(v.complete("sql::connection(\"w", 18)), (17, vec!["warehouse".to_string()]));
        assert_eq!(names(v.complete("sql::connection(\"c", 18)), (17, vec!["crm".to_string()]), "a server too");
        assert_eq!(
            names(v.complete("http::connection(\"", 18)),
            (18, vec!["weather".to_string(), "webhooks".to_string()])
        );
        assert_eq!(names(v.complete("mail::send( \"", 13)), (13, vec!["outbox".to_string()]));
        assert_eq!(names(v.complete("mqtt::connection(\"", 18)), (18, vec!["home".to_string()]));
        assert!(v.complete("sql::connection(\"h", 18).1.is_empty(), "an mqtt connection is no database");
        assert_eq!(names(v.complete("import \"std/r", 13)), (8, vec!["std/retry".to_string()]));
        assert!(v.complete("let s = \"jso", 12).1.is_empty());
        assert!(v.complete("x // jso", 8).1.is_empty());
    }

    #[test]
    fn hints_show_signatures_of_a_known_function() {
        let v = vocabulary();
        // Stdlib functions are registered without parameter names, so their hint is the arity.
        assert_eq!(v.hint("json::parse", 11).as_deref(), Some("(_)"));
        assert_eq!(v.hint("query", 5).as_deref(), Some("(_: i64, _: i64) -> i64"));
        assert_eq!(v.hint("twice(", 6).as_deref(), Some("  twice(x)"));
        assert_eq!(v.hint("json::nope", 10), None);
        assert_eq!(v.hint("json::parse", 4), None, "only at the end of the line");
    }
}
