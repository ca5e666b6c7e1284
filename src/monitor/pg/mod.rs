//! The request log in Postgres (team mode, `[monitor] database_url`): every
//! replica writes its records to one database and reads everyone's.
//!
//! The client (`postgres`) is in builds with the `team` feature, the
//! default. A build without it has a log type with no value (`absent`): the
//! gateway refuses a database URL at start, so the monitor never holds one.

#[cfg(not(feature = "team"))]
mod absent;
#[cfg(feature = "team")]
mod postgres;

#[cfg(not(feature = "team"))]
pub use absent::{PgLog, Writer};
#[cfg(feature = "team")]
pub use postgres::{PgLog, Writer};

use serde::{Deserialize, Serialize};

/// What `/api/status` says of the Postgres log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgStatus {
    /// `postgres`.
    pub backend: String,
    /// `ok` while the writer is connected, else `down`.
    pub state: String,
    /// Records waiting in memory for Postgres.
    pub buffered: u64,
    /// Records dropped because the backlog was full.
    pub dropped: u64,
    /// Records written since start.
    pub written: u64,
}
