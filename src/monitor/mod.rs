//! The proxy monitor: a record of every API call, kept in a bounded ring in
//! memory, streamed live to the dashboard, persisted to SQLite, and counted
//! in Prometheus metrics.
//!
//! Recording never blocks the request path: the ring and the metrics take a
//! short lock, the live feed is a broadcast channel, and the database
//! writer is a thread fed through a bounded queue that drops (and counts)
//! records rather than wait when the disk falls behind.

pub mod export;
pub mod metrics;
pub mod pg;
pub mod reader;
pub mod record;
pub mod redact;
mod ring;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

pub use metrics::Metrics;
pub use reader::LogReader;
pub use record::RequestRecord;
pub use redact::{Redactor, SharedRedactor};
pub use store::{DailyTotal, LogFilter, Retention, Store, TimelineRow, UsageBy, UsageRow};

use crate::pricing::Prices;

/// Records kept in memory for the dashboard and `/api/logs`.
const RING: usize = 500;
/// Records waiting for the database writer before new ones are dropped.
const WRITER_QUEUE: usize = 4096;
/// Records written per transaction at most.
const BATCH: usize = 256;
/// The least time between two rounds of the request log's writer: what
/// arrives meanwhile is written in the next round, in one transaction.
const WRITE_EVERY: Duration = Duration::from_millis(20);

/// The request log's file name in the state directory.
pub const DATABASE: &str = "requests.sqlite3";

/// How the monitor is set up.
#[derive(Clone)]
pub struct MonitorSettings {
    /// The database file; `None` keeps records in memory only.
    pub database: Option<PathBuf>,
    /// Retention limits of the database.
    pub retention: Retention,
    /// Store request/response bodies, capped at this many bytes; `None` stores none.
    pub body_limit: Option<usize>,
    /// Exact secrets to redact from stored bodies.
    pub secrets: Vec<String>,
    /// Team mode: the request log in Postgres at this URL instead of the
    /// database file.
    pub postgres: Option<String>,
}

impl std::fmt::Debug for MonitorSettings {
    // The Postgres URL may hold a password: only whether there is one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorSettings")
            .field("database", &self.database)
            .field("retention", &self.retention)
            .field("body_limit", &self.body_limit)
            .field("postgres", &self.postgres.is_some())
            .finish_non_exhaustive()
    }
}

/// Where the monitor's records go.
#[derive(Debug)]
enum Writer {
    /// The SQLite writer thread's queue.
    Sqlite(SyncSender<RequestRecord>),
    /// The Postgres writer's queue.
    Postgres(pg::Writer),
}

