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
    /// Prompt tokens written to a cache.
    pub cache_write_tokens: u64,
    /// What the priced calls cost, USD.
    pub cost_usd: f64,
    /// Calls with tokens whose model has no price (not in `cost_usd`).
    pub unpriced: u64,
}

/// One day's totals of one account, model and client key: a row of the
/// daily totals, which retention never trims.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyTotal {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The account's id (`-` for calls no account took).
    pub account_id: String,
    /// The account's label (or id) as last recorded.
    pub account: String,
    /// The served (or requested) model.
    pub model: String,
    /// The client key's name (`-` for calls without one).
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
    /// Prompt tokens written to a cache.
    pub cache_write_tokens: u64,
    /// What the priced calls cost, USD.
    pub cost_usd: f64,
    /// Calls with tokens whose model has no price.
    pub unpriced: u64,
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
    /// What the priced calls cost, USD.
    pub cost_usd: f64,
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
    ("cache_write_tokens", "INTEGER NOT NULL DEFAULT 0"),
    ("cost_usd", "REAL"),
    ("estimated_tokens", "INTEGER NOT NULL DEFAULT 0"),
];

/// The daily totals: one row per UTC day, account, model and client key.
/// Retention trims `requests`, never this table, so budgets and monthly
/// figures outlive the log.
const TOTALS_SCHEMA: &str = "
CREATE TABLE daily_totals (
    day TEXT NOT NULL,
    account_id TEXT NOT NULL,
    account TEXT NOT NULL,
    model TEXT NOT NULL,
    key_name TEXT NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    unpriced INTEGER NOT NULL,
    PRIMARY KEY (day, account_id, model, key_name)
)";

/// The daily totals of the calls in `requests` (seeds the table once, when
/// a log older than it is first opened; the view of a read-only CLI).
const TOTALS_OF_REQUESTS: &str = "
SELECT strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch') AS day, COALESCE(account_id, '-') AS account_id,
       COALESCE(MAX(account), '-') AS account, COALESCE(served_model, model) AS model,
       COALESCE(key_name, '-') AS key_name, COUNT(*) AS requests, SUM(status >= 300) AS errors,
       SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cached_tokens) AS cached_tokens,
       SUM(COALESCE(cache_write_tokens, 0)) AS cache_write_tokens, TOTAL(cost_usd) AS cost_usd,
       SUM(cost_usd IS NULL AND input_tokens + output_tokens > 0) AS unpriced
FROM requests GROUP BY 1, 2, 4, 5";

/// Whether the database has a table named `table`.
fn has_table(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    let mut statement = conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?;
    statement.exists(params![table])
}

