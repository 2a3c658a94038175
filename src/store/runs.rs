//! The run log: written in batches by `runlog`, read by `switchboard runs` and the admin API,
//! pruned by age and count. Each batch is one row of `run_batches`, its records a JSON array in
//! write order, which is what "newest" means here: a long run that started early is newer than a
//! short one it outlasted. Reads skip batches by what each row says it holds (scripts, statuses,
//! latest start, id range) and decode only the rest.

use super::{Store, StoreError};
use crate::json::write;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeSet;
use std::ops::Range;

/// One record of the run log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// The result, shortened: JSON text (the script's value), or `status body` for a result
    /// given with `response(...)`.
    #[serde(deserialize_with = "result_text", default)]
    pub result: Option<String>,
    /// 1 for a first attempt; higher for retries of queued work.
    pub attempt: u32,
    /// The queued item this run is an attempt of.
    pub retry_of: Option<String>,
}

/// The fields of a record in the order they are written: first the four its batch's row reads
/// (see [`RecordText`]), last what the run printed, was given and returned. `C` holds the lines,
/// input and event: JSON text already written where the run ran (`&RawValue`), or values.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RecordFields<'a, C> {
    pub id: &'a str,
    pub script: &'a str,
    pub status: &'a str,
    pub started_at: &'a str,
    pub trigger: &'a str,
    pub detail: &'a str,
    pub duration_ms: f64,
    pub error: Option<&'a str>,
    pub attempt: u32,
    pub retry_of: Option<&'a str>,
    pub lines: C,
    pub input: C,
    pub event: C,
    pub result: Option<StoredResult<'a>>,
}

/// A result as its record keeps it: a whole object or array as that JSON (escaping it into a
/// string would cost every run more than writing it), anything else as a string holding its text.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(untagged)]
pub enum StoredResult<'a> {
    Json(&'a RawValue),
    Text(&'a str),
}

/// One record as JSON text (an object with the fields of [`RunRecord`]), written once where the
/// run ran and copied whole into its batch, with where its batch's row reads the id, script,
/// status and start time from.
#[derive(Debug)]
pub struct RecordText {
    json: String,
    /// The id, script, status and start time, as escaped in `json`.
    head: [Range<usize>; 4],
}

impl RecordText {
    /// Writes the record of a run, its parts as they were written. By hand (`json::write`), not
    /// through `Serialize`: serde_json's string escaping and per-field calls cost a hello request
    /// a tenth of its instructions more. A test holds both writers to the same text.
    pub fn new(fields: &RecordFields<'_, &RawValue>) -> Self {
        let parts = [(",\"lines\":", fields.lines), (",\"input\":", fields.input), (",\"event\":", fields.event)];
        let result = match fields.result {
            Some(StoredResult::Json(json)) => json.get().len(),
            Some(StoredResult::Text(text)) => text.len(),
            None => 0,
        };
        let mut out =
            String::with_capacity(parts.iter().map(|(_, part)| part.get().len()).sum::<usize>() + result + 320);
        let head = [
            quoted(&mut out, "{\"id\":", fields.id),
            quoted(&mut out, ",\"script\":", fields.script),
            quoted(&mut out, ",\"status\":", fields.status),
            quoted(&mut out, ",\"started_at\":", fields.started_at),
        ];
        write::push_field(&mut out, ",\"trigger\":", Some(fields.trigger));
        write::push_field(&mut out, ",\"detail\":", Some(fields.detail));
        out.push_str(",\"duration_ms\":");
        write::push_f64(&mut out, fields.duration_ms);
        write::push_field(&mut out, ",\"error\":", fields.error);
        out.push_str(",\"attempt\":");
        write::push_int(&mut out, fields.attempt);
        write::push_field(&mut out, ",\"retry_of\":", fields.retry_of);
        for (name, part) in parts {
            out.push_str(name);
            out.push_str(part.get());
        }
        match fields.result {
            Some(StoredResult::Json(json)) => {
                out.push_str(",\"result\":");
                out.push_str(json.get());
            }
            Some(StoredResult::Text(text)) => write::push_field(&mut out, ",\"result\":", Some(text)),
            None => write::push_field(&mut out, ",\"result\":", None),
        }
        out.push('}');
        Self { json: out, head }
    }

    /// Writes a record from its fields through `Serialize`, with where its head lies found.
    fn serialized<C: Serialize>(fields: &RecordFields<'_, C>) -> Self {
        // Strings, numbers, raw JSON and JSON values: nothing serde_json can fail to write, and
        // were it to, the batch holds a `null` its readers skip.
        let json = serde_json::to_string(fields).unwrap_or_else(|err| {
            tracing::error!("a run log record could not be written: {err}");
            "null".into()
        });
        let head = head(&json);
        Self { json, head }
    }

    /// Writes a record given whole (a skipped cron occurrence, an attempt a crash cut short).
    pub fn of(record: &RunRecord) -> Self {
        // A record given whole may hold a result that was shortened, so no longer JSON.
        let result = record.result.as_deref().map(|text| match serde_json::from_str::<&RawValue>(text) {
            Ok(json) if text.starts_with(['{', '[']) => StoredResult::Json(json),
            _ => StoredResult::Text(text),
        });
        Self::serialized(&RecordFields {
            id: &record.id,
            script: &record.script,
            status: &record.status,
            started_at: &record.started_at,
            trigger: &record.trigger,
            detail: &record.detail,
            duration_ms: record.duration_ms,
            error: record.error.as_deref(),
            attempt: record.attempt,
            retry_of: record.retry_of.as_deref(),
            lines: &record.lines,
            input: &record.input,
            event: &record.event,
            result,
        })
    }

    /// The record's JSON text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The record read back.
    #[cfg(test)]
    pub fn record(&self) -> serde_json::Result<RunRecord> {
        crate::json::read(&self.json)
    }

    // The fields a batch's row keeps beside its records, as escaped in the JSON text.

    fn id(&self) -> &str {
        &self.json[self.head[0].clone()]
    }

    fn script(&self) -> &str {
        &self.json[self.head[1].clone()]
    }

    fn status(&self) -> &str {
        &self.json[self.head[2].clone()]
    }

    fn started_at(&self) -> &str {
        &self.json[self.head[3].clone()]
    }
}

/// Where the id, script, status and start time lie in a record's text, as escaped there: the
/// record begins with them, in that order (`{"id":"…","script":"…",…`), each ending at its
/// closing quote. Found rather than copied out, so a record is one allocation.
fn head(json: &str) -> [Range<usize>; 4] {
    let bytes = json.as_bytes();
    let mut head = [0..0, 0..0, 0..0, 0..0];
    // At the `{` or `,` before each name.
    let mut at = 0;
    for (range, name) in head.iter_mut().zip(["id", "script", "status", "started_at"]) {
        // The name's quotes, the colon and the value's opening quote.
        let start = at + name.len() + 5;
        let mut end = start;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        if end >= bytes.len() {
            break;
        }
        *range = start..end;
        at = end + 1;
    }
    head
}

/// A record's result read back as text: stored as a JSON string, or as the JSON itself.
fn result_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => Some(text),
        Some(json) => Some(json.to_string()),
    })
}