/// The monitor of one running gateway.
pub struct Monitor {
    ring: Mutex<ring::Ring>,
    live: broadcast::Sender<Arc<RequestRecord>>,
    writer: Option<Writer>,
    /// The Postgres log, when the records go there.
    pg: Option<pg::PgLog>,
    metrics: Metrics,
    /// Swapped when the gateway's secrets change (accounts reloaded, key
    /// rotated); shared with the upstream layer, which redacts error texts.
    redactor: SharedRedactor,
    /// The prices each record's cost is figured at; swapped on reload.
    prices: arc_swap::ArcSwap<Prices>,
    /// What each account spent this month: the budgets' figures.
    spending: Arc<crate::pool::budget::Spending>,
    settings: MonitorSettings,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("database", &self.settings.database)
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// A monitor; starts the database writer when a database is set.
    pub fn start(mut settings: MonitorSettings) -> Monitor {
        if settings.postgres.is_some() {
            // The records are the team's, in Postgres: a SQLite file left
            // by single-user days is neither written nor read.
            settings.database = None;
        }
        let (pg, writer) = match settings.postgres.as_deref() {
            Some(url) => match pg::PgLog::start(url, Some(settings.retention)) {
                Ok((log, writer)) => (Some(log), writer.map(Writer::Postgres)),
                Err(err) => {
                    tracing::warn!(error = %err, "the Postgres request log cannot be started; keeping records in memory only");
                    (None, None)
                }
            },
            None => (
                None,
                settings
                    .database
                    .as_deref()
                    .and_then(|path| match spawn_writer(path, settings.retention) {
                        Ok(writer) => Some(Writer::Sqlite(writer)),
                        Err(err) => {
                            tracing::warn!(path = %path.display(), error = %err, "the request log cannot be written; keeping records in memory only");
                            None
                        }
                    }),
            ),
        };
        let spending = Arc::new(crate::pool::budget::Spending::default());
        if let Some(log) = &pg {
            let month = crate::pool::budget::month_start_day(now_ms());
            match log.daily_totals(&month) {
                Ok(totals) => spending.seed(&totals),
                Err(err) => {
                    tracing::warn!(error = %err, "the daily totals cannot be read from Postgres; budgets count from now")
                }
            }
        } else if let Some(path) = settings.database.as_deref()
            && path.exists()
        {
            // Budgets start from what the month's daily totals hold.
            let month = crate::pool::budget::month_start_day(now_ms());
            match Store::open_read_only(path).and_then(|store| store.daily_totals(&month)) {
                Ok(totals) => spending.seed(&totals),
                Err(err) => {
                    tracing::warn!(error = %err, "the daily totals cannot be read; budgets count from now")
                }
            }
        }
        let (live, _) = broadcast::channel(256);
        Monitor {
            ring: Mutex::new(ring::Ring::new(RING)),
            live,
            writer,
            pg,
            metrics: Metrics::default(),
            redactor: SharedRedactor::new(Redactor::new(settings.secrets.clone())),
            prices: arc_swap::ArcSwap::from_pointee(Prices::built_in()),
            spending,
            settings,
        }
    }

    /// A monitor that keeps records in memory only.
    pub fn in_memory() -> Monitor {
        Monitor::start(MonitorSettings {
            database: None,
            retention: Retention {
                days: 30,
                max_rows: 100_000,
            },
            body_limit: None,
            secrets: Vec::new(),
            postgres: None,
        })
    }

    /// Figures records' costs at `prices` from now on (`[prices]` changed).
    pub fn set_prices(&self, prices: Prices) {
        self.prices.store(Arc::new(prices));
    }

    /// What each account spent this month (fed by every record).
    pub fn spending(&self) -> Arc<crate::pool::budget::Spending> {
        self.spending.clone()
    }

    /// The prices records are figured at.
    pub fn prices(&self) -> Arc<Prices> {
        self.prices.load_full()
    }

