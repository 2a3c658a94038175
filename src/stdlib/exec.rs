//! `exec`: running allow-listed programs directly (never through a shell), with a cleared
//! environment, a timeout and capped output, each in its own process group so that ending it
//! ends whatever it started.

use super::{Capabilities, Result, def_with, error};
use crate::config::{ConfigError, Manifest};
use crate::engine::blocking;
use crate::engine::{context, convert};
use parking_lot::Mutex;
use rhai::{Array, Blob, Dynamic, Map, Module};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// The variables a child inherits from the hub process; everything else (API tokens and other
/// secrets the hub was started with) stays behind.
const INHERITED_ENV: [&str; 6] = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

/// Variables a script may not set for a program, compared without regard to case: each can make
/// an allowed program load or run code of the script's choosing (a library, a module, a startup
/// file, a configuration naming a command, another program to start), and the script can write
/// that code with `fs::write`. Documented in the README's stdlib reference.
const REFUSED_ENV: &[&str] = &[
    // Loaders and the C library: shared objects loaded into any program.
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "OPENSSL_MODULES",
    // Shells: startup files, options and hooks.
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "IFS",
    "CDPATH",
    "ZDOTDIR",
    // Interpreters: module paths, startup files and options.
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONPLATLIBDIR",
    "PYTHONBREAKPOINT",
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "NODE_OPTIONS",
    "NODE_PATH",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "TCLLIBPATH",
    // git: helpers, hooks and commands it runs.
    "GIT_EXEC_PATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "GIT_PAGER",
    "GIT_EDITOR",
    "GIT_EXTERNAL_DIFF",
    "GIT_PROXY_COMMAND",
    "GIT_TEMPLATE_DIR",
    // Programs other programs start.
    "EDITOR",
    "VISUAL",
    "PAGER",
    "MANPAGER",
    "LESSOPEN",
    "LESSCLOSE",
    "SHELL",
    "BROWSER",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    // Where programs and their configuration files are looked up.
    "PATH",
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_CONFIG_DIRS",
];

/// Prefixes of refused variables: the dynamic loaders (`LD_PRELOAD`, `DYLD_INSERT_LIBRARIES`),
/// bash's exported functions, git's configuration from the environment, Lua's init and paths.
const REFUSED_ENV_PREFIXES: &[&str] =
    &["LD_", "DYLD_", "BASH_FUNC_", "GIT_CONFIG", "LUA_INIT", "LUA_PATH", "LUA_CPATH"];