/// Appends `"name":"value"` (`name` with its leading comma or brace) and returns where the
/// value's text lies, as escaped, between its quotes.
fn quoted(out: &mut String, prefixed_name: &str, value: &str) -> Range<usize> {
    let start = out.len() + prefixed_name.len() + 1;
    write::push_field(out, prefixed_name, Some(value));
    start..out.len() - 1
}

/// Records a page of the run log holds at most, whatever its filter's limit asks.
pub const MAX_PAGE: usize = 500;
/// About how many bytes of whole records a page holds: the records after them come as summaries,
/// so a page of runs that printed their full `max_output` stays a few MiB.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Longest error a summary keeps.
const SUMMARY_ERROR: usize = 1024;

/// A page of the run log, newest first: the first `whole` records as they are, the rest as
/// summaries (no lines, input, event or result; the error shortened), which `/_/runs/{id}` and
/// `runs show` give whole.
#[derive(Debug, Default)]
pub struct RunPage {
    pub records: Vec<RunRecord>,
    pub whole: usize,
}

impl RunPage {
    /// The page as a JSON array of records, each summary marked `"summary": true`.
    pub fn json(self) -> serde_json::Value {
        let whole = self.whole;
        let records = self.records.into_iter().enumerate().map(|(index, record)| {
            let mut json = serde_json::to_value(record).unwrap_or(serde_json::Value::Null);
            if index >= whole
                && let Some(fields) = json.as_object_mut()
            {
                fields.insert("summary".into(), serde_json::Value::Bool(true));
            }
            json
        });
        serde_json::Value::Array(records.collect())
    }
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

impl RunRecord {
    /// About the length of the record as JSON.
    fn size(&self) -> usize {
        let texts = [&self.id, &self.script, &self.trigger, &self.detail, &self.started_at, &self.status];
        let optional = [&self.error, &self.result, &self.retry_of];
        200 + texts.iter().map(|text| text.len()).sum::<usize>()
            + optional.iter().map(|text| text.as_ref().map_or(0, String::len)).sum::<usize>()
            + [&self.lines, &self.input, &self.event].iter().map(|value| crate::json::approx_len(value)).sum::<usize>()
    }

