//! The `state` table: JSON values under string keys, kept across runs and restarts.

use super::{Store, StoreError};
use rusqlite::{OptionalExtension, params};
use serde_json::Value;

impl Store {
    /// The value stored under `key`.
    pub fn state_get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        let text: Option<String> = self
            .lock()
            .query_row("SELECT value FROM state WHERE key = ?1", params![key], |row| row.get(0))
            .optional()?;
        Ok(text.map(|text| crate::json::read(&text)).transpose()?)
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn state_set(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            params![key, value.to_string()],
        )?;
        Ok(())
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