    /// Takes a finished call's record, figures its cost. Never waits.
    pub fn record(&self, mut record: RequestRecord) {
        record.cost_usd = self.prices.load().cost(record.priced_model(), record.tokens());
        if let Some(account) = &record.account_id {
            let tokens = record.input_tokens.saturating_add(record.output_tokens);
            self.spending
                .add(account, record.time_ms, record.cost_usd.unwrap_or(0.0), tokens);
        }
        self.metrics.observe(&record);
        self.ring.lock().unwrap_or_else(|p| p.into_inner()).push(&record);
        if self.live.receiver_count() > 0 {
            let _ = self.live.send(Arc::new(record.clone()));
        }
        match &self.writer {
            Some(Writer::Sqlite(writer)) => match writer.try_send(record) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => self.metrics.dropped(),
                Err(TrySendError::Disconnected(_)) => {}
            },
            Some(Writer::Postgres(writer)) => {
                if let Err(tokio::sync::mpsc::error::TrySendError::Full(_)) = writer.try_send(record) {
                    self.metrics.dropped();
                    if let Some(log) = &self.pg {
                        log.dropped();
                    }
                }
            }
            None => {}
        }
    }

    /// A body as it may be stored: `None` unless body storage is on;
    /// credentials redacted and the size capped.
    pub fn body(&self, bytes: &[u8]) -> Option<String> {
        // Looked at only when kept: most gateways keep no bodies.
        let limit = self.settings.body_limit?;
        Some(self.redactor.load().clean(&String::from_utf8_lossy(bytes), limit))
    }

    /// The redactor of this gateway's secrets, for everything else that
    /// redacts (it follows [`Monitor::set_secrets`]).
    pub fn redactor(&self) -> SharedRedactor {
        self.redactor.clone()
    }

    /// Redacts these exact secrets from now on, instead of those given so far.
    pub fn set_secrets(&self, secrets: Vec<String>) {
        self.redactor.store(Arc::new(Redactor::new(secrets)));
    }

    /// Redacts `secret` too from now on (a new gateway key).
    pub fn add_secret(&self, secret: &str) {
        let mut known = self.redactor.load().known().to_vec();
        known.push(secret.to_string());
        self.set_secrets(known);
    }

    /// Recent records from memory, newest first.
    pub fn recent(&self, filter: &LogFilter) -> Vec<Arc<RequestRecord>> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.iter()
            .rev()
            .filter(|r| filter.since_ms.is_none_or(|since| r.time_ms >= since))
            .filter(|r| {
                filter
                    .model
                    .as_deref()
                    .is_none_or(|m| r.model == m || r.served_model.as_deref() == Some(m))
            })
            .filter(|r| {
                filter
                    .account
                    .as_deref()
                    .is_none_or(|a| r.account.as_deref() == Some(a) || r.account_id.as_deref() == Some(a))
                    && filter.key.as_deref().is_none_or(|k| r.key.as_deref() == Some(k))
            })
            .take(filter.limit.max(1))
            .cloned()
            .collect()
    }

    /// Usage totals, from the database when there is one (all of the
    /// retained history), else from the records in memory.
    pub fn usage(&self, by: UsageBy, since_ms: Option<i64>) -> Vec<UsageRow> {
        if let Some(Ok(rows)) = self.pg.as_ref().map(|log| log.usage(by, since_ms)) {
            return rows;
        }
        if let Some(path) = &self.settings.database
            && let Ok(rows) = Store::open_read_only(path).and_then(|store| store.usage(by, since_ms))
        {
            return rows;
        }
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let mut rows: Vec<UsageRow> = Vec::new();
        for record in ring.iter().filter(|r| since_ms.is_none_or(|s| r.time_ms >= s)) {
            let key = group_of(record, by);
            let row = match rows.iter_mut().find(|row| row.key == key) {
                Some(row) => row,
                None => {
                    rows.push(UsageRow {
                        key,
                        requests: 0,
                        errors: 0,
                        input_tokens: 0,
                        output_tokens: 0,
                        cached_tokens: 0,
                        cache_write_tokens: 0,
                        cost_usd: 0.0,
                        unpriced: 0,
                    });
                    rows.last_mut().expect("just pushed")
                }
            };
            row.requests += 1;
            row.errors += u64::from(record.status >= 300);
            row.input_tokens = row.input_tokens.saturating_add(record.input_tokens);
            row.output_tokens = row.output_tokens.saturating_add(record.output_tokens);
            row.cached_tokens = row.cached_tokens.saturating_add(record.cached_tokens);
            row.cache_write_tokens = row.cache_write_tokens.saturating_add(record.cache_write_tokens);
            row.cost_usd += record.cost_usd.unwrap_or(0.0);
            row.unpriced += u64::from(record.cost_usd.is_none() && record.input_tokens + record.output_tokens > 0);
        }
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        rows
    }

    /// The daily totals from the UTC day `since_day` on: from the database
    /// when there is one (they outlive its retention), else from memory.
    pub fn daily_totals(&self, since_day: &str) -> Vec<DailyTotal> {
        if let Some(Ok(rows)) = self.pg.as_ref().map(|log| log.daily_totals(since_day)) {
            return rows;
        }
        if let Some(path) = &self.settings.database
            && let Ok(rows) = Store::open_read_only(path).and_then(|store| store.daily_totals(since_day))
        {
            return rows;
        }
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        totals_of(
            ring.iter()
                .map(|record| &**record)
                .filter(|record| day_of(record.time_ms).as_str() >= since_day),
        )
    }

    /// Each client key's use since `since_ms`: from the database when there
    /// is one, else from the records in memory.
    pub fn key_usage(&self, since_ms: i64) -> Vec<crate::keys::Usage> {
        if let Some(Ok(rows)) = self.pg.as_ref().map(|log| log.key_usage(since_ms)) {
            return rows;
        }
        if let Some(path) = &self.settings.database
            && let Ok(rows) = Store::open_read_only(path).and_then(|store| store.key_usage(since_ms))
        {
            return rows;
        }
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let mut usage: Vec<crate::keys::Usage> = Vec::new();
        for record in ring.iter().filter(|r| r.time_ms >= since_ms) {
            let Some(name) = &record.key else { continue };
            let row = match usage.iter_mut().position(|row| &row.name == name) {
                Some(at) => &mut usage[at],
                None => {
                    usage.push(crate::keys::Usage {
                        name: name.clone(),
                        ..Default::default()
                    });
                    usage.last_mut().expect("just pushed")
                }
            };
            row.tokens_today = row
                .tokens_today
                .saturating_add(record.input_tokens.saturating_add(record.output_tokens));
            row.requests_today += 1;
            row.last_used_ms = row.last_used_ms.max(Some(record.time_ms));
        }
        usage
    }

    /// Recent records: the newest from memory (the database may lag behind
    /// its writer), older ones from the database when there is one.
    ///
    /// With the Postgres log, every replica's records: the database's and
    /// this replica's not written yet, newest first.
    pub fn logs(&self, filter: &LogFilter) -> Vec<RequestRecord> {
        let mut records: Vec<RequestRecord> = self.recent(filter).iter().map(|r| (**r).clone()).collect();
        if let Some(Ok(rows)) = self.pg.as_ref().map(|log| log.query(filter)) {
            let stored: std::collections::HashSet<String> = rows.iter().map(|(_, r)| r.id.clone()).collect();
            records.retain(|r| !stored.contains(&r.id));
            records.extend(rows.into_iter().map(|(_, record)| record));
            records.sort_by_key(|r| std::cmp::Reverse(r.time_ms));
            records.truncate(filter.limit.max(1));
            return records;
        }
        if records.len() < filter.limit
            && let Some(path) = &self.settings.database
            && let Ok(rows) = Store::open_read_only(path).and_then(|store| store.query(filter))
        {
            let seen: std::collections::HashSet<String> = records.iter().map(|r| r.id.clone()).collect();
            let oldest = records.last().map_or(i64::MAX, |r| r.time_ms);
            records.extend(
                rows.into_iter()
                    .map(|(_, record)| record)
                    .filter(|record| !seen.contains(&record.id) && record.time_ms <= oldest)
                    .take(filter.limit - records.len()),
            );
        }
        records
    }

    /// Calls and tokens over time, per `bucket_ms`, grouped by `by`.
    pub fn timeline(&self, by: UsageBy, bucket_ms: i64, since_ms: Option<i64>) -> Vec<TimelineRow> {
        if let Some(Ok(rows)) = self.pg.as_ref().map(|log| log.timeline(by, bucket_ms, since_ms)) {
            return rows;
        }
        if let Some(path) = &self.settings.database
            && let Ok(rows) = Store::open_read_only(path).and_then(|store| store.timeline(by, bucket_ms, since_ms))
        {
            return rows;
        }
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let mut rows: Vec<TimelineRow> = Vec::new();
        for record in ring.iter().filter(|r| since_ms.is_none_or(|s| r.time_ms >= s)) {
            let bucket_ms = record.time_ms.div_euclid(bucket_ms.max(1)) * bucket_ms.max(1);
            // A timeline's buckets are its days: "by day" draws models.
            let key = match by {
                UsageBy::Day => group_of(record, UsageBy::Model),
                by => group_of(record, by),
            };
            match rows.iter_mut().find(|row| row.bucket_ms == bucket_ms && row.key == key) {
                Some(row) => {
                    row.requests += 1;
                    row.input_tokens = row.input_tokens.saturating_add(record.input_tokens);
                    row.output_tokens = row.output_tokens.saturating_add(record.output_tokens);
                    row.cost_usd += record.cost_usd.unwrap_or(0.0);
                }
                None => rows.push(TimelineRow {
                    bucket_ms,
                    key,
                    requests: 1,
                    input_tokens: record.input_tokens,
                    output_tokens: record.output_tokens,
                    cost_usd: record.cost_usd.unwrap_or(0.0),
                }),
            }
        }
        rows.sort_by(|a, b| (a.bucket_ms, &a.key).cmp(&(b.bucket_ms, &b.key)));
        rows
    }

    /// A live feed of records as they finish.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<RequestRecord>> {
        self.live.subscribe()
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The Postgres log's state (`None` without one), for `/api/status`.
    pub fn log_status(&self) -> Option<pg::PgStatus> {
        self.pg.as_ref().map(pg::PgLog::status)
    }

    /// `text` (the metrics) with the Postgres log's gauges added.
    pub fn with_log_metrics(&self, text: String) -> String {
        let Some(status) = self.log_status() else { return text };
        let ours = format!(
            "# HELP switchyard_request_log_down 1 while the Postgres request log is unreachable.\n\
             # TYPE switchyard_request_log_down gauge\nswitchyard_request_log_down {}\n\
             # HELP switchyard_request_log_buffered Records kept in memory until Postgres takes them.\n\
             # TYPE switchyard_request_log_buffered gauge\nswitchyard_request_log_buffered {}\n\
             # HELP switchyard_request_log_dropped Records dropped because the backlog for Postgres was full.\n\
             # TYPE switchyard_request_log_dropped counter\nswitchyard_request_log_dropped_total {}\n",
            u8::from(status.state != "ok"),
            status.buffered,
            status.dropped
        );
        match text.rfind("# EOF") {
            Some(at) => format!("{}{ours}{}", &text[..at], &text[at..]),
            None => text + &ours,
        }
    }
}