    /// The record without what a run printed, was given or returned, its error shortened.
    fn summary(mut self) -> Self {
        (self.lines, self.input, self.event, self.result) =
            (serde_json::Value::Null, serde_json::Value::Null, serde_json::Value::Null, None);
        if let Some(error) = &mut self.error
            && error.len() > SUMMARY_ERROR
        {
            let mut cut = SUMMARY_ERROR;
            while !error.is_char_boundary(cut) {
                cut -= 1;
            }
            error.truncate(cut);
            error.push('…');
        }
        self
    }

    fn matches(&self, filter: &RunFilter) -> bool {
        filter.script.as_ref().is_none_or(|script| &self.script == script)
            && filter.status.as_ref().is_none_or(|status| &self.status == status)
            && filter.since.as_ref().is_none_or(|since| &self.started_at >= since)
    }
}

/// The records of one batch, oldest first. A record that cannot be read is reported and
/// skipped, so one damaged (or too deeply nested) record does not hide the rest of its batch,
/// nor a damaged batch the rest of the log.
fn decode(seq: i64, records: &str) -> Vec<RunRecord> {
    // At once, as nearly always; serde_json's own depth limit keeps this pass's recursion short.
    if let Ok(records) = serde_json::from_str(records) {
        return records;
    }
    // Else the batch's array is split into its records' texts, without recursion at any depth,
    // and each record read by itself.
    let texts: Vec<&serde_json::value::RawValue> = serde_json::from_str(records).unwrap_or_else(|err| {
        tracing::warn!("run log batch {seq} cannot be read and is skipped: {err}");
        Vec::new()
    });
    texts
        .into_iter()
        .enumerate()
        .filter_map(|(index, text)| {
            crate::json::read(text.get())
                .map_err(|err| {
                    tracing::warn!("run log batch {seq}, record {index} cannot be read and is skipped: {err}")
                })
                .ok()
        })
        .collect()
}

impl Store {
    /// Writes a batch of records as one row, after every record already there.
    pub fn runs_insert(&self, records: &[RecordText]) -> Result<(), StoreError> {
        insert_batch(&self.lock(), records)
    }

    /// Records matching `filter`, newest first.
    pub fn runs_list(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        self.runs_scan(filter, |record| record)
    }

    /// A page of records matching `filter`, newest first: at most [`MAX_PAGE`] of them, whole up
    /// to about [`PAGE_BYTES`] (the first always), summaries after. Each record is summarized as
    /// its batch is read, so no more than that and one batch is held.
    pub fn runs_page(&self, filter: &RunFilter) -> Result<RunPage, StoreError> {
        let filter = RunFilter { limit: filter.limit.clamp(1, MAX_PAGE), ..filter.clone() };
        let (mut whole, mut bytes, mut full) = (0, 0, false);
        let records = self.runs_scan(&filter, |record| {
            if !full {
                let size = record.size();
                if whole == 0 || bytes + size <= PAGE_BYTES {
                    (whole, bytes) = (whole + 1, bytes + size);
                    return record;
                }
                full = true;
            }
            record.summary()
        })?;
        Ok(RunPage { records, whole })
    }

