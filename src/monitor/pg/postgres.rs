//! The Postgres client of the request log (the `team` feature).
//!
//! One thread per log runs a small tokio runtime holding the connections.
//! The writer takes records from the monitor's bounded queue (never making a
//! request wait), keeps them in a bounded backlog while Postgres is away
//! (dropping, and counting, what does not fit) and writes them in batches,
//! each with its daily totals, in one transaction when it is back. Readers
//! (the CLI, `/api/*`, the dashboard) use a second connection of the same
//! runtime from any thread.
//!
//! Schema migrations (`NNN_name.sql` beside this file) run at start inside
//! one transaction under an advisory lock, and are recorded in
//! `schema_migrations`: a replica starting after another applies nothing.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::{Client, NoTls, Row};

use super::PgStatus;
use crate::monitor::record::RequestRecord;
use crate::monitor::store::{DailyTotal, LogFilter, Retention, TimelineRow, UsageBy, UsageRow};
use crate::monitor::{now_ms, totals_of};

/// The schema's migrations, in order: version, name, SQL.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("001_init.sql")),
    (2, "estimated_tokens", include_str!("002_estimated_tokens.sql")),
];

/// Records kept in memory while Postgres is away; past this, new ones are dropped.
pub const BACKLOG: usize = 10_000;
/// Records written per transaction at most.
const BATCH: usize = 256;
/// Records waiting in the queue from the monitor to the writer.
pub const QUEUE: usize = 4096;
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a reader waits for its answer.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest pause between attempts to reach a Postgres that is away.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The advisory lock key migrations run under ("switchyd").
const MIGRATION_LOCK: i64 = 0x7377_6974_6368_7964;

/// The migrations not yet among `applied`, in order.
fn pending(applied: &[i32]) -> Vec<(i32, &'static str, &'static str)> {
    MIGRATIONS
        .iter()
        .filter(|(version, _, _)| !applied.contains(version))
        .copied()
        .collect()
}

/// Records waiting for Postgres: bounded, oldest first, drops counted.
#[derive(Debug)]
struct Backlog {
    queue: VecDeque<RequestRecord>,
    cap: usize,
}

impl Backlog {
    fn new(cap: usize) -> Backlog {
        Backlog {
            queue: VecDeque::new(),
            cap,
        }
    }

    /// Keeps `record` unless the backlog is full; says whether it was kept.
    fn push(&mut self, record: RequestRecord) -> bool {
        if self.queue.len() >= self.cap {
            return false;
        }
        self.queue.push_back(record);
        true
    }

    /// The oldest `n` records at most (they stay until `done`).
    fn next(&self, n: usize) -> Vec<RequestRecord> {
        self.queue.iter().take(n).cloned().collect()
    }

    /// The oldest `n` records were written.
    fn done(&mut self, n: usize) {
        self.queue.drain(..n.min(self.queue.len()));
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}

/// The SQL expression grouping the log by `by`.
fn group_key(by: UsageBy) -> &'static str {
    match by {
        UsageBy::Model => "COALESCE(served_model, model)",
        UsageBy::Account => "COALESCE(account, '-')",
        UsageBy::Day => "to_char(to_timestamp(time_ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        UsageBy::Key => "COALESCE(key_name, '-')",
    }
}

/// The column grouping the daily totals by `by`.
fn totals_key(by: UsageBy) -> &'static str {
    match by {
        UsageBy::Model => "model",
        UsageBy::Account => "account",
        UsageBy::Day => "day",
        UsageBy::Key => "key_name",
    }
}

/// The state of the log that `/api/status` and the metrics show.
#[derive(Debug, Default)]
struct State {
    connected: AtomicBool,
    buffered: AtomicU64,
    dropped: AtomicU64,
    written: AtomicU64,
}

struct Inner {
    url: String,
    state: State,
    reader: Mutex<Option<Arc<Client>>>,
}

