//! Deciding when a file is completely written: its writer closed it or it arrived by rename (an
//! atomic move is complete); a file a writer still holds open is not complete however long it is
//! quiet, up to the close timeout; and where no close is reported, its size and mtime stayed the
//! same for the settle interval with no file event in between.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// What is compared: a file's size and modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub size: u64,
    /// Nanoseconds since the Unix epoch (negative before it).
    pub mtime_ns: i64,
}

impl Stat {
    /// The stat of the regular file at `path`; `None` if it is gone or not a regular file.
    pub fn of(path: &Path) -> Option<Self> {
        let metadata = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
        let mtime = metadata.modified().ok()?;
        let mtime_ns = match mtime.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_nanos()).unwrap_or(i64::MAX),
        };
        Some(Self { size: metadata.len(), mtime_ns })
    }
}

#[derive(Debug)]
struct Entry {
    /// The last stat seen; `None` until the first check.
    stat: Option<Stat>,
    /// When the file last changed (an event, or a different stat).
    changed_at: Instant,
    /// Arrived by rename (or closed by its writer) and unchanged since: complete now.
    renamed: bool,
    /// A writer opened it and has not closed it yet, as far as the OS reported.
    open: bool,
}

/// How long a file must stay quiet before it counts as complete.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// For a file whose writer's close the OS does not report.
    pub settle: Duration,
    /// For a file a writer still holds open.
    pub close_timeout: Duration,
}

/// What one check found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Complete files, in path order, with the stat they were found complete at.
    pub ready: Vec<(PathBuf, Stat)>,
    /// Files that vanished (or stopped being regular files) before they were complete.
    pub vanished: Vec<PathBuf>,
    /// Those of `ready` whose writer still held them open when the close timeout passed.
    pub unclosed: Vec<PathBuf>,
}

/// Files seen changing and not yet complete, by absolute path.
#[derive(Debug, Default)]
pub struct Pending {
    files: BTreeMap<PathBuf, Entry>,
}

impl Pending {
    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// How many files are waiting.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether `path` is waiting.
    pub fn contains(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }

    /// `path` was written to (or just discovered) at `now`: wait for it to settle again.
    pub fn touch(&mut self, path: PathBuf, now: Instant) {
        let entry = self.entry(path, now);
        entry.changed_at = now;
        entry.renamed = false;
    }

    /// `path` was created or written to at `now` by a writer whose close the OS will report: it is
    /// not complete before that close (or the close timeout).
    pub fn writing(&mut self, path: PathBuf, now: Instant) {
        let entry = self.entry(path, now);
        entry.changed_at = now;
        entry.renamed = false;
        entry.open = true;
    }

    fn entry(&mut self, path: PathBuf, now: Instant) -> &mut Entry {
        self.files.entry(path).or_insert(Entry { stat: None, changed_at: now, renamed: false, open: false })
    }

    /// `path` was moved into place, or closed by its writer, at `now`; it is complete unless
    /// written to afterwards.
    pub fn renamed(&mut self, path: PathBuf, now: Instant) {
        self.files.insert(path, Entry { stat: None, changed_at: now, renamed: true, open: false });
    }

    /// Stops waiting for `path` and everything under it.
    pub fn forget_under(&mut self, path: &Path) {
        self.files.retain(|file, _| !file.starts_with(path));
    }

    /// Stats every waiting file at `now` and takes out the complete and the vanished ones.
    /// A file is complete when it arrived by rename or was closed; one still open for writing is
    /// complete only once nothing changed for `limits.close_timeout` (it is then also listed in
    /// `unclosed`); any other when two stats at least one check apart agree and nothing changed
    /// for `limits.settle`.
    pub fn check(&mut self, now: Instant, limits: Limits, stat: impl Fn(&Path) -> Option<Stat>) -> Checked {
        let mut checked = Checked::default();
        self.files.retain(|path, entry| {
            let Some(current) = stat(path) else {
                checked.vanished.push(path.clone());
                return false;
            };
            if entry.renamed {
                checked.ready.push((path.clone(), current));
                return false;
            }
            let quiet_for = if entry.open { limits.close_timeout } else { limits.settle };
            match entry.stat {
                Some(previous) if previous == current => {
                    if now.duration_since(entry.changed_at) >= quiet_for {
                        if entry.open {
                            checked.unclosed.push(path.clone());
                        }
                        checked.ready.push((path.clone(), current));
                        return false;
                    }
                }
                Some(_) => {
                    entry.stat = Some(current);
                    entry.changed_at = now;
                }
                None => entry.stat = Some(current),
            }
            true
        });
        checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    const SETTLE: Duration = Duration::from_millis(500);
    const LIMITS: Limits = Limits { settle: SETTLE, close_timeout: Duration::from_secs(60) };

    struct Disk(RefCell<HashMap<PathBuf, Stat>>);

    impl Disk {
        fn set(&self, path: &str, size: u64) {
            self.0.borrow_mut().insert(PathBuf::from(path), Stat { size, mtime_ns: i64::try_from(size).unwrap() });
        }
        fn stat(&self) -> impl Fn(&Path) -> Option<Stat> + '_ {
            |path| self.0.borrow().get(path).copied()
        }
    }