    /// Records matching `filter`, newest first, each passed through `keep` as its batch is read.
    fn runs_scan(
        &self,
        filter: &RunFilter,
        mut keep: impl FnMut(RunRecord) -> RunRecord,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare_cached(
            "SELECT seq, records FROM run_batches
             WHERE (?1 IS NULL OR EXISTS (SELECT 1 FROM json_each(scripts) WHERE value = ?1))
               AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(statuses) WHERE value = ?2))
               AND (?3 IS NULL OR latest_start >= ?3)
             ORDER BY seq DESC",
        )?;
        let limit = filter.limit.max(1);
        let mut rows = statement.query(params![filter.script, filter.status, filter.since])?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            let records = decode(row.get(0)?, &row.get::<_, String>(1)?);
            let wanted = limit - found.len();
            found.extend(records.into_iter().rev().filter(|record| record.matches(filter)).take(wanted).map(&mut keep));
            if found.len() >= limit {
                break;
            }
        }
        Ok(found)
    }

    /// One record by id (a unique prefix of at least 8 characters is enough). Should an id have
    /// been written twice, the newest record with it is the one returned.
    pub fn run_get(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        // The ids that start with `id` sort between it and it followed by the highest character.
        let upper = format!("{id}\u{10ffff}");
        let connection = self.lock();
        let mut statement = connection.prepare_cached(
            "SELECT seq, records FROM run_batches WHERE first_id <= ?2 AND last_id >= ?1 ORDER BY seq DESC",
        )?;
        let mut rows = statement.query(params![id, upper])?;
        let mut prefixed: Vec<RunRecord> = Vec::new();
        while let Some(row) = rows.next()? {
            for record in decode(row.get(0)?, &row.get::<_, String>(1)?).into_iter().rev() {
                if record.id == id {
                    return Ok(Some(record));
                }
                if id.len() >= 8 && record.id.starts_with(id) && prefixed.iter().all(|other| other.id != record.id) {
                    prefixed.push(record);
                }
            }
        }
        Ok(if prefixed.len() == 1 { prefixed.pop() } else { None })
    }

    /// Deletes the oldest records: those that started before `before` (RFC 3339), and all but
    /// the newest `keep`. Returns how many it deleted. Both delete whole batches in write order
    /// and cost only the batches they delete:
    ///
    /// - by age, the batches written before the first one holding a record that started at or
    ///   after `before`. A record that started earlier but was written later (a long run) stays
    ///   until the records written before it are old too.
    /// - by count, the batches wholly behind the newest `keep` records; so up to one batch more
    ///   than `keep` may remain.
    pub fn runs_prune(&self, before: &str, keep: usize) -> Result<usize, StoreError> {
        let connection = self.lock();
        let deleted = |sql: &str, value: &dyn rusqlite::ToSql| -> Result<usize, StoreError> {
            let mut statement = connection.prepare_cached(sql)?;
            let counts = statement.query_map([value], |row| row.get::<_, usize>(0))?;
            Ok(counts.collect::<Result<Vec<_>, _>>()?.into_iter().sum())
        };
        // When no record is that recent, every batch is old: all go.
        let old = deleted(
            "DELETE FROM run_batches WHERE seq < coalesce(
                (SELECT seq FROM run_batches WHERE latest_start >= ?1 ORDER BY seq LIMIT 1),
                (SELECT max(seq) FROM run_batches) + 1)
             RETURNING count",
            &before,
        )?;
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        // The oldest batch to keep is the first, counting back from the newest, by which `keep`
        // records are reached; none is kept when `keep` is 0.
        let extra = deleted(
            "DELETE FROM run_batches WHERE ?1 = 0 OR seq < (
                SELECT seq FROM (SELECT seq, sum(count) OVER (ORDER BY seq DESC) AS newer FROM run_batches)
                WHERE newer >= ?1 ORDER BY seq DESC LIMIT 1)
             RETURNING count",
            &keep,
        )?;
        Ok(old + extra)
    }
}