/// A handle on one Postgres request log (clone freely).
#[derive(Clone)]
pub struct PgLog {
    inner: Arc<Inner>,
    handle: tokio::runtime::Handle,
    /// Keeps the runtime's thread alive while a handle lives.
    _alive: Arc<oneshot::Sender<()>>,
}

impl std::fmt::Debug for PgLog {
    // The URL may hold a password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLog").finish_non_exhaustive()
    }
}

/// The writer's end: the monitor's records go in here.
pub type Writer = mpsc::Sender<RequestRecord>;

impl PgLog {
    /// Starts the log's thread; with `retention`, also its writer, whose
    /// queue is returned.
    pub fn start(url: &str, retention: Option<Retention>) -> Result<(PgLog, Option<Writer>), String> {
        // Parsed here so that a malformed URL is an error at start.
        url.parse::<tokio_postgres::Config>()
            .map_err(|err| format!("the Postgres URL is not valid: {err}"))?;
        let inner = Arc::new(Inner {
            url: url.to_string(),
            state: State::default(),
            reader: Mutex::new(None),
        });
        let (writer, records) = match retention {
            Some(_) => {
                let (tx, rx) = mpsc::channel(QUEUE);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let (alive, stopped) = oneshot::channel::<()>();
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let thread_inner = inner.clone();
        std::thread::Builder::new()
            .name("switchyard-pg".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = handle_tx.send(Err(err.to_string()));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(runtime.handle().clone()));
                runtime.block_on(async move {
                    if let (Some(records), Some(retention)) = (records, retention) {
                        write_loop(&thread_inner, records, retention).await;
                    }
                    // Readers go on until the last handle is dropped.
                    let _ = stopped.await;
                });
            })
            .map_err(|err| err.to_string())?;
        let handle = handle_rx
            .recv()
            .map_err(|err| err.to_string())
            .and_then(|handle| handle)?;
        Ok((
            PgLog {
                inner,
                handle,
                _alive: Arc::new(alive),
            },
            writer,
        ))
    }

    /// The log's state for `/api/status`.
    pub fn status(&self) -> PgStatus {
        let state = &self.inner.state;
        PgStatus {
            backend: "postgres".into(),
            state: if state.connected.load(Ordering::Relaxed) {
                "ok"
            } else {
                "down"
            }
            .into(),
            buffered: state.buffered.load(Ordering::Relaxed),
            dropped: state.dropped.load(Ordering::Relaxed),
            written: state.written.load(Ordering::Relaxed),
        }
    }

