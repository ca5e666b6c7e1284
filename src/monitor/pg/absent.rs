//! The Postgres log of a build without the `team` feature: a type with no
//! value. `start` refuses, so no `PgLog` ever exists and the monitor's
//! `Option<PgLog>` is always `None`; the methods below cannot be reached.

use super::PgStatus;
use crate::monitor::record::RequestRecord;
use crate::monitor::store::{DailyTotal, LogFilter, Retention, TimelineRow, UsageBy, UsageRow};

/// No Postgres log in this build.
#[derive(Debug, Clone)]
pub enum PgLog {}

/// The writer's end (never made in this build).
pub type Writer = tokio::sync::mpsc::Sender<RequestRecord>;

impl PgLog {
    /// Refused: this build has no Postgres client.
    pub fn start(_url: &str, _retention: Option<Retention>) -> Result<(PgLog, Option<Writer>), String> {
        Err(
            "this build of Switchyard has no team mode, so it cannot use a Postgres request log: build it with \
             the `team` feature (`cargo build --release`, which enables it by default)"
                .to_string(),
        )
    }

    pub fn status(&self) -> PgStatus {
        match *self {}
    }

    pub fn dropped(&self) {
        match *self {}
    }

    pub fn query(&self, _filter: &LogFilter) -> Result<Vec<(i64, RequestRecord)>, String> {
        match *self {}
    }

    pub fn usage(&self, _by: UsageBy, _since_ms: Option<i64>) -> Result<Vec<UsageRow>, String> {
        match *self {}
    }

    pub fn totals(&self, _by: UsageBy, _since_day: Option<&str>) -> Result<Vec<UsageRow>, String> {
        match *self {}
    }

    pub fn daily_totals(&self, _since_day: &str) -> Result<Vec<DailyTotal>, String> {
        match *self {}
    }

    pub fn timeline(&self, _by: UsageBy, _bucket_ms: i64, _since_ms: Option<i64>) -> Result<Vec<TimelineRow>, String> {
        match *self {}
    }

    pub fn key_usage(&self, _since_ms: i64) -> Result<Vec<crate::keys::Usage>, String> {
        match *self {}
    }
}
