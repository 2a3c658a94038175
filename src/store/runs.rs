//! The `runs` table: the run log. Written in batches by `runlog`, read by `switchboard runs` and
//! the admin API, pruned by age and count. Records are kept in write order (`seq`), which is what
//! "newest" means here: a long run that started early is newer than a short one it outlasted.

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

/// A record ready to be written: its JSON columns already serialized (and redacted) as text; the
/// record's own `lines`, `input` and `event` are not read.
#[derive(Debug)]
pub struct RunRow {
    pub record: RunRecord,
    pub lines: String,
    pub input: String,
    pub event: String,
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
    /// Writes a batch of records in one transaction, after every record already there. A record
    /// written again under the same id replaces the first and moves to the end.
    pub fn runs_insert(&self, rows: &[RunRow]) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(&format!(
                "INSERT OR REPLACE INTO runs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))?;
            for row in rows {
                let r = &row.record;
                insert.execute(params![
                    r.id,
                    r.script,
                    r.trigger,
                    r.detail,
                    r.started_at,
                    r.duration_ms,
                    r.status,
                    r.error,
                    row.lines,
                    row.input,
                    row.event,
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
             ORDER BY seq DESC LIMIT ?4"
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
        // The ids that start with `id` lie between it and it followed by 0xff (a byte no UTF-8
        // text contains), a range of the id index.
        let mut statement = connection
            .prepare(&format!("SELECT {COLUMNS} FROM runs WHERE id >= ?1 AND id < ?1 || x'ff' ORDER BY id LIMIT 2"))?;
        let matches: Vec<RunRecord> = statement.query_map(params![id], record)?.collect::<Result<_, _>>()?;
        Ok(if matches.len() == 1 { matches.into_iter().next() } else { None })
    }

    /// Deletes the oldest records: those that started before `before` (RFC 3339), and all but
    /// the newest `keep`. Returns how many it deleted. Both work in write order and cost only the
    /// records they delete, never a walk over the ones kept:
    ///
    /// - by age, the records written before the first one that started at or after `before`. A
    ///   record that started earlier but was written later (a long run) stays until the records
    ///   written before it are old too.
    /// - by count, the records more than `keep` seqs behind the newest. A record written twice
    ///   leaves a gap in seq, so after such a rewrite slightly fewer than `keep` may remain.
    pub fn runs_prune(&self, before: &str, keep: usize) -> Result<usize, StoreError> {
        let connection = self.lock();
        // When no record is that recent, every record started before `before`: all go.
        let old = connection.execute(
            "DELETE FROM runs WHERE seq < coalesce(
                (SELECT seq FROM runs WHERE started_at >= ?1 ORDER BY seq LIMIT 1),
                (SELECT max(seq) FROM runs) + 1)",
            params![before],
        )?;
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let extra =
            connection.execute("DELETE FROM runs WHERE seq <= (SELECT max(seq) FROM runs) - ?1", params![keep])?;
        Ok(old + extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> Result<(tempfile::TempDir, Store), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::CreateDir { path: "tmp".into(), source })?;
        let store = Store::open(&dir.path().join("s.db"))?;
        Ok((dir, store))
    }

    fn row(id: &str, started_at: &str) -> RunRow {
        let record = RunRecord {
            id: id.to_string(),
            script: "job".to_string(),
            trigger: "manual".to_string(),
            detail: String::new(),
            started_at: started_at.to_string(),
            duration_ms: 1.5,
            status: "ok".to_string(),
            error: None,
            lines: serde_json::Value::Null,
            input: serde_json::Value::Null,
            event: serde_json::Value::Null,
            result: None,
            attempt: 1,
            retry_of: None,
        };
        RunRow { record, lines: "[]".to_string(), input: "{}".to_string(), event: "{}".to_string() }
    }

    /// Records `run-000` .. `run-{count - 1}`, one a second from midnight, written in batches of 7.
    fn write(store: &Store, count: usize) -> Result<(), StoreError> {
        let rows: Vec<RunRow> = (0..count)
            .map(|n| row(&format!("run-{n:03}"), &format!("2025-01-01T00:{:02}:{:02}Z", n / 60, n % 60)))
            .collect();
        rows.chunks(7).try_for_each(|batch| store.runs_insert(batch))
    }

    fn ids(store: &Store) -> Result<Vec<String>, StoreError> {
        let all = store.runs_list(&RunFilter { limit: 1000, ..RunFilter::default() })?;
        Ok(all.into_iter().map(|r| r.id).collect())
    }

    #[test]
    fn lists_newest_written_first_and_a_rewrite_replaces() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        // A long run that started first but ended (and was written) last is the newest.
        store.runs_insert(&[row("short", "2025-01-01T00:00:02Z"), row("other", "2025-01-01T00:00:03Z")])?;
        store.runs_insert(&[row("long", "2025-01-01T00:00:01Z")])?;
        assert_eq!(ids(&store)?, ["long", "other", "short"]);
        let mut again = row("short", "2025-01-01T00:00:02Z");
        again.record.status = "error".to_string();
        store.runs_insert(&[again])?;
        assert_eq!(ids(&store)?, ["short", "long", "other"]);
        assert_eq!(store.run_get("short")?.map(|r| r.status), Some("error".to_string()));
        let since = RunFilter { since: Some("2025-01-01T00:00:02Z".into()), limit: 10, ..RunFilter::default() };
        let recent: Vec<String> = store.runs_list(&since)?.into_iter().map(|r| r.id).collect();
        assert_eq!(recent, ["short", "other"]);
        let one = RunFilter { limit: 1, ..RunFilter::default() };
        assert_eq!(store.runs_list(&one)?.len(), 1);
        Ok(())
    }

    #[test]
    fn gets_by_id_or_unique_prefix() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        store.runs_insert(&[
            row("0194aaaa-1111", "2025-01-01T00:00:01Z"),
            row("0194aaaa-2222", "2025-01-01T00:00:02Z"),
            row("0194bbbb-3333", "2025-01-01T00:00:03Z"),
        ])?;
        let get = |id: &str| store.run_get(id).map(|r| r.map(|r| r.id));
        assert_eq!(get("0194aaaa-1111")?.as_deref(), Some("0194aaaa-1111"));
        assert_eq!(get("0194bbbb")?.as_deref(), Some("0194bbbb-3333"));
        assert_eq!(get("0194aaaa-2")?.as_deref(), Some("0194aaaa-2222"));
        assert_eq!(get("0194aaaa")?, None, "ambiguous");
        assert_eq!(get("0194bbb")?, None, "shorter than 8 characters");
        assert_eq!(get("0194____-3")?, None, "no wildcards");
        assert_eq!(get("0194cccc")?, None);
        Ok(())
    }

    #[test]
    fn pruning_by_count_keeps_exactly_the_newest() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        write(&store, 25)?;
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", 10)?, 15);
        let expected: Vec<String> = (15..25).rev().map(|n| format!("run-{n:03}")).collect();
        assert_eq!(ids(&store)?, expected);
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", 10)?, 0);
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", usize::MAX)?, 0);
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", 0)?, 10);
        assert_eq!(ids(&store)?, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn pruning_by_age_removes_the_old_in_write_order() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        write(&store, 20)?;
        assert_eq!(store.runs_prune("2025-01-01T00:00:12Z", 100)?, 12);
        let expected: Vec<String> = (12..20).rev().map(|n| format!("run-{n:03}")).collect();
        assert_eq!(ids(&store)?, expected);
        // A long run written after younger records waits for them to age.
        store.runs_insert(&[row("long", "2025-01-01T00:00:00Z"), row("last", "2025-01-01T00:01:00Z")])?;
        assert_eq!(store.runs_prune("2025-01-01T00:00:15Z", 100)?, 3);
        assert_eq!(store.run_get("long")?.map(|r| r.id).as_deref(), Some("long"));
        assert_eq!(store.runs_prune("2025-01-01T00:00:30Z", 100)?, 6);
        assert_eq!(ids(&store)?, ["last"]);
        // When every record is old, all go.
        assert_eq!(store.runs_prune("2025-01-02T00:00:00Z", 100)?, 1);
        assert_eq!(store.runs_prune("2025-01-02T00:00:00Z", 100)?, 0);
        Ok(())
    }
}
