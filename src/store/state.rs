//! The `state` table: JSON values under string keys, kept across runs and restarts.

use super::{Store, StoreError};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

/// Why a counter could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum IncrError {
    #[error("`{key}` holds {held}, not an integer")]
    NotAnInteger { key: String, held: String },
    #[error("`{key}` would pass the largest integer ({value} + {by})")]
    Overflow { key: String, value: i64, by: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// The value stored under `key`.
    pub fn state_get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        Ok(self.state_text(key)?.map(|text| crate::json::read(&text)).transpose()?)
    }

    /// The JSON text stored under `key`, as [`Store::state_swap`] compares it.
    pub fn state_text(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .query_row("SELECT value FROM state WHERE key = ?1", params![key], |row| row.get(0))
            .optional()?)
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn state_set(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        upsert(&self.lock(), key, value)
    }

    /// Adds `by` to the integer under `key` (0 when there is none) in one write transaction, so
    /// concurrent runs and processes never lose a count; returns the new value.
    pub fn state_incr(&self, key: &str, by: i64) -> Result<i64, IncrError> {
        let mut connection = self.lock();
        let transaction =
            connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let text: Option<String> = transaction
            .query_row("SELECT value FROM state WHERE key = ?1", params![key], |row| row.get(0))
            .optional()
            .map_err(StoreError::from)?;
        let value = match text.as_deref().map(crate::json::read).transpose().map_err(StoreError::from)? {
            None | Some(Value::Null) => 0,
            Some(held) => {
                held.as_i64().ok_or_else(|| IncrError::NotAnInteger { key: key.into(), held: held.to_string() })?
            }
        };
        let next = value.checked_add(by).ok_or(IncrError::Overflow { key: key.into(), value, by })?;
        upsert(&transaction, key, &Value::from(next))?;
        transaction.commit().map_err(StoreError::from)?;
        Ok(next)
    }

    /// Stores `new` under `key` only if the key still holds the text `old` (`None`: is absent),
    /// as one statement; false when another writer changed it first.
    pub fn state_swap(&self, key: &str, old: Option<&str>, new: &Value) -> Result<bool, StoreError> {
        let connection = self.lock();
        let changed = match old {
            None => connection.execute(
                "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, new.to_string()],
            )?,
            Some(old) => connection.execute(
                "UPDATE state SET value = ?3, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE key = ?1 AND value = ?2",
                params![key, old, new.to_string()],
            )?,
        };
        Ok(changed > 0)
    }

    /// Removes `key`; true if it existed.
    pub fn state_remove(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.lock().execute("DELETE FROM state WHERE key = ?1", params![key])? > 0)
    }

    /// Every key starting with `prefix`, in order.
    pub fn state_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let connection = self.lock();
        let mut statement =
            connection.prepare("SELECT key FROM state WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")?;
        let keys = statement.query_map(params![prefix], |row| row.get(0))?.collect::<Result<_, _>>()?;
        Ok(keys)
    }
}

fn upsert(connection: &rusqlite::Connection, key: &str, value: &Value) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        params![key, value.to_string()],
    )?;
    Ok(())
}