/// Whether a script may set the variable `name` for a program.
fn refused_env(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    REFUSED_ENV.contains(&name.as_str()) || REFUSED_ENV_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// How often a waiting call looks at the run's cancel flag and the hub's shutdown.
const POLL: Duration = Duration::from_millis(50);

/// How long to wait for the output pipes after the program exited, when its timeout is spent.
/// Its output is already in the pipe buffers by then, so this is only for the reader threads.
const DRAIN_GRACE: Duration = Duration::from_millis(250);

/// The programs scripts may run.
pub struct ExecPolicy {
    /// Bare names, looked up on PATH when called.
    names: Vec<String>,
    /// Paths, absolute or relative to the hub, matched exactly (never via symlink targets: on
    /// multi-call systems such as busybox every tool resolves to the same binary).
    paths: Vec<PathBuf>,
    /// The entries as written, for error messages.
    listed: Vec<String>,
    timeout: Duration,
    max_output: usize,
}

impl ExecPolicy {
    /// Reads `[exec]`: `allow` (bare names or paths), `timeout` and `max_output`.
    pub fn new(manifest: &Manifest, file: &Path) -> std::result::Result<Self, Vec<ConfigError>> {
        let hub = file.parent().unwrap_or(Path::new("."));
        let mut policy = Self {
            names: Vec::new(),
            paths: Vec::new(),
            listed: Vec::new(),
            timeout: manifest.exec.timeout.0,
            max_output: usize::try_from(manifest.exec.max_output.0).unwrap_or(usize::MAX),
        };
        let mut errors = Vec::new();
        for (index, entry) in manifest.exec.allow.iter().enumerate() {
            let entry = entry.as_str().trim();
            if entry.is_empty() {
                errors.push(ConfigError::key(file, format!("exec.allow[{index}]"), "an empty program name"));
            } else if is_path(entry) {
                policy.paths.push(hub.join(entry));
            } else if entry.contains(char::is_whitespace) {
                errors.push(ConfigError::key(
                    file,
                    format!("exec.allow[{index}]"),
                    format!(
                        "`{entry}` looks like a command line; list only the program and pass arguments to exec::run"
                    ),
                ));
            } else {
                policy.names.push(entry.to_string());
            }
            policy.listed.push(entry.to_string());
        }
        if errors.is_empty() { Ok(policy) } else { Err(errors) }
    }

    /// The executable to start for `program`, if the allow-list permits it.
    fn program(&self, hub: &Path, program: &str) -> std::result::Result<PathBuf, String> {
        let allowed = if is_path(program) {
            let path = hub.join(program);
            self.paths.contains(&path).then_some(path)
        } else {
            self.names.iter().any(|name| name == program).then(|| PathBuf::from(program))
        };
        let Some(path) = allowed else {
            let listed = if self.listed.is_empty() { "nothing is allowed".to_string() } else { self.listed.join(", ") };
            return Err(format!("`{program}` is not in [exec] allow (allowed: {listed})"));
        };
        if is_path(program) {
            return Ok(path);
        }
        which::which(program).map_err(|_| format!("`{program}` is allowed but was not found on PATH"))
    }
}

fn is_path(program: &str) -> bool {
    program.contains(['/', std::path::MAIN_SEPARATOR])
}

/// The files `[exec] allow` names: paths joined to the hub, bare names as found on PATH now.
/// `fs` refuses to change them, so a script cannot rewrite a program it may run.
pub fn listed_programs(hub: &Path, manifest: &Manifest) -> Vec<PathBuf> {
    let entries = manifest.exec.allow.iter().map(|entry| entry.as_str().trim()).filter(|entry| !entry.is_empty());
    entries.filter_map(|entry| if is_path(entry) { Some(hub.join(entry)) } else { which::which(entry).ok() }).collect()
}

/// Builds the `exec` module.
pub fn module(capabilities: &Arc<Capabilities>) -> Module {
    let mut module = Module::new();
    def_with!(&mut module, capabilities => caps, {
        "run" => move |program: &str, args: Array| run(&caps, program, args, Map::new()),
        "run" => move |program: &str, args: Array, options: Map| run(&caps, program, args, options),
    });
    module
}

/// What one call asked for, checked before anything starts.
struct Request {
    executable: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    cwd: PathBuf,
    timeout: Duration,
    /// Whether the run's deadline, rather than the configured timeout, set `timeout`.
    deadline_bound: bool,
}

/// Runs an allow-listed program with arguments (strings or numbers, passed as they are: no
/// shell, so `*`, `$HOME` or `;` mean nothing special) and returns
/// `#{ code, stdout, stderr, truncated }`. A non-zero exit code is a result, not an error;
/// `code` is `()` if the program was ended by a signal. `truncated` is true when output beyond
/// `[exec] max_output` was discarded.
///
/// Options: `stdin` (text or blob), `env` (a map added to the few variables kept from the hub:
/// PATH, HOME, LANG, LC_ALL, TZ, TMPDIR; variables that make a program load code, such as
/// `LD_PRELOAD`, `PYTHONPATH` or `PATH` itself, are refused), `cwd` (a folder inside the hub or
/// `[fs] roots`; default the hub folder) and `timeout` (milliseconds or text such as `"30s"`;
/// default `[exec] timeout`, never past the run's own deadline). A program still running at its
/// timeout is killed with every process it started, and the call fails.
///
/// ```rhai
/// let result = exec::run("git", ["log", "-1", "--format=%s"], #{ cwd: "repo", timeout: "5s" });
/// if result.code != 0 { throw result.stderr; }
/// result.stdout
/// ```
pub fn run(capabilities: &Capabilities, program: &str, args: Array, options: Map) -> Result {
    blocking(|| execute(program, request(capabilities, program, args, options)?, capabilities.exec.max_output))
        .map_err(|message| error("exec.run", message))
}

fn request(
    capabilities: &Capabilities,
    program: &str,
    args: Array,
    options: Map,
) -> std::result::Result<Request, String> {
    let known = ["stdin", "env", "cwd", "timeout"];
    if let Some(key) = options.keys().find(|key| !known.contains(&key.as_str())) {
        return Err(format!("unknown option `{key}` (expected {})", known.join(", ")));
    }
    let executable = capabilities.exec.program(&capabilities.hub_dir, program)?;
    let args = args
        .iter()
        .enumerate()
        .map(|(index, arg)| {
            scalar(arg).ok_or_else(|| format!("args[{index}] must be a string or a number, not {}", arg.type_name()))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut env = Vec::new();
    if let Some(value) = options.get("env") {
        let map = value.read_lock::<Map>().ok_or("option `env` must be a map of names to values")?;
        for (name, value) in map.iter() {
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(format!("`{name}` cannot be the name of an environment variable"));
            }
            if refused_env(name) {
                return Err(format!(
                    "env `{name}` is refused: it can make the program load or run code of the script's choosing"
                ));
            }
            if value.is_unit() {
                continue;
            }
            let text = scalar(value)
                .ok_or_else(|| format!("env `{name}` must be a string or a number, not {}", value.type_name()))?;
            env.push((name.to_string(), text));
        }
    }
    let stdin = match options.get("stdin") {
        None => None,
        Some(value) if value.is_blob() => Some(value.clone().cast::<Blob>()),
        Some(value) if value.is_string() => Some(value.to_string().into_bytes()),
        Some(value) => return Err(format!("option `stdin` must be text or a blob, not {}", value.type_name())),
    };
    let cwd = match options.get("cwd") {
        None => capabilities.hub_dir.clone(),
        Some(value) => {
            let path = value.read_lock::<rhai::ImmutableString>().ok_or("option `cwd` must be a path")?.to_string();
            let real = capabilities.fs.resolve(&path).map_err(|why| format!("option `cwd`: {why}"))?;
            if !real.is_dir() {
                return Err(format!("option `cwd`: `{path}` is not a folder"));
            }
            real
        }
    };
    let wanted = match options.get("timeout") {
        None => capabilities.exec.timeout,
        Some(value) => timeout(value)?,
    };
    let (timeout, deadline_bound) = match context::remaining() {
        Some(left) if left < wanted => (left, true),
        _ => (wanted, false),
    };
    Ok(Request { executable, args, env, stdin, cwd, timeout, deadline_bound })
}

/// An argument or environment value as text: strings, characters, numbers and booleans.
fn scalar(value: &Dynamic) -> Option<String> {
    let value = value.flatten_clone();
    let simple = value.is_string() || value.is_char() || value.is_int() || value.is_float() || value.is_bool();
    simple.then(|| convert::to_text(&value))
}

/// `timeout` given as milliseconds or as text such as `"2s"`.
fn timeout(value: &Dynamic) -> std::result::Result<Duration, String> {
    if let Ok(millis) = value.as_int() {
        return u64::try_from(millis)
            .map(Duration::from_millis)
            .map_err(|_| format!("option `timeout` cannot be negative ({millis})"));
    }
    if let Some(text) = value.read_lock::<rhai::ImmutableString>() {
        let text = text.as_str();
        return humantime::parse_duration(text.trim())
            .map_err(|err| format!("option `timeout`: `{text}` is not a duration ({err}); expected e.g. \"2s\""));
    }
    Err(format!("option `timeout` must be milliseconds or text such as \"2s\", not {}", value.type_name()))
}

/// Starts the program, feeds its stdin, collects its output and enforces the timeout.
fn execute(program: &str, request: Request, max_output: usize) -> std::result::Result<Dynamic, String> {
    let started = Instant::now();
    let mut command = Command::new(&request.executable);
    command
        .args(&request.args)
        .current_dir(&request.cwd)
        .env_clear()
        .stdin(if request.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in INHERITED_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.envs(request.env.iter().map(|(name, value)| (name, value)));
    own_group(&mut command);
    let mut child = command.spawn().map_err(|err| match err.kind() {
        ErrorKind::NotFound => format!("cannot start `{program}`: {} does not exist", request.executable.display()),
        ErrorKind::PermissionDenied => format!("cannot start `{program}`: permission denied"),
        _ => format!("cannot start `{program}`: {err}"),
    })?;
    let Some(group) = Group::enter(&child) else {
        kill_group(child.id());
        stop(&mut child);
        return Err(format!("`{program}` was stopped: the hub is shutting down"));
    };

    // Every pipe gets its own thread: a program that fills stdout before reading all of its
    // stdin would otherwise wait on us while we wait on it.
    if let (Some(bytes), Some(mut stdin)) = (request.stdin, child.stdin.take()) {
        // A program that exits without reading its input closes the pipe; that is not an error.
        std::thread::spawn(move || stdin.write_all(&bytes));
    }
    let (sender, outputs) = mpsc::channel();
    for (stream, pipe) in [
        (Stream::Stdout, child.stdout.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>)),
        (Stream::Stderr, child.stderr.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>)),
    ] {
        let Some(pipe) = pipe else { continue };
        let sender = sender.clone();
        std::thread::spawn(move || sender.send((stream, read_capped(pipe, max_output))));
    }
    drop(sender);

    let deadline = started + request.timeout;
    // Waiting in slices, so that Ctrl-C in the REPL and a stopping hub are noticed: the program
    // runs in its own process group, out of reach of the terminal's Ctrl-C.
    let status = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let waited = child.wait_timeout(left.min(POLL));
        if STOPPING.load(Ordering::SeqCst) {
            group.end(&mut child);
            return Err(format!("`{program}` was stopped: the hub is shutting down"));
        }
        match waited {
            // Ctrl-C can reach a program that is not yet in its own group; it was interrupted too.
            Ok(Some(_)) if context::cancelled() => {
                group.end(&mut child);
                return Err(format!("`{program}` was stopped: the run was interrupted"));
            }
            Ok(Some(status)) => break status,
            Ok(None) if context::cancelled() => {
                group.end(&mut child);
                return Err(format!("`{program}` was stopped: the run was interrupted"));
            }
            Ok(None) if left <= POLL => {
                group.end(&mut child);
                let limit = humantime::format_duration(Duration::from_millis(
                    u64::try_from(request.timeout.as_millis()).unwrap_or(u64::MAX),
                ));
                let why = if request.deadline_bound { " (the time left in this run)" } else { "" };
                return Err(format!("`{program}` did not finish within {limit}{why} and was stopped"));
            }
            Ok(None) => {}
            Err(err) => {
                group.end(&mut child);
                return Err(format!("cannot wait for `{program}`: {err}"));
            }
        }
    };

    let mut stdout = Captured::default();
    let mut stderr = Captured::default();
    for _ in 0..2 {
        let wait = deadline.saturating_duration_since(Instant::now()).max(DRAIN_GRACE);
        match outputs.recv_timeout(wait) {
            Ok((Stream::Stdout, captured)) => stdout = captured.map_err(|err| format!("reading `{program}`: {err}"))?,
            Ok((Stream::Stderr, captured)) => stderr = captured.map_err(|err| format!("reading `{program}`: {err}"))?,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                group.end(&mut child);
                return Err(format!(
                    "`{program}` exited, but a process it started kept its output open past the timeout"
                ));
            }
        }
    }

    let mut result = Map::new();
    result.insert("code".into(), status.code().map_or(Dynamic::UNIT, |code| Dynamic::from(i64::from(code))));
    result.insert("truncated".into(), (stdout.truncated || stderr.truncated).into());
    result.insert("stdout".into(), stdout.into_text().into());
    result.insert("stderr".into(), stderr.into_text().into());
    Ok(Dynamic::from_map(result))
}