    /// A record the monitor's queue had no room for.
    pub fn dropped(&self) {
        self.inner.state.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `read` on the reader connection (connecting it first when
    /// needed) and waits for its answer, from any thread.
    fn read<T, F, Fut>(&self, read: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Client>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let inner = self.inner.clone();
        self.handle.spawn(async move {
            let answer = match reader(&inner).await {
                Ok(client) => read(client).await.map_err(|err| err.to_string()),
                Err(err) => Err(err),
            };
            let _ = tx.send(answer);
        });
        rx.recv_timeout(READ_TIMEOUT)
            .map_err(|_| "the Postgres request log did not answer".to_string())?
    }

    /// Records matching `filter`, newest first, with their row ids.
    pub fn query(&self, filter: &LogFilter) -> Result<Vec<(i64, RequestRecord)>, String> {
        let filter = filter.clone();
        self.read(move |client| async move {
            let rows = client
                .query(
                    "SELECT row, id, time_ms, client, route, model, served_model, account, account_id, stream, status,
                            total_ms, upstream_ms, overhead_ms, ttfb_ms, input_tokens, output_tokens, cached_tokens,
                            attempts, error, request_body, response_body, key_name, fell_back, cache_write_tokens,
                            cost_usd, estimated_tokens
                     FROM requests
                     WHERE ($1::BIGINT IS NULL OR time_ms >= $1)
                       AND ($2::TEXT IS NULL OR model = $2 OR served_model = $2)
                       AND ($3::TEXT IS NULL OR account = $3 OR account_id = $3)
                       AND ($4::BIGINT IS NULL OR row > $4)
                       AND ($6::TEXT IS NULL OR key_name = $6)
                     ORDER BY row DESC LIMIT $5",
                    &[
                        &filter.since_ms,
                        &filter.model,
                        &filter.account,
                        &filter.after_row,
                        &(filter.limit as i64),
                        &filter.key,
                    ],
                )
                .await?;
            rows.iter().map(record_of).collect()
        })
    }

    /// Totals grouped by `by`, for records at or after `since_ms`.
    pub fn usage(&self, by: UsageBy, since_ms: Option<i64>) -> Result<Vec<UsageRow>, String> {
        let sql = format!(
            "SELECT {key} AS k, COUNT(*)::BIGINT, COALESCE(SUM((status >= 300)::INT), 0)::BIGINT,
                    COALESCE(SUM(input_tokens), 0)::BIGINT, COALESCE(SUM(output_tokens), 0)::BIGINT,
                    COALESCE(SUM(cached_tokens), 0)::BIGINT, COALESCE(SUM(cache_write_tokens), 0)::BIGINT,
                    COALESCE(SUM(cost_usd), 0)::FLOAT8,
                    COALESCE(SUM((cost_usd IS NULL AND input_tokens + output_tokens > 0)::INT), 0)::BIGINT
             FROM requests WHERE ($1::BIGINT IS NULL OR time_ms >= $1) GROUP BY k ORDER BY k",
            key = group_key(by)
        );
        self.read(move |client| async move {
            let rows = client.query(&sql, &[&since_ms]).await?;
            rows.iter().map(usage_row).collect()
        })
    }

    /// Totals grouped by `by` from the daily totals, for the UTC days from
    /// `since_day` on.
    pub fn totals(&self, by: UsageBy, since_day: Option<&str>) -> Result<Vec<UsageRow>, String> {
        let sql = format!(
            "SELECT {key} AS k, SUM(requests)::BIGINT, SUM(errors)::BIGINT, SUM(input_tokens)::BIGINT,
                    SUM(output_tokens)::BIGINT, SUM(cached_tokens)::BIGINT, SUM(cache_write_tokens)::BIGINT,
                    SUM(cost_usd)::FLOAT8, SUM(unpriced)::BIGINT
             FROM daily_totals WHERE ($1::TEXT IS NULL OR day >= $1) GROUP BY k ORDER BY k",
            key = totals_key(by)
        );
        let since_day = since_day.map(str::to_string);
        self.read(move |client| async move {
            let rows = client.query(&sql, &[&since_day]).await?;
            rows.iter().map(usage_row).collect()
        })
    }

    /// The daily totals rows of the UTC days from `since_day` on.
    pub fn daily_totals(&self, since_day: &str) -> Result<Vec<DailyTotal>, String> {
        let since_day = since_day.to_string();
        self.read(move |client| async move {
            let rows = client
                .query(
                    "SELECT day, account_id, account, model, key_name, requests, errors, input_tokens, output_tokens,
                            cached_tokens, cache_write_tokens, cost_usd, unpriced
                     FROM daily_totals WHERE day >= $1 ORDER BY day, account_id, model, key_name",
                    &[&since_day],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(DailyTotal {
                        day: row.try_get(0)?,
                        account_id: row.try_get(1)?,
                        account: row.try_get(2)?,
                        model: row.try_get(3)?,
                        key: row.try_get(4)?,
                        requests: row.try_get::<_, i64>(5)? as u64,
                        errors: row.try_get::<_, i64>(6)? as u64,
                        input_tokens: row.try_get::<_, i64>(7)? as u64,
                        output_tokens: row.try_get::<_, i64>(8)? as u64,
                        cached_tokens: row.try_get::<_, i64>(9)? as u64,
                        cache_write_tokens: row.try_get::<_, i64>(10)? as u64,
                        cost_usd: row.try_get(11)?,
                        unpriced: row.try_get::<_, i64>(12)? as u64,
                    })
                })
                .collect()
        })
    }

    /// Calls and tokens per `bucket_ms` and per `by`, oldest first.
    pub fn timeline(&self, by: UsageBy, bucket_ms: i64, since_ms: Option<i64>) -> Result<Vec<TimelineRow>, String> {
        let sql = format!(
            "SELECT (time_ms / $2) * $2 AS b, {key} AS k, COUNT(*)::BIGINT, SUM(input_tokens)::BIGINT,
                    SUM(output_tokens)::BIGINT, COALESCE(SUM(cost_usd), 0)::FLOAT8
             FROM requests WHERE ($1::BIGINT IS NULL OR time_ms >= $1) GROUP BY b, k ORDER BY b, k",
            key = group_key(by)
        );
        let bucket_ms = bucket_ms.max(1);
        self.read(move |client| async move {
            let rows = client.query(&sql, &[&since_ms, &bucket_ms]).await?;
            rows.iter()
                .map(|row| {
                    Ok(TimelineRow {
                        bucket_ms: row.try_get(0)?,
                        key: row.try_get(1)?,
                        requests: row.try_get::<_, i64>(2)? as u64,
                        input_tokens: row.try_get::<_, i64>(3)? as u64,
                        output_tokens: row.try_get::<_, i64>(4)? as u64,
                        cost_usd: row.try_get(5)?,
                    })
                })
                .collect()
        })
    }

    /// Each client key's tokens, requests and last use since `since_ms`.
    pub fn key_usage(&self, since_ms: i64) -> Result<Vec<crate::keys::Usage>, String> {
        self.read(move |client| async move {
            let rows = client
                .query(
                    "SELECT key_name, SUM(input_tokens + output_tokens)::BIGINT, COUNT(*)::BIGINT, MAX(time_ms)
                     FROM requests WHERE key_name IS NOT NULL AND time_ms >= $1 GROUP BY key_name ORDER BY key_name",
                    &[&since_ms],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(crate::keys::Usage {
                        name: row.try_get(0)?,
                        tokens_today: row.try_get::<_, i64>(1)? as u64,
                        requests_today: row.try_get::<_, i64>(2)? as u64,
                        last_used_ms: row.try_get(3)?,
                    })
                })
                .collect()
        })
    }
}

