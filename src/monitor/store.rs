//! The request log on disk: an SQLite database under the state directory,
//! written by one background thread in batches, trimmed to the retention
//! limits, and read by `switchyard logs`, `usage` and the dashboard.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;

use super::record::RequestRecord;

/// How long and how many records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Records older than this many days are deleted.
    pub days: u32,
    /// At most this many records are kept (the oldest go first).
    pub max_rows: u64,
}

/// What `logs` asks for.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only records at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
    /// Only this requested or served model.
    pub model: Option<String>,
    /// Only this account (label or id).
    pub account: Option<String>,
    /// Only calls made with the client key of this name.
    pub key: Option<String>,
    /// Only records after this rowid (for `--follow`).
    pub after_row: Option<i64>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// How `usage` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageBy {
    /// Per served (or requested) model.
    Model,
    /// Per account.
    Account,
    /// Per UTC day.
    Day,
    /// Per client key (`-` for calls without one).
    Key,
}

/// One line of `usage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageRow {
    /// The model, account or day.
    pub key: String,
    /// Calls.
    pub requests: u64,
    /// Calls that did not end in 2xx.
    pub errors: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Cached prompt tokens.
    pub cached_tokens: u64,
}

/// One bucket of a usage timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineRow {
    /// The bucket's start, ms since the epoch.
    pub bucket_ms: i64,
    /// The model or account.
    pub key: String,
    /// Calls.
    pub requests: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

/// The SQL expression grouping by `by`.
fn group_key(by: UsageBy) -> &'static str {
    match by {
        UsageBy::Model => "COALESCE(served_model, model)",
        UsageBy::Account => "COALESCE(account, '-')",
        UsageBy::Day => "strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch')",
        UsageBy::Key => "COALESCE(key_name, '-')",
    }
}

/// Whether the log's table has `column`.
fn has_column(conn: &Connection, column: &str) -> rusqlite::Result<bool> {
    let mut statement = conn.prepare("SELECT 1 FROM pragma_table_info('requests') WHERE name = ?1")?;
    statement.exists(params![column])
}

/// The files SQLite keeps beside the database at `path`.
fn sibling_files(path: &Path) -> impl Iterator<Item = std::path::PathBuf> {
    ["-wal", "-shm", "-journal"].into_iter().map(move |suffix| {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        name.into()
    })
}

/// Creates the database file 0600 before SQLite does (SQLite would create
/// it 0644 under the usual umask). Failures are left for SQLite's own open
/// to report.
fn create_private(path: &Path) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    if let Ok(file) = options.open(path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // The umask narrowed the mode at best; set it exactly.
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
        }
        drop(file);
    }
}

/// Makes the database and its sibling files private (at most 0600).
fn restrict_files(path: &Path) {
    for file in std::iter::once(path.to_path_buf()).chain(sibling_files(path)) {
        if let Err(err) = crate::home::restrict_to_owner(&file) {
            tracing::warn!(
                path = %file.display(),
                error = %err,
                "the request log is readable by other users and could not be made private; run `chmod 600` on it"
            );
        }
    }
}

/// An open request log.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

/// Columns added after the first schema, each with its type: added to an
/// older log when the gateway opens it, read as NULL by a CLI that opens an
/// older log read-only before any gateway did.
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("key_name", "TEXT"),
    ("fell_back", "INTEGER NOT NULL DEFAULT 0"),
    ("estimated_tokens", "INTEGER NOT NULL DEFAULT 0"),
];

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    client TEXT NOT NULL,
    route TEXT NOT NULL,
    model TEXT NOT NULL,
    served_model TEXT,
    account TEXT,
    account_id TEXT,
    stream INTEGER NOT NULL,
    status INTEGER NOT NULL,
    total_ms REAL NOT NULL,
    upstream_ms REAL,
    overhead_ms REAL,
    ttfb_ms REAL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    request_body TEXT,
    response_body TEXT
);
CREATE INDEX IF NOT EXISTS requests_time ON requests(time_ms);
";