/// The SQL expression grouping daily totals by `by`.
fn totals_key(by: UsageBy) -> &'static str {
    match by {
        UsageBy::Model => "model",
        UsageBy::Account => "account",
        UsageBy::Day => "day",
        UsageBy::Key => "key_name",
    }
}

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
        if !has_table(&conn, "daily_totals")? {
            // A log older than the totals: what it still holds seeds them.
            conn.execute_batch(&format!(
                "BEGIN; {TOTALS_SCHEMA}; INSERT INTO daily_totals {TOTALS_OF_REQUESTS}; COMMIT;"
            ))?;
        }
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
        if !has_table(&conn, "daily_totals")? {
            conn.execute_batch(&format!("CREATE TEMP VIEW daily_totals AS {TOTALS_OF_REQUESTS}"))?;
        }
        Ok(Store { conn })
    }

    /// Appends records in one transaction, trimming nothing (the tests'
    /// way to fill a log; the writer uses [`Store::append`]).
    #[cfg(test)]
    pub fn insert(&mut self, records: &[RequestRecord]) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        insert_into(&tx, records)?;
        tx.commit()
    }

    /// Appends records and deletes what the retention limits then exclude,
    /// in one transaction: the writer's every round, so that each deletes
    /// about as many rows as it adds (trimming a thousand at once held the
    /// writer for milliseconds).
    pub fn append(&mut self, records: &[RequestRecord], retention: Retention, now_ms: i64) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        insert_into(&tx, records)?;
        expire(&tx, retention, now_ms)?;
        tx.commit()
    }

    /// Deletes what the retention limits exclude; returns how many rows went.
    pub fn trim(&mut self, retention: Retention, now_ms: i64) -> rusqlite::Result<usize> {
        expire(&self.conn, retention, now_ms)
    }

    /// Records matching `filter`, newest first, with their row ids.
    pub fn query(&self, filter: &LogFilter) -> rusqlite::Result<Vec<(i64, RequestRecord)>> {
        let mut statement = self.conn.prepare(
            "SELECT row, id, time_ms, client, route, model, served_model, account, account_id, stream, status,
                    total_ms, upstream_ms, overhead_ms, ttfb_ms, input_tokens, output_tokens, cached_tokens, attempts,
                    error, request_body, response_body, key_name, fell_back, cache_write_tokens, cost_usd, estimated_tokens
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
                        cache_write_tokens: row.get::<_, Option<i64>>(24)?.unwrap_or(0) as u64,
                        cost_usd: row.get(25)?,
                        estimated_tokens: row.get::<_, Option<bool>>(26)?.unwrap_or(false),
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
            "SELECT {key} AS k, COUNT(*), SUM(status >= 300), SUM(input_tokens), SUM(output_tokens), SUM(cached_tokens),
                    SUM(COALESCE(cache_write_tokens, 0)), TOTAL(cost_usd),
                    SUM(cost_usd IS NULL AND input_tokens + output_tokens > 0)
             FROM requests WHERE (?1 IS NULL OR time_ms >= ?1) GROUP BY k ORDER BY k"
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params![since_ms], usage_row)?;
        rows.collect()
    }

    /// Totals grouped by `by` from the daily totals (which outlive the
    /// log's retention), for the UTC days from `since_day` (`YYYY-MM-DD`) on.
    pub fn totals(&self, by: UsageBy, since_day: Option<&str>) -> rusqlite::Result<Vec<UsageRow>> {
        let key = totals_key(by);
        let sql = format!(
            "SELECT {key} AS k, SUM(requests), SUM(errors), SUM(input_tokens), SUM(output_tokens), SUM(cached_tokens),
                    SUM(cache_write_tokens), TOTAL(cost_usd), SUM(unpriced)
             FROM daily_totals WHERE (?1 IS NULL OR day >= ?1) GROUP BY k ORDER BY k"
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params![since_day], usage_row)?;
        rows.collect()
    }

    /// The daily totals rows of the UTC days from `since_day` on, oldest
    /// first (what budgets start from).
    pub fn daily_totals(&self, since_day: &str) -> rusqlite::Result<Vec<DailyTotal>> {
        let mut statement = self.conn.prepare(
            "SELECT day, account_id, account, model, key_name, requests, errors, input_tokens, output_tokens,
                    cached_tokens, cache_write_tokens, cost_usd, unpriced
             FROM daily_totals WHERE day >= ?1 ORDER BY day, account_id, model, key_name",
        )?;
        let rows = statement.query_map(params![since_day], |row| {
            Ok(DailyTotal {
                day: row.get(0)?,
                account_id: row.get(1)?,
                account: row.get(2)?,
                model: row.get(3)?,
                key: row.get(4)?,
                requests: row.get::<_, i64>(5)? as u64,
                errors: row.get::<_, i64>(6)? as u64,
                input_tokens: row.get::<_, i64>(7)? as u64,
                output_tokens: row.get::<_, i64>(8)? as u64,
                cached_tokens: row.get::<_, i64>(9)? as u64,
                cache_write_tokens: row.get::<_, i64>(10)? as u64,
                cost_usd: row.get(11)?,
                unpriced: row.get::<_, i64>(12)? as u64,
            })
        })?;
        rows.collect()
    }

    /// Calls and tokens per `bucket_ms` and per `by`, oldest first.
    pub fn timeline(&self, by: UsageBy, bucket_ms: i64, since_ms: Option<i64>) -> rusqlite::Result<Vec<TimelineRow>> {
        let key = group_key(by);
        let sql = format!(
            "SELECT (time_ms / ?2) * ?2 AS b, {key} AS k, COUNT(*), SUM(input_tokens), SUM(output_tokens), TOTAL(cost_usd)
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
                cost_usd: row.get(5)?,
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

/// A `usage` line from `key, requests, errors, input, output, cached,
/// cache write, cost, unpriced`.
fn usage_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UsageRow> {
    Ok(UsageRow {
        key: row.get(0)?,
        requests: row.get::<_, i64>(1)? as u64,
        errors: row.get::<_, i64>(2)? as u64,
        input_tokens: row.get::<_, i64>(3)? as u64,
        output_tokens: row.get::<_, i64>(4)? as u64,
        cached_tokens: row.get::<_, i64>(5)? as u64,
        cache_write_tokens: row.get::<_, i64>(6)? as u64,
        cost_usd: row.get(7)?,
        unpriced: row.get::<_, i64>(8)? as u64,
    })
}

/// Inserts `records` and adds them to the daily totals, in `conn`'s
/// transaction.
fn insert_into(conn: &Connection, records: &[RequestRecord]) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO requests (id, time_ms, client, route, model, served_model, account, account_id, stream,
         status, total_ms, upstream_ms, overhead_ms, ttfb_ms, input_tokens, output_tokens, cached_tokens,
         attempts, error, request_body, response_body, key_name, fell_back, cache_write_tokens, cost_usd, estimated_tokens)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
         ?24, ?25, ?26)",
    )?;
    let mut total = conn.prepare_cached(
        "INSERT INTO daily_totals (day, account_id, account, model, key_name, requests, errors, input_tokens,
         output_tokens, cached_tokens, cache_write_tokens, cost_usd, unpriced)
         VALUES (strftime('%Y-%m-%d', ?1 / 1000, 'unixepoch'), ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (day, account_id, model, key_name) DO UPDATE SET
           account = excluded.account, requests = requests + 1, errors = errors + excluded.errors,
           input_tokens = input_tokens + excluded.input_tokens,
           output_tokens = output_tokens + excluded.output_tokens,
           cached_tokens = cached_tokens + excluded.cached_tokens,
           cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
           cost_usd = cost_usd + excluded.cost_usd, unpriced = unpriced + excluded.unpriced",
    )?;
    for r in records {
        total.execute(params![
            r.time_ms,
            r.account_id.as_deref().unwrap_or("-"),
            r.account.as_deref().unwrap_or("-"),
            r.priced_model(),
            r.key.as_deref().unwrap_or("-"),
            r.status >= 300,
            r.input_tokens as i64,
            r.output_tokens as i64,
            r.cached_tokens as i64,
            r.cache_write_tokens as i64,
            r.cost_usd.unwrap_or(0.0),
            r.cost_usd.is_none() && r.input_tokens + r.output_tokens > 0,
        ])?;
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
            r.cache_write_tokens as i64,
            r.cost_usd,
            r.estimated_tokens,
        ])?;
    }
    Ok(())
}

