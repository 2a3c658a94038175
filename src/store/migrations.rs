//! Versioned schema migrations of the store, tracked in SQLite's `user_version`.

use rusqlite::{Connection, TransactionBehavior};
use std::time::Duration;

/// How long a connection waits for another that is migrating the same store (migrations 7 and 8
/// copy the whole run log: seconds on a large one), instead of failing with "database is locked".
const WAIT_FOR_MIGRATION: Duration = Duration::from_secs(300);

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
    // 7: the run log rebuilt around `seq`, the order records were written in (the rowid, so no
    // index of its own). Every run appends one record and pruning drops the oldest, so both work
    // at the ends of the rowid tree: an append goes after the last row, and pruning deletes a range
    // of the lowest seqs without walking the records it keeps (by started_at it walked all of
    // them). No AUTOINCREMENT: a new seq is one past the largest, which is all the order needs.
    // No index on started_at: every append paid to maintain it, and listing and pruning now go by
    // seq. Existing records are copied in started_at order so they keep the order they were
    // listed in.
    "CREATE TABLE runs_new (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
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
    INSERT INTO runs_new (id, script, trigger, detail, started_at, duration_ms, status, error, lines, input,
        event, result, attempt, retry_of)
    SELECT id, script, trigger, detail, started_at, duration_ms, status, error, lines, input, event, result, attempt,
        retry_of
    FROM runs ORDER BY started_at, id;
    DROP TABLE runs;
    ALTER TABLE runs_new RENAME TO runs;
    CREATE UNIQUE INDEX runs_by_id ON runs (id);",
    // 8: the run log stores each batch the writer hands over as one row: the records as a JSON
    // array, in write order, beside what reads filter on. A row per record cost two B-tree
    // inserts (table and id index) and later two deletes: the writer's largest cost on a busy
    // hub. `runs` stays, as a view with one row per record, for anyone reading the file; it uses
    // json_extract rather than `->>`, so that sqlite3 shells older than 3.38 can still read the
    // schema.
    "CREATE TABLE run_batches (
        seq INTEGER PRIMARY KEY,
        count INTEGER NOT NULL,
        first_id TEXT NOT NULL,
        last_id TEXT NOT NULL,
        latest_start TEXT NOT NULL,
        scripts TEXT NOT NULL,
        statuses TEXT NOT NULL,
        records TEXT NOT NULL
    );
    INSERT INTO run_batches (count, first_id, last_id, latest_start, scripts, statuses, records)
    SELECT count(*), min(id), max(id), max(started_at), json_group_array(DISTINCT script),
        json_group_array(DISTINCT status),
        json_group_array(json_object('id', id, 'script', script, 'trigger', trigger, 'detail', detail,
            'started_at', started_at, 'duration_ms', duration_ms, 'status', status, 'error', error,
            'lines', iif(json_valid(lines), json(lines), lines), 'input', iif(json_valid(input), json(input), input),
            'event', iif(json_valid(event), json(event), event), 'result', result, 'attempt', attempt,
            'retry_of', retry_of) ORDER BY seq)
    FROM runs GROUP BY seq / 512 ORDER BY seq / 512;
    DROP TABLE runs;
    CREATE VIEW runs AS
    SELECT batch.seq AS batch, record.key AS position,
        json_extract(record.value, '$.id') AS id,
        json_extract(record.value, '$.script') AS script,
        json_extract(record.value, '$.trigger') AS trigger,
        json_extract(record.value, '$.detail') AS detail,
        json_extract(record.value, '$.started_at') AS started_at,
        json_extract(record.value, '$.duration_ms') AS duration_ms,
        json_extract(record.value, '$.status') AS status,
        json_extract(record.value, '$.error') AS error,
        json_extract(record.value, '$.lines') AS lines,
        json_extract(record.value, '$.input') AS input,
        json_extract(record.value, '$.event') AS event,
        json_extract(record.value, '$.result') AS result,
        json_extract(record.value, '$.attempt') AS attempt,
        json_extract(record.value, '$.retry_of') AS retry_of
    FROM run_batches AS batch, json_each(batch.records) AS record;",
];