/// Kills a child that overstayed and reaps it so no zombie is left behind.
fn stop(child: &mut Child) {
    // Killing fails only if it already exited, and the wait below reaps it either way.
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether the hub is shutting down: programs still running are ended and no new one starts.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// The process groups of the programs running now, in this whole process (every snapshot's
/// runs), so that a hub that stops can end them: a child outlives the process that started it.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Ends every program still running, with all it started, and refuses new ones; for a hub that
/// stops while runs are still in flight.
pub fn stop_all() {
    let running = RUNNING.lock();
    STOPPING.store(true, Ordering::SeqCst);
    for group in running.iter() {
        kill_group(*group);
    }
}

/// Makes Ctrl-C end the process together with the programs it runs, for commands that have no
/// other use for it (`switchboard run`): the terminal signals only its foreground process group,
/// and each program has a group of its own. The handler is in place when this returns.
#[cfg(unix)]
pub fn end_on_interrupt(runtime: &tokio::runtime::Handle) {
    /// Exit code of a process ended by SIGINT, by shell convention (128 + 2).
    const INTERRUPTED_EXIT: i32 = 130;
    let listening = {
        let _entered = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    };
    // Without a handler SIGINT keeps its default, which ends the process (and not the programs).
    if let Ok(mut interrupts) = listening {
        runtime.spawn(async move {
            if interrupts.recv().await.is_some() {
                stop_all();
                std::process::exit(INTERRUPTED_EXIT);
            }
        });
    }
}

#[cfg(not(unix))]
pub fn end_on_interrupt(_runtime: &tokio::runtime::Handle) {}

/// A running program's process group, listed in [`RUNNING`] while it lives.
struct Group {
    id: u32,
}

impl Group {
    /// Lists the group of `child` (its leader); `None` if the hub is already stopping. Checked
    /// under the lock [`stop_all`] takes, so no program slips past it.
    fn enter(child: &Child) -> Option<Self> {
        let mut running = RUNNING.lock();
        if STOPPING.load(Ordering::SeqCst) {
            return None;
        }
        running.push(child.id());
        Some(Self { id: child.id() })
    }

    /// Kills the whole group, then reaps the program. The group is killed before the leader is
    /// reaped, while its id cannot yet be reused.
    fn end(&self, child: &mut Child) {
        kill_group(self.id);
        stop(child);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let mut running = RUNNING.lock();
        running.retain(|id| *id != self.id);
    }
}

/// Starts the program as the leader of a new process group, so that the group can be ended
/// whole: `sh -c 'sleep 60 & …'` leaves a grandchild that killing `sh` alone would orphan.
#[cfg(unix)]
fn own_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(not(unix))]
fn own_group(_command: &mut Command) {}