/// Deletes what the retention limits exclude; returns how many rows went.
fn expire(conn: &Connection, retention: Retention, now_ms: i64) -> rusqlite::Result<usize> {
    let cutoff = now_ms - i64::from(retention.days) * 86_400_000;
    let mut removed = conn.execute("DELETE FROM requests WHERE time_ms < ?1", params![cutoff])?;
    removed += conn.execute(
        "DELETE FROM requests WHERE row <= (SELECT MAX(row) FROM requests) - ?1",
        params![retention.max_rows as i64],
    )?;
    Ok(removed)
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
            cache_write_tokens: 1,
            cost_usd: Some(0.25),
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
                cached_tokens: 4,
                cache_write_tokens: 2,
                cost_usd: 0.5,
                unpriced: 0,
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

    #[test]
    fn each_append_keeps_the_table_within_its_limits() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("log.sqlite3")).unwrap();
        let day = 86_400_000;
        let retention = Retention { days: 30, max_rows: 4 };
        store.insert(&[record("old", 0, "m", "a", 200)]).unwrap();
        let ids = |store: &Store| {
            let kept = store
                .query(&LogFilter {
                    limit: 100,
                    ..LogFilter::default()
                })
                .unwrap();
            kept.into_iter().map(|(_, r)| r.id).collect::<Vec<_>>()
        };
        for round in 0..3 {
            let records: Vec<_> = (0..3)
                .map(|i| record(&format!("{round}.{i}"), 100 * day + round * 3 + i, "m", "a", 200))
                .collect();
            store.append(&records, retention, 100 * day + 20).unwrap();
            assert!(ids(&store).len() <= 4, "round {round}: {:?}", ids(&store));
        }
        // The record past the age limit went with the first round; the
        // newest four stay, and the daily totals still count all ten.
        assert_eq!(ids(&store), ["2.2", "2.1", "2.0", "1.2"]);
        let totals = store.daily_totals("1970-01-01").unwrap();
        assert_eq!(totals.iter().map(|t| t.requests).sum::<u64>(), 10);
    }

    #[test]
    fn daily_totals_outlive_retention_and_mark_unpriced_calls() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("log.sqlite3")).unwrap();
        let day = 86_400_000;
        let mut unpriced = record("u", day + 5, "local-model", "home", 200);
        unpriced.cost_usd = None;
        let mut keyed = record("k", day + 6, "gpt", "work", 200);
        keyed.key = Some("ci".into());
        keyed.account_id = Some("acc-1".into());
        store
            .insert(&[
                record("a", 10, "gpt", "work", 200),
                record("b", 20, "gpt", "work", 500),
                unpriced,
                keyed,
            ])
            .unwrap();
        store.trim(Retention { days: 1, max_rows: 1 }, 2 * day).unwrap();
        assert_eq!(store.count().unwrap(), 1, "the log is trimmed");
        let by_day = store.totals(UsageBy::Day, None).unwrap();
        assert_eq!(by_day.len(), 2, "{by_day:?}");
        assert_eq!(
            (by_day[0].key.as_str(), by_day[0].requests, by_day[0].errors),
            ("1970-01-01", 2, 1)
        );
        assert_eq!(by_day[0].cost_usd, 0.5);
        assert_eq!(
            (by_day[1].requests, by_day[1].unpriced, by_day[1].cost_usd),
            (2, 1, 0.25)
        );
        let by_key = store.totals(UsageBy::Key, Some("1970-01-02")).unwrap();
        assert_eq!(
            by_key.iter().map(|r| (r.key.as_str(), r.requests)).collect::<Vec<_>>(),
            [("-", 1), ("ci", 1)]
        );
        let rows = store.daily_totals("1970-01-02").unwrap();
        assert_eq!(rows.len(), 2);
        assert!(
            rows.iter()
                .any(|r| r.account_id == "acc-1" && r.account == "work" && r.key == "ci")
        );
    }

    #[test]
    fn an_older_log_seeds_its_totals_and_reads_without_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute_batch(
                "INSERT INTO requests (id, time_ms, client, route, model, served_model, account, stream, status,
                 total_ms, input_tokens, output_tokens, cached_tokens, attempts)
                 VALUES ('old', 1000, 'openai', '/v1/chat/completions', 'm', 'm', 'work', 0, 200, 1.0, 7, 3, 0, 1)",
            )
            .unwrap();
        }
        // A CLI before any new gateway: the totals are a view of the log.
        let read = Store::open_read_only(&path).unwrap();
        let rows = read.totals(UsageBy::Account, None).unwrap();
        assert_eq!(
            (rows[0].key.as_str(), rows[0].input_tokens, rows[0].unpriced),
            ("work", 7, 1)
        );
        assert_eq!(
            read.query(&LogFilter {
                limit: 1,
                ..LogFilter::default()
            })
            .unwrap()[0]
                .1
                .cost_usd,
            None
        );
        drop(read);
        // The gateway opening it seeds the table from what the log holds.
        let mut store = Store::open(&path).unwrap();
        store.trim(Retention { days: 1, max_rows: 0 }, 10 * 86_400_000).unwrap();
        assert_eq!(store.count().unwrap(), 0);
        let rows = store.totals(UsageBy::Model, None).unwrap();
        assert_eq!(
            (rows[0].key.as_str(), rows[0].requests, rows[0].output_tokens),
            ("m", 1, 3)
        );
    }
}