/// Applies every migration newer than the database's version, each in its own transaction.
/// `busy` is the connection's usual busy timeout, restored afterwards.
pub fn apply(connection: &mut Connection, busy: Duration) -> rusqlite::Result<()> {
    let version =
        |connection: &Connection| connection.query_row("PRAGMA user_version", [], |row| row.get::<_, usize>(0));
    let start = version(connection)?;
    if start >= MIGRATIONS.len() {
        return Ok(());
    }
    connection.busy_timeout(WAIT_FOR_MIGRATION)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        // The write lock first, then the version: of two connections opening one old store at
        // once (the service's and the run log writer's, or two processes), the second waits and
        // then finds the step done, instead of applying it again.
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if version(&transaction)? > index {
            continue;
        }
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", index + 1)?;
        transaction.commit()?;
    }
    connection.busy_timeout(busy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunFilter, Store, StoreError};

    #[test]
    fn migrations_are_idempotent() -> rusqlite::Result<()> {
        let mut connection = Connection::open_in_memory()?;
        apply(&mut connection, Duration::from_secs(5))?;
        apply(&mut connection, Duration::from_secs(5))?;
        let version: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        assert_eq!(version, MIGRATIONS.len());
        Ok(())
    }

    #[test]
    fn stores_opened_at_once_migrate_once() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::CreateDir { path: "tmp".into(), source })?;
        for attempt in 0..5 {
            let path = dir.path().join(format!("s{attempt}.db"));
            let opens: Vec<_> = (0..3)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || Store::open(&path).map(|_| ()))
                })
                .collect();
            for open in opens {
                open.join().expect("the thread ends")?;
            }
            let version: usize = Connection::open(&path)?.query_row("PRAGMA user_version", [], |row| row.get(0))?;
            assert_eq!(version, MIGRATIONS.len());
        }
        Ok(())
    }

    #[test]
    fn the_run_log_keeps_its_records_and_their_order_through_its_rebuilds() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::CreateDir { path: "tmp".into(), source })?;
        let path = dir.path().join("s.db");
        {
            // A store as migration 6 left it, its records written out of start order.
            let connection = Connection::open(&path)?;
            connection.execute_batch(&MIGRATIONS[..6].join("\n"))?;
            connection.pragma_update(None, "user_version", 6)?;
            let mut insert = connection.prepare(
                "INSERT INTO runs (id, script, trigger, detail, started_at, duration_ms, status, lines, input, event)
                 VALUES (?1, 'job', 'manual', '', ?2, 1.0, 'ok', '[]', ?3, '{}')",
            )?;
            for (id, started_at, input) in [
                ("run-b", "2025-01-01T00:00:02Z", "{\"n\": 1}"),
                ("run-d", "2025-01-01T00:00:03Z", "{}"),
                ("run-a", "2025-01-01T00:00:01Z", "{}"),
                ("run-c", "2025-01-01T00:00:03Z", "{not json"),
            ] {
                insert.execute([id, started_at, input])?;
            }
        }
        let store = Store::open(&path)?;
        let listed = store.runs_list(&RunFilter { limit: 10, ..RunFilter::default() })?;
        let ids: Vec<String> = listed.into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["run-d", "run-c", "run-b", "run-a"], "newest first, as before");
        let kept = store.run_get("run-b")?;
        assert_eq!(
            kept.map(|r| (r.started_at, r.input)),
            Some(("2025-01-01T00:00:02Z".into(), serde_json::json!({"n": 1})))
        );
        // Text that was not JSON is kept, as a string.
        assert_eq!(store.run_get("run-c")?.map(|r| r.input), Some(serde_json::json!("{not json")));
        let connection = store.lock();
        let batch: (usize, String, String, String, String) = connection.query_row(
            "SELECT count, first_id, last_id, latest_start, scripts FROM run_batches",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
        )?;
        assert_eq!(batch, (4, "run-a".into(), "run-d".into(), "2025-01-01T00:00:03Z".into(), "[\"job\"]".into()));
        let tables: Vec<String> = connection
            .prepare("SELECT type || ' ' || name FROM sqlite_schema WHERE name LIKE 'run%' ORDER BY name")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        assert_eq!(tables, ["table run_batches", "view runs"]);
        Ok(())
    }

    #[test]
    fn a_long_run_log_becomes_batches_in_write_order() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::CreateDir { path: "tmp".into(), source })?;
        let path = dir.path().join("s.db");
        {
            let connection = Connection::open(&path)?;
            connection.execute_batch(&MIGRATIONS[..7].join("\n"))?;
            connection.pragma_update(None, "user_version", 7)?;
            connection.execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1030)
                 INSERT INTO runs (id, script, trigger, detail, started_at, duration_ms, status, lines, input, event)
                 SELECT printf('run-%04d', i), 'job', 'manual', '', '2025-01-01T00:00:00Z', 1.0, 'ok', '[]', '{}', '{}'
                 FROM n;",
            )?;
        }
        let store = Store::open(&path)?;
        let listed = store.runs_list(&RunFilter { limit: 2000, ..RunFilter::default() })?;
        let ids: Vec<String> = listed.into_iter().map(|r| r.id).collect();
        let expected: Vec<String> = (1..=1030).rev().map(|i| format!("run-{i:04}")).collect();
        assert_eq!(ids, expected);
        let counts: Vec<usize> = store
            .lock()
            .prepare("SELECT count FROM run_batches ORDER BY seq")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        assert_eq!(counts, [511, 512, 7]);
        Ok(())
    }
}