/// SIGKILL to every process of group `id`. Through rustix, since `unsafe_code` is forbidden here
/// and the standard library can signal only its own child, not a group.
#[cfg(unix)]
fn kill_group(id: u32) {
    if let Some(pid) = i32::try_from(id).ok().and_then(rustix::process::Pid::from_raw) {
        // Fails only when the group is already gone.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_id: u32) {}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// The first `max_output` bytes of one stream and whether more followed.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Captured {
    /// The output as text, with any character cut in half by the cap dropped.
    fn into_text(mut self) -> String {
        if self.truncated
            && let Err(err) = std::str::from_utf8(&self.bytes)
            && err.error_len().is_none()
        {
            self.bytes.truncate(err.valid_up_to());
        }
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Reads `pipe` to its end, keeping at most `max` bytes. The rest is still read (and dropped)
/// so that the program never blocks on a full pipe.
fn read_capped(mut pipe: impl Read, max: usize) -> std::io::Result<Captured> {
    let mut captured = Captured::default();
    let mut chunk = [0_u8; 16 * 1024];
    loop {
        let read = match pipe.read(&mut chunk) {
            Ok(0) => return Ok(captured),
            Ok(read) => read,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        let room = max.saturating_sub(captured.bytes.len());
        if read > room {
            captured.truncated = true;
        }
        captured.bytes.extend_from_slice(&chunk[..read.min(room)]);
    }
}
