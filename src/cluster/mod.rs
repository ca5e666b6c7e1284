//! Team mode: the state several replicas of one team share through Redis.
//!
//! A [`Cluster`] is the one seam between the gateway and the shared state.
//! Without `[cluster] redis_url` it is local: every operation is a no-op
//! (or finds nothing) and each replica keeps today's in-process state. With
//! one, it is backed by Redis (`redis`, in builds with the `team` feature,
//! the default); a build without that feature has only the local cluster
//! (`local`) and refuses a Redis URL at start.

#[cfg(not(feature = "team"))]
mod local;
#[cfg(feature = "team")]
mod redis;

#[cfg(not(feature = "team"))]
pub use local::Cluster;
#[cfg(feature = "team")]
pub use redis::Cluster;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::pool::Pool;

/// How often a replica reads the others' account health, quota readings
/// and spending.
pub const SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// The current pool of a running gateway (it is replaced on reload);
/// `None` once the gateway has stopped.
pub type PoolSource = Arc<dyn Fn() -> Option<Arc<Pool>> + Send + Sync>;

/// The running sync task; stops when dropped.
#[derive(Debug)]
pub struct SyncTask {
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for SyncTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// How the cluster is doing, for `status` and `/api/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// `redis` (team mode).
    pub backend: String,
    /// `ok`, or `degraded` (serving from this replica's own state).
    pub state: String,
    /// Why it is degraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Failed Redis calls since start.
    pub errors: u64,
}

/// A cluster that could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL does not parse as a Redis URL (its text is not repeated: it
    /// may hold a password).
    #[error("the Redis URL (from {source_name}) is not valid: {why}; expected redis://host:port/db")]
    Url {
        /// Where it came from.
        source_name: String,
        /// What is wrong.
        why: String,
    },
    /// This build has no Redis client.
    #[error(
        "a Redis URL is set (from {source_name}), but this build of Switchyard has no team mode: build it with \
         the `team` feature (`cargo build --release`, which enables it by default), or remove the URL"
    )]
    NotBuilt {
        /// Where the URL came from.
        source_name: String,
    },
}

impl Cluster {
    /// `text` (an OpenMetrics exposition) with the cluster's metrics added
    /// before its `# EOF`: `switchyard_cluster_degraded` (1 while Redis is
    /// unreachable) and `switchyard_cluster_errors` (failed calls).
    pub fn with_metrics(&self, text: String) -> String {
        let Some(status) = self.status() else { return text };
        let ours = format!(
            "# HELP switchyard_cluster_degraded 1 while Redis is unreachable and this replica serves from its own \
             state.\n# TYPE switchyard_cluster_degraded gauge\nswitchyard_cluster_degraded {}\n\
             # HELP switchyard_cluster_errors Failed Redis calls.\n# TYPE switchyard_cluster_errors counter\n\
             switchyard_cluster_errors_total {}\n",
            u8::from(status.state == "degraded"),
            status.errors
        );
        match text.rfind("# EOF") {
            Some(at) => format!("{}{ours}{}", &text[..at], &text[at..]),
            None => text + &ours,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_cluster_shares_nothing() {
        let cluster = Cluster::local();
        assert!(!cluster.is_shared());
        assert_eq!(cluster.status(), None);
        assert_eq!(cluster.session("s").await, None);
        assert_eq!(cluster.conversation("resp_1").await, None);
        assert!(!cluster.is_revoked("h"));
        assert_eq!(cluster.admit_minute("k", 1).await, None);
        assert_eq!(cluster.with_metrics("# EOF\n".into()), "# EOF\n");
    }

    #[cfg(not(feature = "team"))]
    #[test]
    fn a_build_without_team_mode_refuses_a_redis_url_and_says_why() {
        let err = Cluster::redis("redis://:hunter2@127.0.0.1:6379/0", "SWITCHYARD_REDIS_URL", "p:").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("no team mode") && text.contains("SWITCHYARD_REDIS_URL"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}