/// The group `record` falls in when usage is grouped `by`.
fn group_of(record: &RequestRecord, by: UsageBy) -> String {
    match by {
        UsageBy::Model => record.served_model.clone().unwrap_or_else(|| record.model.clone()),
        UsageBy::Account => record.account.clone().unwrap_or_else(|| "-".into()),
        UsageBy::Day => day_of(record.time_ms),
        UsageBy::Key => record.key.clone().unwrap_or_else(|| "-".into()),
    }
}

/// `YYYY-MM-DD` (UTC) of a time in ms since the epoch.
/// What `records` add to the daily totals, one row per UTC day, account,
/// model and client key, each with the account's label as last recorded
/// (as the SQLite and Postgres upserts keep it). Postgres adds a batch's
/// rows with it; with no database the totals come from the records in memory.
pub(crate) fn totals_of<'a>(records: impl IntoIterator<Item = &'a RequestRecord>) -> Vec<DailyTotal> {
    let mut rows: Vec<DailyTotal> = Vec::new();
    for r in records {
        let day = day_of(r.time_ms);
        let account_id = r.account_id.clone().unwrap_or_else(|| "-".into());
        let model = r.priced_model().to_string();
        let key = r.key.clone().unwrap_or_else(|| "-".into());
        let at = rows
            .iter()
            .position(|t| t.day == day && t.account_id == account_id && t.model == model && t.key == key);
        let row = match at {
            Some(at) => &mut rows[at],
            None => {
                rows.push(DailyTotal {
                    day,
                    account_id,
                    account: String::new(),
                    model,
                    key,
                    requests: 0,
                    errors: 0,
                    input_tokens: 0,
                    output_tokens: 0,
                    cached_tokens: 0,
                    cache_write_tokens: 0,
                    cost_usd: 0.0,
                    unpriced: 0,
                });
                rows.last_mut().expect("just pushed")
            }
        };
        // The label as last recorded.
        row.account = r.account.clone().unwrap_or_else(|| "-".into());
        row.requests += 1;
        row.errors += u64::from(r.status >= 300);
        row.input_tokens = row.input_tokens.saturating_add(r.input_tokens);
        row.output_tokens = row.output_tokens.saturating_add(r.output_tokens);
        row.cached_tokens = row.cached_tokens.saturating_add(r.cached_tokens);
        row.cache_write_tokens = row.cache_write_tokens.saturating_add(r.cache_write_tokens);
        row.cost_usd += r.cost_usd.unwrap_or(0.0);
        row.unpriced += u64::from(r.cost_usd.is_none() && r.input_tokens + r.output_tokens > 0);
    }
    rows
}

