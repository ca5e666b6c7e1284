//! The request log as the CLI reads it: the SQLite file of this home, or
//! the Postgres log every replica writes (`[monitor] database_url` or
//! `SWITCHYARD_DATABASE_URL`). `logs`, `usage` and `keys list` ask it the
//! same questions either way.

use std::path::Path;

use super::pg::PgLog;
use super::record::RequestRecord;
use super::store::{LogFilter, Store, UsageBy, UsageRow};
use crate::secrets::{SecretStore, TeamUrl};

/// An open request log, read-only.
#[derive(Debug)]
pub enum LogReader {
    /// This home's `requests.sqlite3`.
    Sqlite(Store),
    /// The team's Postgres log.
    Postgres(PgLog),
}

impl LogReader {
    /// The log `config` names: Postgres when a URL is set (in the
    /// environment, `store` or config.toml), else the SQLite file at `path`.
    pub fn open(config: &crate::config::Config, store: &dyn SecretStore, path: &Path) -> Result<LogReader, String> {
        let url = TeamUrl::Database
            .resolve(config, store)
            .map_err(|err| err.to_string())?;
        if let Some((url, _)) = url {
            return PgLog::start(&url, None).map(|(log, _)| LogReader::Postgres(log));
        }
        if !path.exists() {
            return Err(format!(
                "no request log yet at {} (the gateway writes it once it has served a request; `persist = false` \
                 under [monitor] turns it off)",
                path.display()
            ));
        }
        Store::open_read_only(path)
            .map(LogReader::Sqlite)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))
    }

    /// Records matching `filter`, newest first, with their row ids.
    pub fn query(&self, filter: &LogFilter) -> Result<Vec<(i64, RequestRecord)>, String> {
        match self {
            LogReader::Sqlite(store) => store.query(filter).map_err(|err| err.to_string()),
            LogReader::Postgres(log) => log.query(filter),
        }
    }

    /// Totals grouped by `by` from the request log itself, from `since_ms` on
    /// (exact, for windows shorter than a day).
    pub fn usage(&self, by: UsageBy, since_ms: Option<i64>) -> Result<Vec<UsageRow>, String> {
        match self {
            LogReader::Sqlite(store) => store.usage(by, since_ms).map_err(|err| err.to_string()),
            LogReader::Postgres(log) => log.usage(by, since_ms),
        }
    }

    /// Totals grouped by `by` from the daily totals, from `since_day` on.
    pub fn totals(&self, by: UsageBy, since_day: Option<&str>) -> Result<Vec<UsageRow>, String> {
        match self {
            LogReader::Sqlite(store) => store.totals(by, since_day).map_err(|err| err.to_string()),
            LogReader::Postgres(log) => log.totals(by, since_day),
        }
    }

    /// Each client key's use since `since_ms`.
    pub fn key_usage(&self, since_ms: i64) -> Result<Vec<crate::keys::Usage>, String> {
        match self {
            LogReader::Sqlite(store) => store.key_usage(since_ms).map_err(|err| err.to_string()),
            LogReader::Postgres(log) => log.key_usage(since_ms),
        }
    }
}