/// Writes `records` as one row of `run_batches` on `connection`, inside the caller's transaction
/// if it has one.
pub(super) fn insert_batch(connection: &rusqlite::Connection, records: &[RecordText]) -> Result<(), StoreError> {
    let (Some(first), Some(last)) =
        (records.iter().map(RecordText::id).min(), records.iter().map(RecordText::id).max())
    else {
        return Ok(());
    };
    let latest_start = records.iter().map(RecordText::started_at).max().unwrap_or(first);
    // JSON arrays of the distinct names, each already escaped as a JSON string's text.
    let names = |field: fn(&RecordText) -> &str| {
        let distinct: BTreeSet<&str> = records.iter().map(field).collect();
        let mut out = String::from("[");
        for (index, name) in distinct.into_iter().enumerate() {
            out.push_str(if index > 0 { ",\"" } else { "\"" });
            out.push_str(name);
            out.push('"');
        }
        out.push(']');
        out
    };
    let (scripts, statuses) = (names(RecordText::script), names(RecordText::status));
    // Stored as text (not a blob), which SQLite's JSON functions, and so the `runs` view, read.
    let mut batch = String::with_capacity(records.iter().map(|r| r.json.len() + 1).sum::<usize>() + 1);
    batch.push('[');
    for (index, record) in records.iter().enumerate() {
        if index > 0 {
            batch.push(',');
        }
        batch.push_str(&record.json);
    }
    batch.push(']');
    connection
        .prepare_cached(
            "INSERT INTO run_batches (count, first_id, last_id, latest_start, scripts, statuses, records)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![records.len(), first, last, latest_start, scripts, statuses, batch])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> Result<(tempfile::TempDir, Store), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::CreateDir { path: "tmp".into(), source })?;
        let store = Store::open(&dir.path().join("s.db"))?;
        Ok((dir, store))
    }

    fn row(id: &str, started_at: &str) -> RunRecord {
        RunRecord {
            id: id.to_string(),
            script: "job".to_string(),
            trigger: "manual".to_string(),
            detail: String::new(),
            started_at: started_at.to_string(),
            duration_ms: 1.5,
            status: "ok".to_string(),
            error: None,
            lines: serde_json::json!([]),
            input: serde_json::json!({}),
            event: serde_json::json!({}),
            result: None,
            attempt: 1,
            retry_of: None,
        }
    }

    /// Writes `records` as one batch.
    fn insert(store: &Store, records: &[RunRecord]) -> Result<(), StoreError> {
        store.runs_insert(&records.iter().map(RecordText::of).collect::<Vec<_>>())
    }

    /// Records `run-000` .. `run-{count - 1}`, one a second from midnight, written in batches.
    fn write(store: &Store, count: usize, per_batch: usize) -> Result<(), StoreError> {
        let rows: Vec<RunRecord> = (0..count)
            .map(|n| row(&format!("run-{n:03}"), &format!("2025-01-01T00:{:02}:{:02}Z", n / 60, n % 60)))
            .collect();
        rows.chunks(per_batch).try_for_each(|batch| insert(store, batch))
    }

    fn ids(store: &Store) -> Result<Vec<String>, StoreError> {
        let all = store.runs_list(&RunFilter { limit: 1000, ..RunFilter::default() })?;
        Ok(all.into_iter().map(|r| r.id).collect())
    }

    fn listed(store: &Store, filter: RunFilter) -> Result<Vec<String>, StoreError> {
        Ok(store.runs_list(&filter)?.into_iter().map(|r| r.id).collect())
    }

    #[test]
    fn a_page_holds_at_most_max_page_records_whole_up_to_its_budget_and_summaries_after() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        write(&store, MAX_PAGE + 10, 200)?;
        let big = |id: &str| RunRecord {
            lines: serde_json::json!([{ "level": "print", "text": "y".repeat(PAGE_BYTES / 3) }]),
            error: Some("e".repeat(5000)),
            ..row(id, "2025-01-02T00:00:00Z")
        };
        insert(&store, &[big("big-1"), big("big-2"), big("big-3"), big("big-4")])?;
        let page = store.runs_page(&RunFilter { limit: 100_000, ..RunFilter::default() })?;
        assert_eq!((page.records.len(), page.whole), (MAX_PAGE, 2));
        let ids: Vec<&str> = page.records.iter().take(5).map(|record| record.id.as_str()).collect();
        assert_eq!(ids, ["big-4", "big-3", "big-2", "big-1", &format!("run-{:03}", MAX_PAGE + 9)]);
        let summary = &page.records[2];
        assert!(summary.lines.is_null() && summary.input.is_null() && summary.event.is_null());
        assert_eq!(summary.error.as_ref().map(|error| error.chars().count()), Some(SUMMARY_ERROR + 1));
        let json = page.json();
        assert_eq!((json[1].get("summary"), &json[2]["summary"]), (None, &serde_json::json!(true)));
        // The first record is whole whatever its size.
        let one = store.runs_page(&RunFilter { limit: 0, ..RunFilter::default() })?;
        assert_eq!((one.records.len(), one.whole), (1, 1));
        Ok(())
    }

    #[test]
    fn a_record_reads_back_as_written() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        let mut written = row("0194aaaa-1111", "2025-01-01T00:00:01.250000Z");
        written.error = Some("boom at \"x\" \u{e9}\n(line 2)".into());
        written.result = Some("{\"a\":1}".into());
        written.retry_of = Some("0194aaaa-0000".into());
        written.attempt = 2;
        written.duration_ms = 0.125;
        written.lines = serde_json::json!([{"level": "info", "text": "hi"}]);
        written.input = serde_json::json!({"name": "Zoë", "n": [1, 2.5, null]});
        written.event = serde_json::json!({"kind": "http", "headers": {"host": "x"}});
        insert(&store, &[written])?;
        let read = store.run_get("0194aaaa-1111")?.expect("the record");
        assert_eq!(read.error.as_deref(), Some("boom at \"x\" \u{e9}\n(line 2)"));
        assert_eq!(read.result.as_deref(), Some("{\"a\":1}"));
        assert_eq!((read.attempt, read.retry_of.as_deref(), read.duration_ms), (2, Some("0194aaaa-0000"), 0.125));
        assert_eq!(read.lines, serde_json::json!([{"level": "info", "text": "hi"}]));
        assert_eq!(read.input, serde_json::json!({"name": "Zoë", "n": [1, 2.5, null]}));
        assert_eq!(read.event, serde_json::json!({"kind": "http", "headers": {"host": "x"}}));
        assert_eq!(read.started_at, "2025-01-01T00:00:01.250000Z");
        Ok(())
    }

    #[test]
    fn a_result_is_stored_as_json_when_whole_and_read_back_as_its_text() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        let results = [
            ("object", "{\"a\":[1,2.5,\"x\\\"y\"]}", "{\"a\":[1,2.5,\"x\\\"y\"]}"),
            ("array", "[true,null]", "[true,null]"),
            ("string", "\"hi\"", "\"\\\"hi\\\"\""),
            ("status", "201 {\"a\":1}", "\"201 {\\\"a\\\":1}\""),
            ("shortened", "{\"a\":\"xx…", "\"{\\\"a\\\":\\\"xx…\""),
        ];
        let records: Vec<RunRecord> = results
            .iter()
            .map(|(id, result, _)| RunRecord { result: Some((*result).to_string()), ..row(id, "2025-01-01T00:00:01Z") })
            .collect();
        let texts: Vec<RecordText> = records.iter().map(RecordText::of).collect();
        for ((id, result, stored), text) in results.iter().zip(&texts) {
            assert!(text.json().ends_with(&format!(",\"result\":{stored}}}")), "{id}: {}", text.json());
            assert_eq!(text.record()?.result.as_deref(), Some(*result), "{id}");
        }
        store.runs_insert(&texts)?;
        for (id, result, _) in results {
            assert_eq!(store.run_get(id)?.and_then(|r| r.result).as_deref(), Some(result), "{id}");
            // The `runs` view shows the same text either way.
            let viewed: String =
                store.lock().query_row("SELECT result FROM runs WHERE id = ?1", [id], |row| row.get(0))?;
            assert_eq!(viewed, result, "{id}");
        }
        // Records written before results were stored as JSON hold every result as a string.
        let legacy = r#"{"id":"old","script":"job","trigger":"manual","detail":"","started_at":"2025-01-01T00:00:01Z","duration_ms":1,"status":"ok","error":null,"attempt":1,"retry_of":null,"lines":[],"input":{},"event":{},"result":"{\"a\":1}"}"#;
        let read: RunRecord = serde_json::from_str(legacy)?;
        assert_eq!(read.result.as_deref(), Some("{\"a\":1}"));
        Ok(())
    }

    #[test]
    fn deeply_nested_records_are_read_and_a_too_deep_one_hides_only_itself() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        let nested = |depth: usize| {
            // A string with brackets and an escaped quote inside, in `depth` arrays.
            (0..depth).fold(serde_json::json!("x [{\""), |inner, _| serde_json::json!([inner]))
        };
        // About as deep as the request parser lets a JSON body be (serde_json's 128 levels),
        // deeper, and too deep to read.
        let deep = |id: &str, depth: usize| RunRecord { input: nested(depth), ..row(id, "2025-01-01T00:00:01Z") };
        insert(
            &store,
            &[row("before", "2025-01-01T00:00:00Z"), deep("body", 127), row("after", "2025-01-01T00:00:02Z")],
        )?;
        insert(&store, &[deep("deeper", 250), deep("too-deep", 300), row("last", "2025-01-01T00:00:03Z")])?;
        assert_eq!(ids(&store)?, ["last", "deeper", "after", "body", "before"]);
        assert_eq!(store.run_get("body")?.map(|r| r.input), Some(nested(127)));
        let error = RecordText::of(&deep("too-deep", 300)).record().expect_err("too deep");
        assert!(error.to_string().contains("nested deeper than 256 levels"), "{error}");
        Ok(())
    }

    #[test]
    fn the_hand_written_record_is_the_serialized_one() -> serde_json::Result<()> {
        let mut record = row("0194aaaa-\"x", "2025-01-01T00:00:01Z");
        (record.script, record.status, record.detail) = ("say \"hi\"".into(), "st\u{e9}\n".into(), "GET /a\tb".into());
        (record.error, record.retry_of, record.duration_ms) = (Some("boom\n".into()), Some("r".into()), 0.1 + 0.2);
        record.lines = serde_json::json!([{ "level": "info", "text": "x\"y" }]);
        record.input = serde_json::json!({ "n": [1, 2.5, null] });
        let raw = |value: &serde_json::Value| serde_json::value::to_raw_value(value);
        let (lines, input, event) = (raw(&record.lines)?, raw(&record.input)?, raw(&record.event)?);
        for result in [None, Some("{\"a\":1}"), Some("201 \"x\"")] {
            record.result = result.map(String::from);
            let given = RecordText::of(&record);
            let json = result.and_then(|text| serde_json::from_str::<&RawValue>(text).ok());
            let written = RecordText::new(&RecordFields {
                id: &record.id,
                script: &record.script,
                status: &record.status,
                started_at: &record.started_at,
                trigger: &record.trigger,
                detail: &record.detail,
                duration_ms: record.duration_ms,
                error: record.error.as_deref(),
                attempt: record.attempt,
                retry_of: record.retry_of.as_deref(),
                lines: &lines,
                input: &input,
                event: &event,
                result: json.map(StoredResult::Json).or(result.map(StoredResult::Text)),
            });
            assert_eq!((written.json(), written.head.clone()), (given.json(), given.head.clone()));
            assert_eq!(
                (written.id(), written.script(), written.status()),
                ("0194aaaa-\\\"x", "say \\\"hi\\\"", "st\u{e9}\\n")
            );
        }
        Ok(())
    }

    #[test]
    fn names_that_need_escaping_are_kept_and_filtered_on() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        let mut odd = row("odd", "2025-01-01T00:00:01Z");
        odd.script = "say \"hi\"\\now".into();
        odd.status = "st\u{e9}tus\n".into();
        odd.detail = "GET /a\tb".into();
        assert_eq!(RecordText::of(&odd).record()?, odd);
        insert(&store, &[odd.clone(), row("plain", "2025-01-01T00:00:02Z")])?;
        let filter = |script: &str, status: Option<&str>| RunFilter {
            script: Some(script.into()),
            status: status.map(String::from),
            limit: 10,
            ..RunFilter::default()
        };
        assert_eq!(store.runs_list(&filter(&odd.script, Some(&odd.status)))?, [odd]);
        assert_eq!(listed(&store, filter("job", None))?, ["plain"]);
        Ok(())
    }

    #[test]
    fn lists_newest_written_first_across_batches() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        // A long run that started first but ended (and was written) last is the newest.
        insert(&store, &[row("short", "2025-01-01T00:00:02Z"), row("other", "2025-01-01T00:00:03Z")])?;
        insert(&store, &[row("long", "2025-01-01T00:00:01Z")])?;
        assert_eq!(ids(&store)?, ["long", "other", "short"]);
        let since = RunFilter { since: Some("2025-01-01T00:00:02Z".into()), limit: 10, ..RunFilter::default() };
        assert_eq!(listed(&store, since)?, ["other", "short"]);
        assert_eq!(listed(&store, RunFilter { limit: 2, ..RunFilter::default() })?, ["long", "other"]);
        assert_eq!(listed(&store, RunFilter { limit: 1, ..RunFilter::default() })?, ["long"]);
        Ok(())
    }

    #[test]
    fn filters_by_script_and_status_within_and_across_batches() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        let with = |id: &str, script: &str, status: &str| {
            let mut row = row(id, "2025-01-01T00:00:01Z");
            row.script = script.into();
            row.status = status.into();
            row
        };
        insert(&store, &[with("a1", "a", "ok"), with("b1", "b", "error"), with("a2", "a", "error")])?;
        insert(&store, &[with("b2", "b", "ok")])?;
        insert(&store, &[with("a3", "a", "ok"), with("b3", "b", "ok")])?;
        let filter = |script: Option<&str>, status: Option<&str>, limit: usize| RunFilter {
            script: script.map(String::from),
            status: status.map(String::from),
            limit,
            ..RunFilter::default()
        };
        assert_eq!(listed(&store, filter(Some("a"), None, 10))?, ["a3", "a2", "a1"]);
        assert_eq!(listed(&store, filter(None, Some("error"), 10))?, ["a2", "b1"]);
        assert_eq!(listed(&store, filter(Some("b"), Some("ok"), 10))?, ["b3", "b2"]);
        assert_eq!(listed(&store, filter(Some("b"), None, 2))?, ["b3", "b2"]);
        assert_eq!(listed(&store, filter(Some("c"), None, 10))?, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn gets_by_id_or_unique_prefix() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        insert(&store, &[row("0194aaaa-1111", "2025-01-01T00:00:01Z"), row("0194aaaa-2222", "2025-01-01T00:00:02Z")])?;
        insert(&store, &[row("0194bbbb-3333", "2025-01-01T00:00:03Z")])?;
        let get = |id: &str| store.run_get(id).map(|r| r.map(|r| r.id));
        assert_eq!(get("0194aaaa-1111")?.as_deref(), Some("0194aaaa-1111"));
        assert_eq!(get("0194bbbb")?.as_deref(), Some("0194bbbb-3333"));
        assert_eq!(get("0194aaaa-2")?.as_deref(), Some("0194aaaa-2222"));
        assert_eq!(get("0194aaaa")?, None, "ambiguous");
        assert_eq!(get("0194bbb")?, None, "shorter than 8 characters");
        assert_eq!(get("0194____-3")?, None, "no wildcards");
        assert_eq!(get("0194cccc")?, None);
        // An id written again: the newest record with it is the one shown.
        let mut again = row("0194aaaa-1111", "2025-01-01T00:00:01Z");
        again.status = "error".to_string();
        insert(&store, &[again])?;
        assert_eq!(store.run_get("0194aaaa-1111")?.map(|r| r.status).as_deref(), Some("error"));
        assert_eq!(store.run_get("0194aaaa-1")?.map(|r| r.status).as_deref(), Some("error"));
        Ok(())
    }

    #[test]
    fn pruning_by_count_keeps_the_newest_in_whole_batches() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        // Batches of 7: run-000..006, 007..013, 014..020, 021..024.
        write(&store, 25, 7)?;
        // The newest 10 are 015..024; the batch holding 015 starts at 014 and stays whole.
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", 10)?, 14);
        let expected: Vec<String> = (14..25).rev().map(|n| format!("run-{n:03}")).collect();
        assert_eq!(ids(&store)?, expected);
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", 11)?, 0);
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", usize::MAX)?, 0);
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", 4)?, 7);
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", 0)?, 4);
        assert_eq!(ids(&store)?, Vec::<String>::new());
        assert_eq!(store.runs_prune("2000-01-01T00:00:00Z", 0)?, 0);
        Ok(())
    }

    #[test]
    fn pruning_by_age_removes_the_old_in_write_order() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        write(&store, 20, 1)?;
        assert_eq!(store.runs_prune("2025-01-01T00:00:12Z", 100)?, 12);
        let expected: Vec<String> = (12..20).rev().map(|n| format!("run-{n:03}")).collect();
        assert_eq!(ids(&store)?, expected);
        // A long run written after younger records waits for them to age.
        insert(&store, &[row("long", "2025-01-01T00:00:00Z")])?;
        insert(&store, &[row("last", "2025-01-01T00:01:00Z")])?;
        assert_eq!(store.runs_prune("2025-01-01T00:00:15Z", 100)?, 3);
        assert_eq!(store.run_get("long")?.map(|r| r.id).as_deref(), Some("long"));
        assert_eq!(store.runs_prune("2025-01-01T00:00:30Z", 100)?, 6);
        assert_eq!(ids(&store)?, ["last"]);
        // When every record is old, all go.
        assert_eq!(store.runs_prune("2025-01-02T00:00:00Z", 100)?, 1);
        assert_eq!(store.runs_prune("2025-01-02T00:00:00Z", 100)?, 0);
        Ok(())
    }

    #[test]
    fn a_batch_stays_whole_while_any_of_its_records_is_recent() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        insert(&store, &[row("old", "2025-01-01T00:00:00Z"), row("new", "2025-01-01T00:01:00Z")])?;
        assert_eq!(store.runs_prune("2025-01-01T00:00:30Z", 100)?, 0);
        assert_eq!(ids(&store)?, ["new", "old"]);
        assert_eq!(store.runs_prune("2025-01-01T00:01:30Z", 100)?, 2);
        Ok(())
    }

    #[test]
    fn a_damaged_record_or_batch_hides_nothing_else() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        insert(&store, &[row("first", "2025-01-01T00:00:01Z")])?;
        insert(&store, &[row("before", "2025-01-01T00:00:02Z"), row("after", "2025-01-01T00:00:03Z")])?;
        insert(&store, &[row("last", "2025-01-01T00:00:04Z")])?;
        {
            let connection = store.lock();
            // The second batch loses a field of its first record; the first batch is not JSON.
            connection
                .execute("UPDATE run_batches SET records = json_remove(records, '$[0].status') WHERE seq = 2", [])?;
            connection.execute("UPDATE run_batches SET records = '[{' WHERE seq = 1", [])?;
        }
        assert_eq!(ids(&store)?, ["last", "after"]);
        assert_eq!(store.run_get("after")?.map(|r| r.id).as_deref(), Some("after"));
        Ok(())
    }

    #[test]
    fn the_runs_view_shows_one_row_per_record() -> Result<(), StoreError> {
        let (_dir, store) = open()?;
        write(&store, 5, 2)?;
        let connection = store.lock();
        let rows: Vec<(String, String, String)> = connection
            .prepare("SELECT id, status, input FROM runs ORDER BY batch DESC, position DESC")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let expected: Vec<(String, String, String)> =
            (0..5).rev().map(|n| (format!("run-{n:03}"), "ok".to_string(), "{}".to_string())).collect();
        assert_eq!(rows, expected);
        Ok(())
    }
}