pub fn day_of(time_ms: i64) -> String {
    let time = std::time::UNIX_EPOCH + Duration::from_millis(time_ms.max(0) as u64);
    humantime::format_rfc3339_seconds(time).to_string()[..10].to_string()
}

/// Starts the thread that writes records to the database in batches and
/// applies the retention limits.
fn spawn_writer(path: &Path, retention: Retention) -> Result<SyncSender<RequestRecord>, String> {
    if let Some(dir) = path.parent() {
        crate::home::create_private_dir(dir).map_err(|err| err.to_string())?;
    }
    let mut store = Store::open(path).map_err(|err| err.to_string())?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<RequestRecord>(WRITER_QUEUE);
    std::thread::Builder::new()
        .name("switchyard-log".into())
        .spawn(move || {
            yield_to_calls();
            if let Err(err) = store.trim(retention, now_ms()) {
                tracing::warn!(error = %err, "trimming the request log failed");
            }
            let mut batch = Vec::with_capacity(BATCH);
            // Ends when the monitor (the only sender) is dropped.
            while let Ok(first) = rx.recv() {
                let round = std::time::Instant::now();
                batch.push(first);
                loop {
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(record) => batch.push(record),
                            Err(_) => break,
                        }
                    }
                    if let Err(err) = store.append(&batch, retention, now_ms()) {
                        tracing::warn!(error = %err, records = batch.len(), "writing the request log failed");
                    }
                    let full = batch.len() == BATCH;
                    batch.clear();
                    if !full {
                        break;
                    }
                }
                // The records of the next WRITE_EVERY wait for one commit
                // together, instead of one commit each.
                std::thread::sleep(WRITE_EVERY.saturating_sub(round.elapsed()));
            }
        })
        .map_err(|err| err.to_string())?;
    Ok(tx)
}

