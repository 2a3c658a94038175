//! The `queue` table: durable work items. Inserted (in batches) before a request is answered,
//! claimed by workers, rescheduled for retries, deleted when done, kept when dead. What becomes of
//! an item after an attempt is committed in the same transaction as the attempt's run log record
//! and events, so an item is done exactly when its record is stored.

use super::{RecordText, Store, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

/// One queued piece of work.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueItem {
    /// Also the run id of the first attempt.
    pub id: String,
    pub script: String,
    pub input: Value,
    pub event: Value,
    /// What queued it: `POST /hooks/x`, `cron digest`...
    pub source: String,
    /// Attempts started so far.
    pub attempts: u32,
    pub max_attempts: u32,
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub timeout_ms: Option<u64>,
    pub max_operations: Option<u64>,
    pub on_error: Option<String>,
    /// RFC 3339: not claimed before this time.
    pub not_before: String,
    pub enqueued_at: String,
}

/// What becomes of a queued item after an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Settle {
    /// It succeeded: the item is deleted.
    Done,
    /// It failed and runs again at `not_before` (RFC 3339).
    Retry { not_before: String, error: String },
    /// Its last attempt failed: the item stays, marked dead, for inspection.
    Dead { error: String },
}

/// One finished attempt of a queued item, committed with its run log record.
#[derive(Debug)]
pub struct Attempt {
    /// The queued item.
    pub item: String,
    /// The attempt's run id, the source of its events.
    pub run_id: String,
    /// The events of the run (none if it failed).
    pub events: Vec<(String, Value)>,
    pub settle: Settle,
}

fn apply(connection: &Connection, id: &str, settle: &Settle) -> Result<(), StoreError> {
    match settle {
        Settle::Done => connection.prepare_cached("DELETE FROM queue WHERE id = ?1")?.execute(params![id])?,
        Settle::Retry { not_before, error } => connection
            .prepare_cached("UPDATE queue SET state = 'pending', not_before = ?2, last_error = ?3 WHERE id = ?1")?
            .execute(params![id, not_before, error])?,
        Settle::Dead { error } => connection
            .prepare_cached("UPDATE queue SET state = 'dead', last_error = ?2 WHERE id = ?1")?
            .execute(params![id, error])?,
    };
    Ok(())
}

const COLUMNS: &str = "id, script, input, event, source, attempts, max_attempts, backoff_ms, max_backoff_ms, \
                       timeout_ms, max_operations, on_error, not_before, enqueued_at";

fn item(row: &Row<'_>) -> rusqlite::Result<QueueItem> {
    let json = |index: usize| -> rusqlite::Result<Value> {
        let text: String = row.get(index)?;
        Ok(crate::json::read(&text).unwrap_or(Value::Null))
    };
    Ok(QueueItem {
        id: row.get(0)?,
        script: row.get(1)?,
        input: json(2)?,
        event: json(3)?,
        source: row.get(4)?,
        attempts: row.get(5)?,
        max_attempts: row.get(6)?,
        backoff_ms: row.get(7)?,
        max_backoff_ms: row.get(8)?,
        timeout_ms: row.get(9)?,
        max_operations: row.get(10)?,
        on_error: row.get(11)?,
        not_before: row.get(12)?,
        enqueued_at: row.get(13)?,
    })
}

impl Store {
    /// Inserts items in one transaction, with the cron firings (job name, occurrence) they carry
    /// out; when this returns they survive a crash.
    pub fn queue_insert(
        &self,
        items: &[QueueItem],
        fired: &[(String, chrono::DateTime<chrono::Utc>)],
    ) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(&format!(
                "INSERT INTO queue ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))?;
            for i in items {
                insert.execute(params![
                    i.id,
                    i.script,
                    i.input.to_string(),
                    i.event.to_string(),
                    i.source,
                    i.attempts,
                    i.max_attempts,
                    i.backoff_ms,
                    i.max_backoff_ms,
                    i.timeout_ms,
                    i.max_operations,
                    i.on_error,
                    i.not_before,
                    i.enqueued_at
                ])?;
            }
        }
        for (name, scheduled_at) in fired {
            super::cron::mark_fired(&transaction, name, *scheduled_at)?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Claims the oldest pending item due at `now` (RFC 3339), counting the attempt. While it runs,
    /// `not_before` holds when it was claimed: the start of an attempt a crash may interrupt.
    pub fn queue_claim(&self, now: &str) -> Result<Option<QueueItem>, StoreError> {
        Ok(self
            .lock()
            .query_row(
                &format!(
                    "UPDATE queue SET state = 'running', attempts = attempts + 1, not_before = ?1
                     WHERE id = (SELECT id FROM queue WHERE state = 'pending' AND not_before <= ?1
                                 ORDER BY not_before, enqueued_at LIMIT 1)
                     RETURNING {COLUMNS}"
                ),
                params![now],
                item,
            )
            .optional()?)
    }

    /// Applies `settle` to item `id` on its own, for an attempt that has no record to go with it.
    pub fn queue_settle(&self, id: &str, settle: &Settle) -> Result<(), StoreError> {
        apply(&self.lock(), id, settle)
    }

    /// Writes `records` as one run log batch and, in the same transaction, the events and the new
    /// state of every queued attempt in `attempts`, and marks the events `delivered` (their
    /// subscribers' records are among these or earlier ones): when this returns, each attempt's
    /// record, its events and what became of its item are stored together, or none of them is.
    pub fn runs_commit(
        &self,
        records: &[RecordText],
        attempts: &[Attempt],
        delivered: &[i64],
    ) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        super::runs::insert_batch(&transaction, records)?;
        for attempt in attempts {
            super::events::insert(&transaction, &attempt.run_id, &attempt.events)?;
            apply(&transaction, &attempt.item, &attempt.settle)?;
        }
        for id in delivered {
            super::events::delivered(&transaction, *id)?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Puts the items that were running when the process stopped back in line. Their attempts
    /// ended without a record (it is committed with the item's state), so each gets one now, from
    /// `interrupted` (status `interrupted`), in the same transaction: every attempt has exactly
    /// one record, and the item runs again as its next attempt. Returns their ids.
    pub fn queue_recover(
        &self,
        interrupted: impl Fn(&QueueItem) -> Option<RecordText>,
    ) -> Result<Vec<String>, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        let items: Vec<QueueItem> = {
            let mut statement =
                transaction.prepare(&format!("SELECT {COLUMNS} FROM queue WHERE state = 'running' ORDER BY id"))?;
            statement.query_map([], item)?.collect::<Result<_, _>>()?
        };
        let records: Vec<RecordText> = items.iter().filter_map(&interrupted).collect();
        super::runs::insert_batch(&transaction, &records)?;
        transaction.execute("UPDATE queue SET state = 'pending' WHERE state = 'running'", [])?;
        transaction.commit()?;
        Ok(items.into_iter().map(|item| item.id).collect())
    }

    /// Items waiting or running.
    pub fn queue_depth(&self) -> Result<i64, StoreError> {
        Ok(self.lock().query_row("SELECT count(*) FROM queue WHERE state != 'dead'", [], |row| row.get(0))?)
    }

    /// When the next pending item becomes due (RFC 3339).
    pub fn queue_next_due(&self) -> Result<Option<String>, StoreError> {
        Ok(self.lock().query_row("SELECT min(not_before) FROM queue WHERE state = 'pending'", [], |row| row.get(0))?)
    }
}