/// A `usage` line from `key, requests, errors, input, output, cached,
/// cache write, cost, unpriced`.
fn usage_row(row: &Row) -> Result<UsageRow, tokio_postgres::Error> {
    Ok(UsageRow {
        key: row.try_get(0)?,
        requests: row.try_get::<_, i64>(1)? as u64,
        errors: row.try_get::<_, i64>(2)? as u64,
        input_tokens: row.try_get::<_, i64>(3)? as u64,
        output_tokens: row.try_get::<_, i64>(4)? as u64,
        cached_tokens: row.try_get::<_, i64>(5)? as u64,
        cache_write_tokens: row.try_get::<_, i64>(6)? as u64,
        cost_usd: row.try_get(7)?,
        unpriced: row.try_get::<_, i64>(8)? as u64,
    })
}

/// A log row as a record, with its row id.
fn record_of(row: &Row) -> Result<(i64, RequestRecord), tokio_postgres::Error> {
    Ok((
        row.try_get(0)?,
        RequestRecord {
            id: row.try_get(1)?,
            time_ms: row.try_get(2)?,
            client: row.try_get(3)?,
            route: row.try_get(4)?,
            model: row.try_get(5)?,
            served_model: row.try_get(6)?,
            account: row.try_get(7)?,
            account_id: row.try_get(8)?,
            stream: row.try_get(9)?,
            status: u16::try_from(row.try_get::<_, i32>(10)?).unwrap_or(0),
            total_ms: row.try_get(11)?,
            upstream_ms: row.try_get(12)?,
            overhead_ms: row.try_get(13)?,
            ttfb_ms: row.try_get(14)?,
            input_tokens: row.try_get::<_, i64>(15)? as u64,
            output_tokens: row.try_get::<_, i64>(16)? as u64,
            cached_tokens: row.try_get::<_, i64>(17)? as u64,
            attempts: u32::try_from(row.try_get::<_, i32>(18)?).unwrap_or(0),
            error: row.try_get(19)?,
            request_body: row.try_get(20)?,
            response_body: row.try_get(21)?,
            key: row.try_get(22)?,
            fell_back: row.try_get(23)?,
            cache_write_tokens: row.try_get::<_, i64>(24)? as u64,
            cost_usd: row.try_get(25)?,
            estimated_tokens: row.try_get(26)?,
        },
    ))
}

