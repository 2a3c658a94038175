//! The `runs` table: the run log. Written in batches by `runlog`, read by `switchboard runs` and
//! the admin API, pruned by age and count.

use super::{Store, StoreError};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

/// One record of the run log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRecord {
    pub id: String,
    pub script: String,
    /// `http`, `cron`, `watch`, `event`, `call`, `manual`, `queue`, `repl`.
    pub trigger: String,
    /// The route, cron job name, file path or event name that started it.
    pub detail: String,
    /// RFC 3339.
    pub started_at: String,
    pub duration_ms: f64,
    /// `ok`, `error`, `timeout`, `interrupted`, `skipped` or `dead`.
    pub status: String,
    /// The error with its file:line:column, when the run failed.
    pub error: Option<String>,
    /// Printed and logged lines as a JSON array of `{level, text}`.
    pub lines: serde_json::Value,
    /// The full input (JSON), kept so the run can be retried.
    pub input: serde_json::Value,
    /// The event map (JSON).
    pub event: serde_json::Value,
    /// The result, shortened.
    pub result: Option<String>,
    /// 1 for a first attempt; higher for retries of queued work.
    pub attempt: u32,
    /// The queued item this run is an attempt of.
    pub retry_of: Option<String>,
}

/// Which records `runs_list` returns, newest first.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub script: Option<String>,
    pub status: Option<String>,
    /// RFC 3339; only runs that started at or after it.
    pub since: Option<String>,
    pub limit: usize,
}

const COLUMNS: &str = "id, script, trigger, detail, started_at, duration_ms, status, error, lines, input, event, result, attempt, retry_of";

fn record(row: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let json = |index: usize| -> rusqlite::Result<serde_json::Value> {
        let text: String = row.get(index)?;
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    };
    Ok(RunRecord {
        id: row.get(0)?,
        script: row.get(1)?,
        trigger: row.get(2)?,
        detail: row.get(3)?,
        started_at: row.get(4)?,
        duration_ms: row.get(5)?,
        status: row.get(6)?,
        error: row.get(7)?,
        lines: json(8)?,
        input: json(9)?,
        event: json(10)?,
        result: row.get(11)?,
        attempt: row.get(12)?,
        retry_of: row.get(13)?,
    })
}

impl Store {
    /// Writes a batch of records in one transaction.
    pub fn runs_insert(&self, records: &[RunRecord]) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(&format!(
                "INSERT OR REPLACE INTO runs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))?;
            for r in records {
                insert.execute(params![
                    r.id,
                    r.script,
                    r.trigger,
                    r.detail,
                    r.started_at,
                    r.duration_ms,
                    r.status,
                    r.error,
                    r.lines.to_string(),
                    r.input.to_string(),
                    r.event.to_string(),
                    r.result,
                    r.attempt,
                    r.retry_of
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Records matching `filter`, newest first.
    pub fn runs_list(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM runs
             WHERE (?1 IS NULL OR script = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR started_at >= ?3)
             ORDER BY started_at DESC, id DESC LIMIT ?4"
        ))?;
        let limit = i64::try_from(filter.limit.max(1)).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![filter.script, filter.status, filter.since, limit], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One record by id (a unique prefix of at least 8 characters is enough).
    pub fn run_get(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let connection = self.lock();
        let exact = connection
            .query_row(&format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"), params![id], record)
            .optional()?;
        if exact.is_some() || id.len() < 8 {
            return Ok(exact);
        }
        let mut statement =
            connection.prepare(&format!("SELECT {COLUMNS} FROM runs WHERE id LIKE ?1 || '%' ORDER BY id LIMIT 2"))?;
        let matches: Vec<RunRecord> = statement.query_map(params![id], record)?.collect::<Result<_, _>>()?;
        Ok(if matches.len() == 1 { matches.into_iter().next() } else { None })
    }

    /// Deletes records that started before `before` (RFC 3339) and all but the newest `keep`.
    pub fn runs_prune(&self, before: &str, keep: usize) -> Result<usize, StoreError> {
        let connection = self.lock();
        let old = connection.execute("DELETE FROM runs WHERE started_at < ?1", params![before])?;
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let extra = connection.execute(
            "DELETE FROM runs WHERE id IN (SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT -1 OFFSET ?1)",
            params![keep],
        )?;
        Ok(old + extra)
    }
}
