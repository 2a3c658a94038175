//! The `watch_ledger` table: every file a `[[watch]]` has handled (size, mtime, outcome), so a
//! restart or reload never runs a done file again.

use super::{Store, StoreError};
use rusqlite::{OptionalExtension, Row, params};

/// How a watched file was handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Its run succeeded.
    Ok,
    /// Its run failed; it is not retried until it changes.
    Error,
    /// Recorded without a run (`on_start = "ignore"`, or a change the watch does not subscribe to).
    Seen,
}

impl FileStatus {
    /// The word stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::Error => "error",
            FileStatus::Seen => "seen",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "ok" => FileStatus::Ok,
            "error" => FileStatus::Error,
            _ => FileStatus::Seen,
        }
    }
}

/// One file as the ledger remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The file, relative to the watched folder, with `/` separators.
    pub path: String,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// The change that was handled: created, modified or removed.
    pub change: String,
    pub status: FileStatus,
    pub run_id: Option<String>,
    /// Where the file went after its run, when it was moved.
    pub moved_to: Option<String>,
    /// False once the file left the folder through the watch (moved, or taken by its script).
    pub present: bool,
}

/// What to record about one handled file.
#[derive(Clone, Copy, Debug)]
pub struct LedgerRecord<'a> {
    pub path: &'a str,
    pub size: u64,
    pub mtime_ns: i64,
    pub change: &'a str,
    pub status: FileStatus,
    pub run_id: Option<&'a str>,
    /// Whether the file is still where it was found.
    pub present: bool,
}

const COLUMNS: &str = "path, size, mtime_ns, change, status, run_id, moved_to, present";

fn entry(row: &Row<'_>) -> rusqlite::Result<LedgerEntry> {
    Ok(LedgerEntry {
        path: row.get(0)?,
        size: u64::try_from(row.get::<_, i64>(1)?).unwrap_or_default(),
        mtime_ns: row.get(2)?,
        change: row.get(3)?,
        status: FileStatus::parse(&row.get::<_, String>(4)?),
        run_id: row.get(5)?,
        moved_to: row.get(6)?,
        present: row.get(7)?,
    })
}

impl Store {
    /// What the watch `watch` remembers about `path`.
    pub fn watch_entry(&self, watch: &str, path: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM watch_ledger WHERE watch = ?1 AND path = ?2");
        Ok(self.lock().query_row(&sql, params![watch, path], entry).optional()?)
    }

    /// Records how `record.path` was handled, replacing what was remembered about it.
    pub fn watch_record(&self, watch: &str, record: &LedgerRecord<'_>) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO watch_ledger (watch, path, size, mtime_ns, change, status, run_id, moved_to, present)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)
             ON CONFLICT (watch, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                 change = excluded.change, status = excluded.status, run_id = excluded.run_id,
                 moved_to = NULL, present = excluded.present,
                 processed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            params![
                watch,
                record.path,
                i64::try_from(record.size).unwrap_or(i64::MAX),
                record.mtime_ns,
                record.change,
                record.status.as_str(),
                record.run_id,
                record.present,
            ],
        )?;
        Ok(())
    }

    /// Notes that `path` left the folder for `moved_to` (or for wherever its script took it).
    pub fn watch_moved(&self, watch: &str, path: &str, moved_to: Option<&str>) -> Result<(), StoreError> {
        self.lock().execute(
            "UPDATE watch_ledger SET present = 0, moved_to = ?3 WHERE watch = ?1 AND path = ?2",
            params![watch, path, moved_to],
        )?;
        Ok(())
    }

    /// Forgets `path` (it was removed from the folder); true if it was remembered.
    pub fn watch_forget(&self, watch: &str, path: &str) -> Result<bool, StoreError> {
        Ok(self.lock().execute("DELETE FROM watch_ledger WHERE watch = ?1 AND path = ?2", params![watch, path])? > 0)
    }

    /// Files believed to be in the folder: all of them, or those at or under `prefix`.
    pub fn watch_present(&self, watch: &str, prefix: Option<&str>) -> Result<Vec<LedgerEntry>, StoreError> {
        let connection = self.lock();
        let sql = format!(
            "SELECT {COLUMNS} FROM watch_ledger WHERE watch = ?1 AND present = 1
             AND (?2 IS NULL OR path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/') ORDER BY path"
        );
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map(params![watch, prefix], entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, status: FileStatus) -> LedgerRecord<'_> {
        LedgerRecord { path, size: 3, mtime_ns: 42, change: "created", status, run_id: Some("r1"), present: true }
    }

    #[test]
    fn records_replace_and_moves_hide_files() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::CreateDir { path: "tmp".into(), source })?;
        let store = Store::open(&dir.path().join("s.db"))?;
        assert_eq!(store.watch_entry("inbox", "a.csv")?, None);
        store.watch_record("inbox", &record("a.csv", FileStatus::Error))?;
        store.watch_record("inbox", &record("a.csv", FileStatus::Ok))?;
        store.watch_record("inbox", &record("sub/b.csv", FileStatus::Seen))?;
        store.watch_record("other", &record("a.csv", FileStatus::Ok))?;
        let a = store.watch_entry("inbox", "a.csv")?;
        assert_eq!(a.as_ref().map(|e| (e.status, e.size, e.mtime_ns, e.present)), Some((FileStatus::Ok, 3, 42, true)));
        let paths = |entries: Vec<LedgerEntry>| entries.into_iter().map(|e| e.path).collect::<Vec<_>>();
        assert_eq!(paths(store.watch_present("inbox", None)?), ["a.csv", "sub/b.csv"]);
        assert_eq!(paths(store.watch_present("inbox", Some("sub"))?), ["sub/b.csv"]);
        assert_eq!(paths(store.watch_present("inbox", Some("su"))?), Vec::<String>::new());
        store.watch_moved("inbox", "a.csv", Some("done/a.csv"))?;
        assert_eq!(paths(store.watch_present("inbox", None)?), ["sub/b.csv"]);
        let moved = store.watch_entry("inbox", "a.csv")?;
        assert_eq!(moved.and_then(|e| e.moved_to), Some("done/a.csv".to_string()));
        assert!(store.watch_forget("inbox", "sub/b.csv")?);
        assert!(!store.watch_forget("inbox", "sub/b.csv")?);
        Ok(())
    }
}