/// The writer yields to the calls it logs: on Linux it leaves any
/// real-time policy it inherited and runs at nice 10, so that a worker with
/// a call to answer preempts it (on a loaded core, a commit in the middle
/// of a call was that call's added latency).
fn yield_to_calls() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread (pid 0 is the
    // calling thread for both on Linux); a failure leaves it as it was.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_OTHER, &param);
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_given_later_are_redacted_too() {
        let monitor = Monitor::start(MonitorSettings {
            database: None,
            retention: Retention { days: 1, max_rows: 10 },
            body_limit: Some(1024),
            secrets: vec!["first-plain-secret".into()],
            postgres: None,
        });
        monitor.add_secret("rotated-plain-key");
        let stored = monitor.body(b"first-plain-secret and rotated-plain-key").unwrap();
        assert!(
            !stored.contains("first-plain-secret") && !stored.contains("rotated-plain-key"),
            "{stored}"
        );
        monitor.set_secrets(vec!["reloaded-plain-secret".into()]);
        let stored = monitor.body(b"reloaded-plain-secret").unwrap();
        assert!(!stored.contains("reloaded-plain-secret"), "{stored}");
    }

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
        assert_eq!(day_of(1_795_219_200_000), "2026-11-21");
    }

    #[test]
    fn the_ring_keeps_the_newest_and_filters() {
        let monitor = Monitor::in_memory();
        for i in 0..(RING + 10) {
            monitor.record(RequestRecord {
                id: i.to_string(),
                time_ms: i as i64,
                model: if i % 2 == 0 { "even" } else { "odd" }.into(),
                ..RequestRecord::default()
            });
        }
        let newest = monitor.recent(&LogFilter {
            limit: 3,
            ..LogFilter::default()
        });
        assert_eq!(
            newest.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["509", "508", "507"]
        );
        let even = monitor.recent(&LogFilter {
            model: Some("even".into()),
            limit: 1000,
            ..LogFilter::default()
        });
        assert_eq!(even.len(), RING / 2);
        assert_eq!(monitor.usage(UsageBy::Model, None).len(), 2);
    }
}
