//! Versioned schema migrations of the store, tracked in SQLite's `user_version`.

use rusqlite::Connection;

/// Each entry moves the schema one version up; never edit one that has shipped, append instead.
const MIGRATIONS: &[&str] = &[
    // 1: persistent key/value state for scripts.
    "CREATE TABLE state (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );",
    // 2: the last scheduled time each cron job fired for, for `catch_up`.
    "CREATE TABLE cron_state (
        name TEXT PRIMARY KEY NOT NULL,
        last_scheduled_at TEXT NOT NULL
    );",
    // 3: emitted events, stored before any subscriber runs; delivered_at is set once they ran.
    "CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        data TEXT NOT NULL,
        source_run TEXT NOT NULL,
        emitted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        delivered_at TEXT
    );
    CREATE INDEX events_pending ON events (id) WHERE delivered_at IS NULL;",
    // 4: the ledger of watched folders: each file a watch handled, so none is run twice.
    "CREATE TABLE watch_ledger (
        watch TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        change TEXT NOT NULL,
        status TEXT NOT NULL,
        run_id TEXT,
        processed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        moved_to TEXT,
        present INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (watch, path)
    );",
    // 5: the run log: one record per run (and per skipped cron occurrence).
    "CREATE TABLE runs (
        id TEXT PRIMARY KEY NOT NULL,
        script TEXT NOT NULL,
        trigger TEXT NOT NULL,
        detail TEXT NOT NULL,
        started_at TEXT NOT NULL,
        duration_ms REAL NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        lines TEXT NOT NULL,
        input TEXT NOT NULL,
        event TEXT NOT NULL,
        result TEXT,
        attempt INTEGER NOT NULL DEFAULT 1,
        retry_of TEXT
    );
    CREATE INDEX runs_by_time ON runs (started_at);",
    // 6: the durable queue: requests of `mode = "queue"` routes and cron firings, written before
    // they are acknowledged and deleted once done.
    "CREATE TABLE queue (
        id TEXT PRIMARY KEY NOT NULL,
        script TEXT NOT NULL,
        input TEXT NOT NULL,
        event TEXT NOT NULL,
        source TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 1,
        backoff_ms INTEGER NOT NULL DEFAULT 1000,
        max_backoff_ms INTEGER NOT NULL DEFAULT 300000,
        timeout_ms INTEGER,
        max_operations INTEGER,
        on_error TEXT,
        state TEXT NOT NULL DEFAULT 'pending',
        not_before TEXT NOT NULL,
        enqueued_at TEXT NOT NULL,
        last_error TEXT
    );
    CREATE INDEX queue_ready ON queue (state, not_before);",
];

/// Applies every migration newer than the database's version, each in its own transaction.
pub fn apply(connection: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", index + 1)?;
        transaction.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_idempotent() -> rusqlite::Result<()> {
        let mut connection = Connection::open_in_memory()?;
        apply(&mut connection)?;
        apply(&mut connection)?;
        let version: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        assert_eq!(version, MIGRATIONS.len());
        Ok(())
    }
}