impl Store {
    /// Opens (creating) the log at `path` for writing. The database and its
    /// `-wal`, `-shm` and `-journal` files are private to the user (0600 on
    /// Unix), whatever the umask, and older ones left 0644 are tightened.
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        create_private(path);
        let conn = Connection::open(path)?;
        // WAL lets the CLI and the dashboard read while the gateway writes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        for (column, kind) in ADDED_COLUMNS {
            if !has_column(&conn, column)? {
                conn.execute_batch(&format!("ALTER TABLE requests ADD COLUMN {column} {kind}"))?;
            }
        }
        conn.execute_batch("CREATE INDEX IF NOT EXISTS requests_key ON requests(key_name, time_ms)")?;
        // SQLite gives the files it creates the database's mode, but files
        // left by an older version keep theirs until tightened here.
        restrict_files(path);
        Ok(Store { conn })
    }

    /// Opens an existing log read-only (the CLI).
    pub fn open_read_only(path: &Path) -> rusqlite::Result<Store> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // A log no gateway of this version has opened yet lacks the columns
        // added since: its calls read them as NULL (no key, no fallback).
        let mut missing = Vec::new();
        for (column, _) in ADDED_COLUMNS {
            if !has_column(&conn, column)? {
                missing.push(format!("NULL AS {column}"));
            }
        }
        if !missing.is_empty() {
            conn.execute_batch(&format!(
                "CREATE TEMP VIEW requests AS SELECT *, {} FROM main.requests",
                missing.join(", ")
            ))?;
        }
        Ok(Store { conn })
    }

    /// Appends records in one transaction.
    pub fn insert(&mut self, records: &[RequestRecord]) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO requests (id, time_ms, client, route, model, served_model, account, account_id, stream,
                 status, total_ms, upstream_ms, overhead_ms, ttfb_ms, input_tokens, output_tokens, cached_tokens,
                 attempts, error, request_body, response_body, key_name, fell_back, estimated_tokens)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
            )?;
            for r in records {
                insert.execute(params![
                    r.id,
                    r.time_ms,
                    r.client,
                    r.route,
                    r.model,
                    r.served_model,
                    r.account,
                    r.account_id,
                    r.stream,
                    r.status,
                    r.total_ms,
                    r.upstream_ms,
                    r.overhead_ms,
                    r.ttfb_ms,
                    r.input_tokens as i64,
                    r.output_tokens as i64,
                    r.cached_tokens as i64,
                    r.attempts,
                    r.error,
                    r.request_body,
                    r.response_body,
                    r.key,
                    r.fell_back,
                    r.estimated_tokens,
                ])?;
            }
        }
        tx.commit()
    }

    /// Deletes what the retention limits exclude; returns how many rows went.
    pub fn trim(&mut self, retention: Retention, now_ms: i64) -> rusqlite::Result<usize> {
        let cutoff = now_ms - i64::from(retention.days) * 86_400_000;
        let mut removed = self
            .conn
            .execute("DELETE FROM requests WHERE time_ms < ?1", params![cutoff])?;
        removed += self.conn.execute(
            "DELETE FROM requests WHERE row <= (SELECT MAX(row) FROM requests) - ?1",
            params![retention.max_rows as i64],
        )?;
        Ok(removed)
    }

    /// Records matching `filter`, newest first, with their row ids.
    pub fn query(&self, filter: &LogFilter) -> rusqlite::Result<Vec<(i64, RequestRecord)>> {
        let mut statement = self.conn.prepare(
            "SELECT row, id, time_ms, client, route, model, served_model, account, account_id, stream, status,
                    total_ms, upstream_ms, overhead_ms, ttfb_ms, input_tokens, output_tokens, cached_tokens, attempts,
                    error, request_body, response_body, key_name, fell_back, estimated_tokens
             FROM requests
             WHERE (?1 IS NULL OR time_ms >= ?1)
               AND (?2 IS NULL OR model = ?2 OR served_model = ?2)
               AND (?3 IS NULL OR account = ?3 OR account_id = ?3)
               AND (?4 IS NULL OR row > ?4)
               AND (?6 IS NULL OR key_name = ?6)
             ORDER BY row DESC LIMIT ?5",
        )?;
        let rows = statement.query_map(
            params![
                filter.since_ms,
                filter.model,
                filter.account,
                filter.after_row,
                filter.limit as i64,
                filter.key
            ],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    RequestRecord {
                        id: row.get(1)?,
                        time_ms: row.get(2)?,
                        client: row.get(3)?,
                        route: row.get(4)?,
                        model: row.get(5)?,
                        served_model: row.get(6)?,
                        account: row.get(7)?,
                        account_id: row.get(8)?,
                        stream: row.get(9)?,
                        status: row.get(10)?,
                        total_ms: row.get(11)?,
                        upstream_ms: row.get(12)?,
                        overhead_ms: row.get(13)?,
                        ttfb_ms: row.get(14)?,
                        input_tokens: row.get::<_, i64>(15)? as u64,
                        output_tokens: row.get::<_, i64>(16)? as u64,
                        cached_tokens: row.get::<_, i64>(17)? as u64,
                        attempts: row.get(18)?,
                        error: row.get(19)?,
                        request_body: row.get(20)?,
                        response_body: row.get(21)?,
                        key: row.get(22)?,
                        fell_back: row.get::<_, Option<bool>>(23)?.unwrap_or(false),
                        estimated_tokens: row.get::<_, Option<bool>>(24)?.unwrap_or(false),
                    },
                ))
            },
        )?;
        rows.collect()
    }

    /// Totals grouped by `by`, for records at or after `since_ms`.
    pub fn usage(&self, by: UsageBy, since_ms: Option<i64>) -> rusqlite::Result<Vec<UsageRow>> {
        let key = group_key(by);
        let sql = format!(
            "SELECT {key} AS k, COUNT(*), SUM(status >= 300), SUM(input_tokens), SUM(output_tokens), SUM(cached_tokens)
             FROM requests WHERE (?1 IS NULL OR time_ms >= ?1) GROUP BY k ORDER BY k"
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params![since_ms], |row| {
            Ok(UsageRow {
                key: row.get(0)?,
                requests: row.get::<_, i64>(1)? as u64,
                errors: row.get::<_, i64>(2)? as u64,
                input_tokens: row.get::<_, i64>(3)? as u64,
                output_tokens: row.get::<_, i64>(4)? as u64,
                cached_tokens: row.get::<_, i64>(5)? as u64,
            })
        })?;
        rows.collect()
    }

    /// Calls and tokens per `bucket_ms` and per `by`, oldest first.
    pub fn timeline(&self, by: UsageBy, bucket_ms: i64, since_ms: Option<i64>) -> rusqlite::Result<Vec<TimelineRow>> {
        let key = group_key(by);
        let sql = format!(
            "SELECT (time_ms / ?2) * ?2 AS b, {key} AS k, COUNT(*), SUM(input_tokens), SUM(output_tokens)
             FROM requests WHERE (?1 IS NULL OR time_ms >= ?1) GROUP BY b, k ORDER BY b, k"
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params![since_ms, bucket_ms.max(1)], |row| {
            Ok(TimelineRow {
                bucket_ms: row.get(0)?,
                key: row.get(1)?,
                requests: row.get::<_, i64>(2)? as u64,
                input_tokens: row.get::<_, i64>(3)? as u64,
                output_tokens: row.get::<_, i64>(4)? as u64,
            })
        })?;
        rows.collect()
    }

    /// Each client key's tokens, requests and last use since `since_ms`
    /// (the start of the UTC day: what a restarted gateway's meters start
    /// from, and what `keys list` shows when no gateway runs).
    pub fn key_usage(&self, since_ms: i64) -> rusqlite::Result<Vec<crate::keys::Usage>> {
        let mut statement = self.conn.prepare(
            "SELECT key_name, SUM(input_tokens + output_tokens), COUNT(*), MAX(time_ms)
             FROM requests WHERE key_name IS NOT NULL AND time_ms >= ?1 GROUP BY key_name ORDER BY key_name",
        )?;
        let rows = statement.query_map(params![since_ms], |row| {
            Ok(crate::keys::Usage {
                name: row.get(0)?,
                tokens_today: row.get::<_, i64>(1)? as u64,
                requests_today: row.get::<_, i64>(2)? as u64,
                last_used_ms: row.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// How many records are kept.
    pub fn count(&self) -> rusqlite::Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM requests", [], |row| row.get::<_, i64>(0))
            .map(|n| n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, time_ms: i64, model: &str, account: &str, status: u16) -> RequestRecord {
        RequestRecord {
            id: id.into(),
            time_ms,
            client: "openai".into(),
            route: "/v1/chat/completions".into(),
            model: model.into(),
            served_model: Some(model.into()),
            account: Some(account.into()),
            status,
            input_tokens: 10,
            output_tokens: 5,
            cached_tokens: 2,
            attempts: 1,
            ..RequestRecord::default()
        }
    }

    #[test]
    fn an_estimate_is_kept_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("log.sqlite3")).unwrap();
        let estimated = RequestRecord {
            estimated_tokens: true,
            ..record("e", 1_000, "gemini-embedding-001", "home", 200)
        };
        store.insert(std::slice::from_ref(&estimated)).unwrap();
        let read = store
            .query(&LogFilter {
                limit: 1,
                ..LogFilter::default()
            })
            .unwrap();
        assert_eq!(read[0].1, estimated);
    }

    #[test]
    fn records_round_trip_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("log.sqlite3")).unwrap();
        store
            .insert(&[
                record("a", 1_000, "gpt", "work", 200),
                record("b", 2_000, "gemini", "home", 429),
            ])
            .unwrap();
        let all = store
            .query(&LogFilter {
                limit: 10,
                ..LogFilter::default()
            })
            .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].1.id, "b", "newest first");
        assert_eq!(all[1].1, record("a", 1_000, "gpt", "work", 200));
        let by_model = store
            .query(&LogFilter {
                model: Some("gemini".into()),
                limit: 10,
                ..LogFilter::default()
            })
            .unwrap();
        assert_eq!(by_model.len(), 1);
        let since = store
            .query(&LogFilter {
                since_ms: Some(1_500),
                limit: 10,
                ..LogFilter::default()
            })
            .unwrap();
        assert_eq!(since.len(), 1);
        let after = store
            .query(&LogFilter {
                after_row: Some(all[1].0),
                limit: 10,
                ..LogFilter::default()
            })
            .unwrap();
        assert_eq!(after.len(), 1);
    }

    #[test]
    fn usage_groups_and_sums() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("log.sqlite3")).unwrap();
        store
            .insert(&[
                record("a", 0, "gpt", "work", 200),
                record("b", 86_400_000, "gpt", "home", 500),
                record("c", 86_400_001, "gemini", "home", 200),
            ])
            .unwrap();
        let by_model = store.usage(UsageBy::Model, None).unwrap();
        assert_eq!(
            by_model[1],
            UsageRow {
                key: "gpt".into(),
                requests: 2,
                errors: 1,
                input_tokens: 20,
                output_tokens: 10,
                cached_tokens: 4
            }
        );
        let timeline = store.timeline(UsageBy::Model, 86_400_000, None).unwrap();
        assert_eq!(timeline.len(), 3);
        assert_eq!(
            (timeline[0].bucket_ms, timeline[0].key.as_str(), timeline[0].requests),
            (0, "gpt", 1)
        );
        assert_eq!((timeline[2].bucket_ms, timeline[2].key.as_str()), (86_400_000, "gpt"));
        let by_day = store.usage(UsageBy::Day, None).unwrap();
        assert_eq!(
            by_day.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ["1970-01-01", "1970-01-02"]
        );
        assert_eq!(store.usage(UsageBy::Account, None).unwrap().len(), 2);
    }

    #[test]
    fn retention_trims_by_age_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("log.sqlite3")).unwrap();
        let day = 86_400_000;
        let records: Vec<_> = (0..10)
            .map(|i| record(&i.to_string(), 100 * day + i, "m", "a", 200))
            .collect();
        store.insert(&[record("old", 0, "m", "a", 200)]).unwrap();
        store.insert(&records).unwrap();
        let removed = store.trim(Retention { days: 30, max_rows: 5 }, 100 * day + 20).unwrap();
        assert_eq!(removed, 6);
        let kept = store
            .query(&LogFilter {
                limit: 100,
                ..LogFilter::default()
            })
            .unwrap();
        assert_eq!(
            kept.iter().map(|(_, r)| r.id.clone()).collect::<Vec<_>>(),
            ["9", "8", "7", "6", "5"]
        );
    }
}