/// A new connection, its driver spawned on this runtime.
async fn connect(url: &str) -> Result<Client, String> {
    let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(url, NoTls))
        .await
        .map_err(|_| "connecting to Postgres timed out".to_string())?
        .map_err(|err| err.to_string())?;
    tokio::spawn(async move {
        // Ends when the server goes away or the client is dropped; the
        // client's next call reports it.
        let _ = connection.await;
    });
    Ok(client)
}

/// The readers' connection, made (again) when there is none that works.
async fn reader(inner: &Inner) -> Result<Arc<Client>, String> {
    let mut reader = inner.reader.lock().await;
    if let Some(client) = reader.as_ref().filter(|c| !c.is_closed()) {
        return Ok(client.clone());
    }
    let client = Arc::new(connect(&inner.url).await?);
    *reader = Some(client.clone());
    Ok(client)
}

/// Applies the migrations not applied yet, in one transaction under an
/// advisory lock (replicas may start together); returns how many ran.
pub(crate) async fn migrate(client: &mut Client) -> Result<usize, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let pending = pending(&applied);
    for (version, name, sql) in &pending {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(pending.len())
}

/// Writes `records` and their daily totals in one transaction.
async fn insert(client: &mut Client, records: &[RequestRecord]) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let insert = tx
        .prepare(
            "INSERT INTO requests (id, time_ms, client, route, model, served_model, account, account_id, stream,
             status, total_ms, upstream_ms, overhead_ms, ttfb_ms, input_tokens, output_tokens, cached_tokens,
             attempts, error, request_body, response_body, key_name, fell_back, cache_write_tokens, cost_usd,
             estimated_tokens)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
             $22, $23, $24, $25, $26)",
        )
        .await?;
    for r in records {
        tx.execute(
            &insert,
            &[
                &r.id,
                &r.time_ms,
                &r.client,
                &r.route,
                &r.model,
                &r.served_model,
                &r.account,
                &r.account_id,
                &r.stream,
                &i32::from(r.status),
                &r.total_ms,
                &r.upstream_ms,
                &r.overhead_ms,
                &r.ttfb_ms,
                &(r.input_tokens as i64),
                &(r.output_tokens as i64),
                &(r.cached_tokens as i64),
                &i32::try_from(r.attempts).unwrap_or(i32::MAX),
                &r.error,
                &r.request_body,
                &r.response_body,
                &r.key,
                &r.fell_back,
                &(r.cache_write_tokens as i64),
                &r.cost_usd,
                &r.estimated_tokens,
            ],
        )
        .await?;
    }
    let total = tx
        .prepare(
            "INSERT INTO daily_totals (day, account_id, account, model, key_name, requests, errors, input_tokens,
             output_tokens, cached_tokens, cache_write_tokens, cost_usd, unpriced)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (day, account_id, model, key_name) DO UPDATE SET
               account = excluded.account, requests = daily_totals.requests + excluded.requests,
               errors = daily_totals.errors + excluded.errors,
               input_tokens = daily_totals.input_tokens + excluded.input_tokens,
               output_tokens = daily_totals.output_tokens + excluded.output_tokens,
               cached_tokens = daily_totals.cached_tokens + excluded.cached_tokens,
               cache_write_tokens = daily_totals.cache_write_tokens + excluded.cache_write_tokens,
               cost_usd = daily_totals.cost_usd + excluded.cost_usd,
               unpriced = daily_totals.unpriced + excluded.unpriced",
        )
        .await?;
    for t in totals_of(records) {
        tx.execute(
            &total,
            &[
                &t.day,
                &t.account_id,
                &t.account,
                &t.model,
                &t.key,
                &(t.requests as i64),
                &(t.errors as i64),
                &(t.input_tokens as i64),
                &(t.output_tokens as i64),
                &(t.cached_tokens as i64),
                &(t.cache_write_tokens as i64),
                &t.cost_usd,
                &(t.unpriced as i64),
            ],
        )
        .await?;
    }
    tx.commit().await
}