    fn ms(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    fn ready(checked: &Checked) -> Vec<String> {
        checked.ready.iter().map(|(path, _)| path.display().to_string()).collect()
    }

    #[test]
    fn a_file_written_in_two_steps_is_ready_only_after_the_second_settles() {
        let disk = Disk(RefCell::new(HashMap::new()));
        let mut pending = Pending::default();
        let t0 = Instant::now();
        disk.set("a", 3);
        pending.touch("a".into(), t0);
        for at in [100, 200] {
            assert!(pending.check(ms(t0, at), LIMITS, disk.stat()).ready.is_empty());
        }
        disk.set("a", 6);
        pending.touch("a".into(), ms(t0, 300));
        for at in [400, 500, 600, 700] {
            assert!(pending.check(ms(t0, at), LIMITS, disk.stat()).ready.is_empty(), "{at}");
        }
        // A write that no event reported is caught by the stat.
        disk.set("a", 7);
        assert!(pending.check(ms(t0, 800), LIMITS, disk.stat()).ready.is_empty());
        assert!(pending.check(ms(t0, 1200), LIMITS, disk.stat()).ready.is_empty());
        assert_eq!(ready(&pending.check(ms(t0, 1300), LIMITS, disk.stat())), ["a"]);
        assert!(pending.is_empty());
    }

    #[test]
    fn renamed_files_are_ready_at_once_unless_written_again() {
        let disk = Disk(RefCell::new(HashMap::new()));
        let mut pending = Pending::default();
        let t0 = Instant::now();
        disk.set("b", 1);
        disk.set("c", 1);
        pending.renamed("b".into(), t0);
        pending.renamed("c".into(), t0);
        pending.touch("c".into(), t0);
        let checked = pending.check(ms(t0, 10), LIMITS, disk.stat());
        assert_eq!(ready(&checked), ["b"]);
        assert_eq!(pending.len(), 1);
    }

    #[test]
    fn vanished_files_are_reported_and_dropped() {
        let disk = Disk(RefCell::new(HashMap::new()));
        let mut pending = Pending::default();
        let t0 = Instant::now();
        pending.touch("gone".into(), t0);
        pending.touch("dir/x".into(), t0);
        pending.forget_under(Path::new("dir"));
        let checked = pending.check(ms(t0, 10), LIMITS, disk.stat());
        assert_eq!(checked.vanished, [PathBuf::from("gone")]);
        assert!(pending.is_empty());
    }

    #[test]
    fn a_file_held_open_waits_for_its_close_however_long_it_is_quiet() {
        let disk = Disk(RefCell::new(HashMap::new()));
        let mut pending = Pending::default();
        let t0 = Instant::now();
        disk.set("slow", 1000);
        pending.writing("slow".into(), t0);
        // Quiet for five times `settle`, but still open: not complete.
        for at in [100, 600, 1200, 2500] {
            assert!(pending.check(ms(t0, at), LIMITS, disk.stat()).ready.is_empty(), "{at}");
        }
        disk.set("slow", 2000);
        pending.writing("slow".into(), ms(t0, 2600));
        pending.renamed("slow".into(), ms(t0, 2700));
        let checked = pending.check(ms(t0, 2710), LIMITS, disk.stat());
        assert_eq!(ready(&checked), ["slow"]);
        assert!(checked.unclosed.is_empty());
    }

    #[test]
    fn a_file_never_closed_is_complete_after_the_close_timeout() {
        let disk = Disk(RefCell::new(HashMap::new()));
        let mut pending = Pending::default();
        let t0 = Instant::now();
        disk.set("open", 5);
        pending.writing("open".into(), t0);
        assert!(pending.check(ms(t0, 100), LIMITS, disk.stat()).ready.is_empty());
        assert!(pending.check(ms(t0, 59_000), LIMITS, disk.stat()).ready.is_empty());
        let checked = pending.check(ms(t0, 60_000), LIMITS, disk.stat());
        assert_eq!((ready(&checked), checked.unclosed), (vec!["open".to_string()], vec![PathBuf::from("open")]));
    }
}
