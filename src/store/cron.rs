//! The `cron_state` table: when each cron job last fired, so `catch_up` knows what was missed.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

impl Store {
    /// The scheduled time the job `name` last fired for.
    pub fn cron_last(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<String> = self
            .lock()
            .query_row("SELECT last_scheduled_at FROM cron_state WHERE name = ?1", params![name], |row| row.get(0))
            .optional()?;
        Ok(text.and_then(|text| DateTime::parse_from_rfc3339(&text).ok()).map(|t| t.with_timezone(&Utc)))
    }
}

/// Records on `connection` that the job `name` fired for `scheduled_at`, inside the transaction
/// that queues the firing, so neither is stored without the other.
pub(super) fn mark_fired(
    connection: &rusqlite::Connection,
    name: &str,
    scheduled_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO cron_state (name, last_scheduled_at) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET last_scheduled_at = excluded.last_scheduled_at",
        params![name, scheduled_at.to_rfc3339()],
    )?;
    Ok(())
}
