//! The `events` table: emitted events waiting for, or done with, their subscribers.

use super::{Store, StoreError};
use rusqlite::params;
use serde_json::Value;

/// An event as stored.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub id: i64,
    pub name: String,
    pub data: Value,
    pub source_run: String,
}

impl Store {
    /// Stores the events one run emitted, in order, in one transaction.
    pub fn events_enqueue(&self, source_run: &str, events: &[(String, Value)]) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        insert(&transaction, source_run, events)?;
        transaction.commit()?;
        Ok(())
    }

    /// Undelivered events, oldest first; `source_run` narrows them to one run's.
    pub fn events_pending(&self, source_run: Option<&str>, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT id, name, data, source_run FROM events
             WHERE delivered_at IS NULL AND (?1 IS NULL OR source_run = ?1) ORDER BY id LIMIT ?2",
        )?;
        let rows = statement.query_map(params![source_run, i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (id, name, data, source_run) = row?;
            events.push(StoredEvent { id, name, data: crate::json::read(&data)?, source_run });
        }
        Ok(events)
    }

    /// Marks an event as handed to all its subscribers.
    pub fn event_delivered(&self, id: i64) -> Result<(), StoreError> {
        delivered(&self.lock(), id)
    }
}

/// Stores the events one run emitted on `connection`, inside the caller's transaction.
pub(super) fn insert(
    connection: &rusqlite::Connection,
    source_run: &str,
    events: &[(String, Value)],
) -> Result<(), StoreError> {
    let mut statement = connection.prepare_cached("INSERT INTO events (name, data, source_run) VALUES (?1, ?2, ?3)")?;
    for (name, data) in events {
        statement.execute(params![name, data.to_string(), source_run])?;
    }
    Ok(())
}

/// Marks an event as handed to all its subscribers on `connection`, inside the caller's transaction
/// if it has one.
pub(super) fn delivered(connection: &rusqlite::Connection, id: i64) -> Result<(), StoreError> {
    connection
        .prepare_cached("UPDATE events SET delivered_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1")?
        .execute(params![id])?;
    Ok(())
}