/// Deletes what the retention limits exclude.
async fn trim(client: &Client, retention: Retention) -> Result<(), tokio_postgres::Error> {
    let cutoff = now_ms() - i64::from(retention.days) * 86_400_000;
    client
        .execute("DELETE FROM requests WHERE time_ms < $1", &[&cutoff])
        .await?;
    client
        .execute(
            "DELETE FROM requests WHERE row <= (SELECT MAX(row) FROM requests) - $1",
            &[&i64::try_from(retention.max_rows).unwrap_or(i64::MAX)],
        )
        .await?;
    Ok(())
}

/// The writer: takes the monitor's records, keeps them while Postgres is
/// away, writes them in batches. Ends when the monitor is gone and
/// everything it gave was written (or Postgres is away then).
async fn write_loop(inner: &Inner, mut records: mpsc::Receiver<RequestRecord>, retention: Retention) {
    let state = &inner.state;
    let mut backlog = Backlog::new(BACKLOG);
    let mut client: Option<Client> = None;
    let mut backoff = Duration::from_millis(100);
    let mut open = true;
    let mut written_since_trim = 0usize;
    let mut last_trim: Option<std::time::Instant> = None;
    let keep = |backlog: &mut Backlog, record: RequestRecord| {
        if !backlog.push(record) {
            state.dropped.fetch_add(1, Ordering::Relaxed);
        }
    };
    loop {
        if backlog.len() == 0 && open && client.is_some() {
            match records.recv().await {
                Some(record) => keep(&mut backlog, record),
                None => open = false,
            }
        }
        while let Ok(record) = records.try_recv() {
            keep(&mut backlog, record);
        }
        state.buffered.store(backlog.len() as u64, Ordering::Relaxed);
        if !open && backlog.len() == 0 {
            return;
        }
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            if client.take().is_some() || state.connected.swap(false, Ordering::Relaxed) {
                tracing::warn!(
                    buffered = backlog.len(),
                    "the Postgres request log is unreachable; keeping records in memory until it returns"
                );
            }
            match connect(&inner.url).await {
                Ok(mut new) => match migrate(&mut new).await {
                    Ok(applied) => {
                        if applied > 0 {
                            tracing::info!(applied, "applied the request log's schema migrations");
                        }
                        tracing::info!(buffered = backlog.len(), "the Postgres request log is reachable");
                        state.connected.store(true, Ordering::Relaxed);
                        backoff = Duration::from_millis(100);
                        client = Some(new);
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "the request log's schema migrations failed");
                    }
                },
                Err(err) => tracing::debug!(error = %err, "Postgres request log: cannot connect"),
            }
            if client.is_none() {
                if !open {
                    tracing::warn!(
                        lost = backlog.len(),
                        "the gateway stopped while Postgres was unreachable; records not written"
                    );
                    return;
                }
                // Wait, taking records meanwhile.
                let pause = tokio::time::sleep(backoff);
                tokio::pin!(pause);
                loop {
                    tokio::select! {
                        _ = &mut pause => break,
                        record = records.recv(), if open => match record {
                            Some(record) => keep(&mut backlog, record),
                            None => open = false,
                        },
                    }
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        }
        let Some(connected) = client.as_mut() else { continue };
        let batch = backlog.next(BATCH);
        if batch.is_empty() {
            continue;
        }
        match insert(connected, &batch).await {
            Ok(()) => {
                backlog.done(batch.len());
                state.written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                written_since_trim += batch.len();
            }
            Err(err) if connected.is_closed() => {
                tracing::debug!(error = %err, "Postgres request log: the connection ended");
            }
            Err(err) => {
                // Postgres is there but refuses these records: retrying
                // would refuse them forever.
                tracing::warn!(error = %err, records = batch.len(), "writing the request log failed");
                backlog.done(batch.len());
                state.dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
        state.buffered.store(backlog.len() as u64, Ordering::Relaxed);
        if written_since_trim >= 1000 || last_trim.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
            if let Some(connected) = client.as_ref()
                && let Err(err) = trim(connected, retention).await
            {
                tracing::warn!(error = %err, "trimming the request log failed");
            }
            written_since_trim = 0;
            last_trim = Some(std::time::Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, time_ms: i64, model: &str, account: &str) -> RequestRecord {
        RequestRecord {
            id: id.into(),
            time_ms,
            model: model.into(),
            served_model: Some(model.into()),
            account: Some(account.into()),
            account_id: Some(format!("id-{account}")),
            status: 200,
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: Some(0.25),
            ..RequestRecord::default()
        }
    }

    #[test]
    fn the_backlog_is_bounded_and_keeps_the_oldest_until_written() {
        let mut backlog = Backlog::new(3);
        for i in 0..5 {
            let kept = backlog.push(record(&i.to_string(), i, "m", "a"));
            assert_eq!(kept, i < 3, "record {i}");
        }
        let batch = backlog.next(2);
        assert_eq!(batch.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["0", "1"]);
        assert_eq!(backlog.len(), 3, "kept until written");
        backlog.done(batch.len());
        assert_eq!(backlog.next(10)[0].id, "2");
        assert!(backlog.push(record("5", 5, "m", "a")));
        backlog.done(10);
        assert_eq!(backlog.len(), 0);
    }

    #[test]
    fn a_batch_adds_one_totals_row_per_day_account_model_and_key() {
        let day = 86_400_000;
        let mut failed = record("b", 10, "gpt", "work");
        failed.status = 500;
        let mut unpriced = record("c", 20, "local", "work");
        unpriced.cost_usd = None;
        let mut keyed = record("d", 30, "gpt", "work");
        keyed.key = Some("ci".into());
        let rows = totals_of(&[
            record("a", 0, "gpt", "work"),
            failed,
            unpriced,
            keyed,
            record("e", day, "gpt", "work"),
        ]);
        assert_eq!(rows.len(), 4, "{rows:?}");
        let gpt = &rows[0];
        assert_eq!(
            (
                gpt.day.as_str(),
                gpt.key.as_str(),
                gpt.account_id.as_str(),
                gpt.account.as_str()
            ),
            ("1970-01-01", "-", "id-work", "work")
        );
        assert_eq!(
            (gpt.requests, gpt.errors, gpt.input_tokens, gpt.cost_usd),
            (2, 1, 20, 0.5)
        );
        assert_eq!(
            (rows[1].model.as_str(), rows[1].unpriced, rows[1].cost_usd),
            ("local", 1, 0.0)
        );
        assert_eq!((rows[2].key.as_str(), rows[2].requests), ("ci", 1));
        assert_eq!(rows[3].day, "1970-01-02");
    }

    #[test]
    fn migrations_are_ordered_and_only_the_missing_ones_run() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|(v, _, _)| *v).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        assert_eq!(pending(&[]).len(), MIGRATIONS.len());
        assert!(pending(&versions).is_empty());
        assert!(MIGRATIONS[0].2.contains("CREATE TABLE requests"));
    }

    #[test]
    fn a_malformed_url_is_refused_at_start() {
        let err = PgLog::start("postgres://host:notaport/db", None).unwrap_err();
        assert!(err.contains("not valid"), "{err}");
    }
}
