//! The hub's embedded store, `data/switchboard.db` (SQLite in WAL mode). Only this module knows
//! the SQL of its own tables; everything else calls its typed methods.

mod cron;
mod events;
mod migrations;
mod queue;
mod runs;
mod state;
mod watch;

pub use events::StoredEvent;
pub use queue::{Attempt, QueueItem, Settle};
pub use runs::{RecordFields, RecordText, RunFilter, RunPage, RunRecord, StoredResult};
pub use watch::{FileStatus, LedgerEntry, LedgerRecord};

use parking_lot::{Mutex, MutexGuard};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a statement waits for another connection's write lock before failing.
const BUSY: Duration = Duration::from_secs(5);

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("cannot create {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("store: stored value is not JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Page size of a new database: the run log writes a batch of records of about a quarter
/// megabyte at a time, and with 4 KiB pages each batch took some 140 write calls into the WAL and
/// as many reads and writes again to checkpoint it, the writer's main cost in system time.
const PAGE_SIZE: i64 = 16_384;

/// An open store. One connection behind a mutex: store calls are short, and SQLite serializes
/// writers anyway.
pub struct Store {
    connection: Mutex<Connection>,
}

/// Switches the database to WAL. On a new database that takes an exclusive lock, and when another
/// connection is opening it at the same moment SQLite answers with SQLITE_BUSY at once, without its
/// busy handler (waiting could deadlock), so this retries until `BUSY` has passed.
fn wal(connection: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY;
    loop {
        match connection.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| StoreError::CreateDir { path: parent.to_path_buf(), source })?;
        }
        let open = |path: &Path| -> rusqlite::Result<Connection> {
            let connection = Connection::open(path)?;
            connection.busy_timeout(BUSY)?;
            // Takes effect only on a new database (before its first write).
            connection.pragma_update(None, "page_size", PAGE_SIZE)?;
            wal(&connection)?;
            connection.pragma_update(None, "synchronous", "NORMAL")?;
            Ok(connection)
        };
        let mut connection = open(path).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        migrations::apply(&mut connection, BUSY)?;
        Ok(Self { connection: Mutex::new(connection) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent, so keep using it.
        self.connection.lock()
    }
}

/// The store of one snapshot, opened on first use so that `check` never creates files.
pub struct LazyStore {
    path: PathBuf,
    opened: Mutex<Option<Arc<Store>>>,
}

impl LazyStore {
    /// A store at `path`, not yet opened.
    pub fn new(path: PathBuf) -> Self {
        Self { path, opened: Mutex::new(None) }
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open store, opening it now if this is the first use; a failed open is retried next time.
    pub fn get(&self) -> Result<Arc<Store>, StoreError> {
        let mut opened = self.opened.lock();
        if let Some(store) = opened.as_ref() {
            return Ok(Arc::clone(store));
        }
        let store = Arc::new(Store::open(&self.path)?);
        *opened = Some(Arc::clone(&store));
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(store: &Store) -> rusqlite::Result<i64> {
        store.lock().pragma_query_value(None, "page_size", |row| row.get(0))
    }

    #[test]
    fn new_databases_get_the_larger_page_and_existing_ones_keep_theirs() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert_eq!(page_size(&Store::open(&dir.path().join("new.db"))?)?, PAGE_SIZE);
        let old = dir.path().join("old.db");
        rusqlite::Connection::open(&old)?.execute_batch("PRAGMA page_size = 4096; CREATE TABLE kept (n INTEGER);")?;
        let store = Store::open(&old)?;
        assert_eq!(page_size(&store)?, 4096);
        store.lock().execute("INSERT INTO kept (n) VALUES (1)", [])?;
        Ok(())
    }
}
