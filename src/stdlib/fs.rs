//! `fs`: files inside the hub folder and the `[fs] roots`, with `..` and symlink escapes refused
//! and the hub's own files (`hub_files`) kept from scripts.

use super::hub_files::{Access, Check, HubFiles};
use super::paths::{FsError, plain, real_path};
use super::{Capabilities, Result, def_with, error};
use crate::config::{ConfigError, Manifest};
use crate::engine::blocking;
use crate::engine::convert;
use crate::engine::time::Time;
use rhai::{Array, Blob, Dynamic, Map, Module};
use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// The folders `fs` may touch, all canonical.
pub struct FsPolicy {
    hub: PathBuf,
    /// The hub and each `[fs] roots` entry.
    roots: Vec<PathBuf>,
    /// The hub's secrets, store, definition and allow-listed programs.
    hub_files: HubFiles,
}

impl FsPolicy {
    /// The hub folder plus `[fs] roots` (absolute, or relative to the hub). A root that does not
    /// exist is a configuration error, so a typo shows up in `check` rather than at run time.
    pub fn new(hub: &Path, manifest: &Manifest, file: &Path) -> std::result::Result<Self, Vec<ConfigError>> {
        let hub = hub.canonicalize().unwrap_or_else(|_| hub.to_path_buf());
        let mut roots = vec![hub.clone()];
        let mut errors = Vec::new();
        for (index, root) in manifest.fs.roots.iter().enumerate() {
            let key = format!("fs.roots[{index}]");
            match hub.join(root.as_str()).canonicalize() {
                Ok(real) if real.is_dir() => roots.push(real),
                Ok(_) => errors.push(ConfigError::key(file, key, format!("`{}` is not a folder", root.as_str()))),
                Err(err) => errors.push(ConfigError::key(
                    file,
                    key,
                    format!("cannot use `{}` as a root: {}", root.as_str(), plain(&err)),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let hub_files = HubFiles::new(&hub, manifest);
        Ok(Self { hub, roots, hub_files })
    }

    /// The real path `path` names (relative paths are relative to the hub), with every symlink
    /// followed, provided it lies inside the hub or a root. The path need not exist yet: its
    /// missing tail must be plain names, so `..` cannot climb out of a folder that is not there.
    pub fn resolve(&self, path: &str) -> std::result::Result<PathBuf, FsError> {
        if path.is_empty() {
            return Err(FsError::EmptyPath);
        }
        let real = real_path(&self.hub.join(path)).map_err(|why| unresolvable(path, why))?;
        self.inside(path, real)
    }

    /// Like [`FsPolicy::resolve`], but a final symlink is kept rather than followed: the path
    /// of the entry itself, for removing or renaming a link rather than what it points to.
    fn resolve_entry(&self, path: &str) -> std::result::Result<PathBuf, FsError> {
        let joined = self.hub.join(path);
        let (Some(Component::Normal(name)), Some(parent)) = (joined.components().next_back(), joined.parent()) else {
            return self.resolve(path);
        };
        let parent = real_path(parent).map_err(|why| unresolvable(path, why))?;
        self.inside(path, parent.join(name))
    }

    /// [`FsPolicy::resolve`], refusing the hub's own files guarded against `access`.
    fn open(&self, path: &str, access: Access) -> std::result::Result<PathBuf, FsError> {
        let real = self.resolve(path)?;
        self.guard(path, &real, access, false)?;
        Ok(real)
    }

    /// Refuses `real` (named `path` by the script) if it is a guarded hub file or, for
    /// `whole_tree` operations on a folder, if it holds one.
    fn guard(&self, path: &str, real: &Path, access: Access, whole_tree: bool) -> std::result::Result<(), FsError> {
        let candidates = self.hub_files.candidates(access);
        let check = Check { candidates: &candidates, access };
        let show = |real: &Path| self.display(real);
        Ok(if whole_tree { check.tree(path, real, show) } else { check.path(path, real, show) }?)
    }

    fn inside(&self, path: &str, real: PathBuf) -> std::result::Result<PathBuf, FsError> {
        if self.roots.iter().any(|root| real.starts_with(root)) {
            Ok(real)
        } else {
            Err(FsError::Outside { path: path.to_string() })
        }
    }

    fn is_root(&self, real: &Path) -> bool {
        self.roots.iter().any(|root| root == real)
    }

    /// How a script should see a real path: relative to the hub (with `/`) when inside it.
    fn display(&self, real: &Path) -> String {
        match real.strip_prefix(&self.hub) {
            Ok(relative) if relative.as_os_str().is_empty() => ".".to_string(),
            Ok(relative) => {
                relative.components().map(|part| part.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
            }
            Err(_) => real.display().to_string(),
        }
    }
}

/// An I/O error on a path the script named.
fn failed(path: &str, err: std::io::Error) -> FsError {
    FsError::Io { path: path.to_string(), err }
}

fn unresolvable(path: &str, why: super::paths::Unresolvable) -> FsError {
    FsError::Unresolvable { path: path.to_string(), why }
}

/// Rejects option keys the function does not know, so a typo is not silently ignored.
fn check_options(options: &Map, known: &[&str]) -> std::result::Result<(), FsError> {
    match options.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(FsError::Failed(format!("unknown option `{key}` (expected {})", known.join(", ")))),
        None => Ok(()),
    }
}

/// The `[fs] roots` folders as absolute paths, in manifest order (the hub itself is not listed),
/// so a script can learn a folder configured in `.env` without repeating it.
///
/// ```rhai
/// let vault = fs::roots()[0];
/// fs::write(`${vault}/Inbox/note.md`, "# A note");
/// ```
pub fn roots(capabilities: &Capabilities) -> rhai::Array {
    let policy = &capabilities.fs;
    policy.roots.iter().filter(|root| **root != policy.hub).map(|root| root.display().to_string().into()).collect()
}

/// Builds the `fs` module.
pub fn module(capabilities: &Arc<Capabilities>) -> Module {
    let mut module = Module::new();
    def_with!(&mut module, capabilities => caps, {
        "roots" => move || roots(&caps),
        "read" => move |path: &str| read(&caps, path),
        "read_bytes" => move |path: &str| read_bytes(&caps, path),
        "write" => move |path: &str, contents: Dynamic| write(&caps, path, contents),
        "append" => move |path: &str, contents: Dynamic| append(&caps, path, contents),
        "list" => move |path: &str| list(&caps, path),
        "exists" => move |path: &str| exists(&caps, path),
        "move" => move |from: &str, to: &str| rename(&caps, "fs.move", from, to),
        "rename" => move |from: &str, to: &str| rename(&caps, "fs.rename", from, to),
        "copy" => move |from: &str, to: &str| copy(&caps, from, to),
        "remove" => move |path: &str| remove(&caps, path, Map::new()),
        "remove" => move |path: &str, options: Map| remove(&caps, path, options),
        "mkdir" => move |path: &str| mkdir(&caps, path),
        "read_csv" => move |path: &str| read_csv(&caps, path, Map::new()),
        "read_csv" => move |path: &str, options: Map| read_csv(&caps, path, options),
        "write_csv" => move |path: &str, rows: Array| write_csv(&caps, path, rows, Map::new()),
        "write_csv" => move |path: &str, rows: Array, options: Map| write_csv(&caps, path, rows, options),
    });
    module
}

/// Runs `work` off the async workers and turns its failure into a `function:` error.
fn io<T>(function: &str, work: impl FnOnce() -> std::result::Result<T, FsError>) -> Result<T> {
    blocking(work).map_err(|message| error(function, message))
}

/// Reads a UTF-8 text file.
///
/// ```rhai
/// let notes = fs::read("data/notes.md");
/// notes.len()
/// ```
pub fn read(capabilities: &Capabilities, path: &str) -> Result<String> {
    io("fs.read", || {
        let real = capabilities.fs.open(path, Access::Read)?;
        let bytes = std::fs::read(&real).map_err(|err| failed(path, err))?;
        String::from_utf8(bytes).map_err(|_| FsError::Failed(format!("`{path}` is not UTF-8 text; use fs::read_bytes")))
    })
}

/// Reads a file as a blob of bytes.
///
/// ```rhai
/// let image = fs::read_bytes("inbox/photo.jpg");
/// image.len()
/// ```
pub fn read_bytes(capabilities: &Capabilities, path: &str) -> Result<Blob> {
    io("fs.read_bytes", || {
        let real = capabilities.fs.open(path, Access::Read)?;
        std::fs::read(&real).map_err(|err| failed(path, err))
    })
}

/// The bytes of a string or blob about to be written.
fn contents_of(contents: Dynamic) -> std::result::Result<Vec<u8>, FsError> {
    let contents = contents.flatten();
    if contents.is_blob() {
        return Ok(contents.cast::<Blob>());
    }
    if contents.is_string() || contents.is_char() {
        return Ok(contents.to_string().into_bytes());
    }
    Err(FsError::Failed(format!(
        "expected text or a blob, not {}; use json::stringify for other values",
        contents.type_name()
    )))
}

fn create_parent(path: &str, real: &Path) -> std::result::Result<(), FsError> {
    match real.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|err| failed(path, err)),
        None => Ok(()),
    }
}

/// Writes text or a blob to a file, replacing it, and creates missing parent folders.
///
/// ```rhai
/// fs::write("reports/today.txt", "all good\n");
/// fs::write("reports/raw.bin", fs::read_bytes("inbox/raw.bin"));
/// ```
pub fn write(capabilities: &Capabilities, path: &str, contents: Dynamic) -> Result<()> {
    io("fs.write", || {
        let bytes = contents_of(contents)?;
        let real = capabilities.fs.open(path, Access::Change)?;
        create_parent(path, &real)?;
        std::fs::write(&real, bytes).map_err(|err| failed(path, err))
    })
}

/// Adds text (or a blob) to the end of a file, creating it and its folders if needed.
///
/// ```rhai
/// fs::append("logs/visits.log", `${time::now()} ${input.name}\n`);
/// ```
pub fn append(capabilities: &Capabilities, path: &str, contents: Dynamic) -> Result<()> {
    io("fs.append", || {
        let bytes = contents_of(contents)?;
        let real = capabilities.fs.open(path, Access::Change)?;
        create_parent(path, &real)?;
        let mut file =
            std::fs::OpenOptions::new().create(true).append(true).open(&real).map_err(|err| failed(path, err))?;
        file.write_all(&bytes).map_err(|err| failed(path, err))
    })
}

/// The entries of a folder, sorted by name: maps of `name`, `path` (relative to the hub when
/// inside it, so it can be passed back to `fs`), `dir`, `size` (bytes) and `modified` (a time).
///
/// ```rhai
/// for entry in fs::list("inbox") {
///     if !entry.dir && entry.name.ends_with(".csv") { print(entry.path); }
/// }
/// ```
pub fn list(capabilities: &Capabilities, path: &str) -> Result<Array> {
    io("fs.list", || {
        let policy = &capabilities.fs;
        let real = policy.open(path, Access::Look)?;
        if real.is_file() {
            return Err(FsError::Failed(format!("`{path}` is a file, not a folder")));
        }
        let candidates = policy.hub_files.candidates(Access::Look);
        let hidden = Check { candidates: &candidates, access: Access::Look };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&real).map_err(|err| failed(path, err))? {
            let entry = entry.map_err(|err| failed(path, err))?;
            let full = entry.path();
            // The hub's secrets and store are left out, as if they were not there.
            if !hidden.allows(&full) {
                continue;
            }
            let own = entry.metadata().map_err(|err| failed(path, err))?;
            // A link is described by its target only when `fs` could open that target; the size
            // and age of a file outside the roots (or of the hub's secrets) are none of the
            // script's business.
            let opens = |text: &str| policy.resolve(text).is_ok_and(|target| hidden.allows(&target));
            let metadata = if own.file_type().is_symlink() && full.to_str().is_some_and(opens) {
                std::fs::metadata(&full).unwrap_or(own)
            } else {
                own
            };
            let mut map = Map::new();
            map.insert("name".into(), entry.file_name().to_string_lossy().into_owned().into());
            map.insert("path".into(), policy.display(&full).into());
            map.insert("dir".into(), metadata.is_dir().into());
            map.insert("size".into(), i64::try_from(metadata.len()).unwrap_or(i64::MAX).into());
            let modified = metadata.modified().ok().map(|at| Time { utc: at.into(), zone: None });
            map.insert("modified".into(), modified.map_or(Dynamic::UNIT, Dynamic::from));
            entries.push((entry.file_name(), Dynamic::from_map(map)));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(entries.into_iter().map(|(_, entry)| entry).collect())
    })
}

/// Whether a file or folder exists. A path outside the hub and roots is an error, not `false`.
///
/// ```rhai
/// if !fs::exists("data/seen.json") { fs::write("data/seen.json", "[]"); }
/// ```
pub fn exists(capabilities: &Capabilities, path: &str) -> Result<bool> {
    io("fs.exists", || Ok(capabilities.fs.open(path, Access::Look)?.exists()))
}

/// Moves (renames) a file or folder to a new path, replacing a file already there and creating
/// missing parent folders; works across filesystems. A link is moved, not what it points to.
/// Also available as `fs::rename`.
///
/// ```rhai
/// fs::move("inbox/report.csv", "done/report.csv");
/// ```
pub fn rename(capabilities: &Capabilities, function: &str, from: &str, to: &str) -> Result<()> {
    io(function, || {
        let policy = &capabilities.fs;
        let source = policy.resolve_entry(from)?;
        let target = policy.resolve_entry(to)?;
        source.symlink_metadata().map_err(|err| failed(from, err))?;
        for (path, real, fate) in [(from, &source, "moved"), (to, &target, "replaced")] {
            if policy.is_root(real) {
                return Err(FsError::Failed(format!(
                    "`{path}` is the hub folder or an [fs] root and cannot be {fate}"
                )));
            }
            policy.guard(path, real, Access::Change, true)?;
        }
        if target.starts_with(&source) && target != source {
            return Err(FsError::Failed(format!("cannot move `{from}` into itself (`{to}`)")));
        }
        create_parent(to, &target)?;
        match std::fs::rename(&source, &target) {
            Ok(()) => Ok(()),
            // Roots may live on other filesystems, where a rename cannot reach.
            Err(err) if err.kind() == ErrorKind::CrossesDevices => {
                copy_entry(&source, &target).map_err(|err| format!("`{from}` -> `{to}`: {}", plain(&err)))?;
                remove_entry(&source, true).map_err(|err| failed(from, err))
            }
            Err(err) => Err(FsError::Failed(format!("`{from}` -> `{to}`: {}", plain(&err)))),
        }
    })
}

/// Copies a file (replacing the target) or a whole folder, creating missing parent folders.
/// Links inside a copied folder are copied as links.
///
/// ```rhai
/// fs::copy("templates/invoice.html", `out/invoice-${input.id}.html`);
/// ```
pub fn copy(capabilities: &Capabilities, from: &str, to: &str) -> Result<()> {
    io("fs.copy", || {
        let policy = &capabilities.fs;
        let source = policy.resolve(from)?;
        policy.guard(from, &source, Access::Read, true)?;
        let target = policy.resolve(to)?;
        policy.guard(to, &target, Access::Change, true)?;
        source.metadata().map_err(|err| failed(from, err))?;
        if target.starts_with(&source) {
            return Err(FsError::Failed(format!("cannot copy `{from}` into itself (`{to}`)")));
        }
        create_parent(to, &target)?;
        copy_entry(&source, &target).map_err(|err| FsError::Failed(format!("`{from}` -> `{to}`: {}", plain(&err))))
    })
}

/// Copies a file, a link (as a link) or a folder tree from `source` to `target`.
fn copy_entry(source: &Path, target: &Path) -> std::io::Result<()> {
    let kind = source.symlink_metadata()?.file_type();
    if kind.is_symlink() {
        copy_link(source, target)
    } else if kind.is_dir() {
        std::fs::create_dir_all(target)?;
        for entry in std::fs::read_dir(source)? {
            let entry = entry?;
            copy_entry(&entry.path(), &target.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(source, target).map(drop)
    }
}

#[cfg(unix)]
fn copy_link(source: &Path, target: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(std::fs::read_link(source)?, target)
}

#[cfg(not(unix))]
fn copy_link(source: &Path, _target: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(format!("cannot copy the link {}", source.display())))
}

fn remove_entry(real: &Path, recursive: bool) -> std::io::Result<()> {
    let kind = real.symlink_metadata()?.file_type();
    match (kind.is_dir(), recursive) {
        (true, true) => std::fs::remove_dir_all(real),
        (true, false) => std::fs::remove_dir(real),
        (false, _) => std::fs::remove_file(real),
    }
}

/// Removes a file, a link or an empty folder; `#{ recursive: true }` removes a folder with
/// everything in it. Returns false if there was nothing to remove.
///
/// ```rhai
/// fs::remove("tmp/upload.part");
/// fs::remove("tmp/batch-7", #{ recursive: true });
/// ```
pub fn remove(capabilities: &Capabilities, path: &str, options: Map) -> Result<bool> {
    io("fs.remove", || {
        check_options(&options, &["recursive"])?;
        let recursive = match options.get("recursive") {
            None => false,
            Some(value) => value.as_bool().map_err(|_| "option `recursive` must be true or false".to_string())?,
        };
        let policy = &capabilities.fs;
        let real = policy.resolve_entry(path)?;
        if policy.is_root(&real) {
            return Err(FsError::Failed(format!("`{path}` is the hub folder or an [fs] root and cannot be removed")));
        }
        policy.guard(path, &real, Access::Change, true)?;
        match remove_entry(&real, recursive) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
            Err(err) if err.kind() == ErrorKind::DirectoryNotEmpty => Err(FsError::Failed(format!(
                "`{path}` is a folder that is not empty; pass #{{ recursive: true }} to remove it all"
            ))),
            Err(err) => Err(failed(path, err)),
        }
    })
}

/// Creates a folder and any missing parents; nothing happens if it already exists.
///
/// ```rhai
/// fs::mkdir("archive/2026/11");
/// ```
pub fn mkdir(capabilities: &Capabilities, path: &str) -> Result<()> {
    io("fs.mkdir", || {
        let real = capabilities.fs.open(path, Access::Change)?;
        std::fs::create_dir_all(&real).map_err(|err| failed(path, err))
    })
}

/// The one-byte delimiter from `#{ delimiter: ";" }`, a comma when absent.
fn delimiter(options: &Map) -> std::result::Result<u8, FsError> {
    let Some(value) = options.get("delimiter") else { return Ok(b',') };
    let text = value.to_string();
    match text.as_bytes() {
        [byte] if (value.is_string() || value.is_char()) && byte.is_ascii() => Ok(*byte),
        _ => Err(FsError::Failed(format!(
            "option `delimiter` must be one ASCII character such as \";\" or \"\\t\", not `{text}`"
        ))),
    }
}

/// Reads a CSV file whose first row is the header: an array of maps from header to text.
/// Options: `delimiter` (one character, default `,`) and `headers: false` to get every row,
/// the first included, as an array of strings.
///
/// ```rhai
/// for row in fs::read_csv("inbox/orders.csv", #{ delimiter: ";" }) {
///     print(`${row.id}: ${row.total}`);
/// }
/// ```
pub fn read_csv(capabilities: &Capabilities, path: &str, options: Map) -> Result<Array> {
    io("fs.read_csv", || {
        check_options(&options, &["delimiter", "headers"])?;
        let delimiter = delimiter(&options)?;
        let has_headers = match options.get("headers") {
            None => true,
            Some(value) => value.as_bool().map_err(|_| "option `headers` must be true or false".to_string())?,
        };
        let real = capabilities.fs.open(path, Access::Read)?;
        let bytes = std::fs::read(&real).map_err(|err| failed(path, err))?;
        let mut reader =
            csv::ReaderBuilder::new().delimiter(delimiter).has_headers(has_headers).from_reader(bytes.as_slice());
        let headers: Vec<rhai::ImmutableString> = if has_headers {
            let headers = reader.headers().map_err(|err| format!("`{path}`: {err}"))?;
            headers.iter().map(Into::into).collect()
        } else {
            Vec::new()
        };
        let mut rows = Array::new();
        for record in reader.records() {
            let record = record.map_err(|err| format!("`{path}`: {err}"))?;
            let row = if has_headers {
                let map: Map = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(header, value)| (header.as_str().into(), Dynamic::from(value.to_string())))
                    .collect();
                Dynamic::from_map(map)
            } else {
                Dynamic::from_array(record.iter().map(|value| Dynamic::from(value.to_string())).collect())
            };
            rows.push(row);
        }
        Ok(rows)
    })
}

/// One CSV cell: text as it is, `()` as nothing, other values as their JSON text.
fn cell(value: &Dynamic) -> String {
    if value.is_unit() { String::new() } else { convert::to_text(value) }
}

/// Writes rows to a CSV file (replacing it), quoting cells as needed and creating missing
/// folders. Rows are maps: the header is `#{ headers: [...] }` when given (keys not listed are
/// left out), else the first row's keys in sorted order. Rows may also be arrays of cells.
/// Option `delimiter` as for `fs::read_csv`.
///
/// ```rhai
/// let rows = [#{ id: 1, name: "Ada" }, #{ id: 2, name: "Grace, R." }];
/// fs::write_csv("out/people.csv", rows, #{ headers: ["name", "id"] });
/// ```
pub fn write_csv(capabilities: &Capabilities, path: &str, rows: Array, options: Map) -> Result<()> {
    io("fs.write_csv", || {
        check_options(&options, &["delimiter", "headers"])?;
        let delimiter = delimiter(&options)?;
        let given = match options.get("headers") {
            None => None,
            Some(value) => Some(
                value
                    .clone()
                    .into_typed_array::<rhai::ImmutableString>()
                    .map_err(|_| "option `headers` must be an array of strings".to_string())?,
            ),
        };
        let headers: Option<Vec<String>> = match &given {
            Some(given) => Some(given.iter().map(ToString::to_string).collect()),
            None => rows
                .first()
                .and_then(|row| row.read_lock::<Map>().map(|map| map.keys().map(ToString::to_string).collect())),
        };
        let mut writer = csv::WriterBuilder::new().delimiter(delimiter).flexible(true).from_writer(Vec::new());
        let csv_error = |err: csv::Error| format!("`{path}`: {err}");
        if let Some(headers) = &headers {
            writer.write_record(headers).map_err(csv_error)?;
        }
        for (index, row) in rows.iter().enumerate() {
            let record: Vec<String> = if let Some(map) = row.read_lock::<Map>() {
                let headers = headers.as_deref().unwrap_or_default();
                // Without declared headers, a key the first row lacked would silently vanish.
                if given.is_none()
                    && let Some(extra) = map.keys().find(|key| !headers.iter().any(|header| header == key.as_str()))
                {
                    return Err(FsError::Failed(format!(
                        "row {index} has the key `{extra}` that the first row lacks; pass #{{ headers: [...] }} to name every column"
                    )));
                }
                headers.iter().map(|header| map.get(header.as_str()).map(cell).unwrap_or_default()).collect()
            } else if let Some(items) = row.read_lock::<Array>() {
                items.iter().map(cell).collect()
            } else {
                return Err(FsError::Failed(format!("row {index} must be a map or an array, not {}", row.type_name())));
            };
            writer.write_record(&record).map_err(csv_error)?;
        }
        let bytes = writer.into_inner().map_err(|err| format!("`{path}`: {}", err.error()))?;
        let real = capabilities.fs.open(path, Access::Change)?;
        create_parent(path, &real)?;
        std::fs::write(&real, bytes).map_err(|err| failed(path, err))
    })
}
