//! The cluster of a build without the `team` feature: nothing is shared,
//! every operation finds nothing or does nothing, exactly as the Redis
//! cluster does without `[cluster] redis_url`; a Redis URL is refused at
//! start.

use std::time::Duration;

use super::{ClusterError, ClusterStatus, PoolSource, SyncTask};
use crate::pool::Pool;
use crate::protocol::model::Message;

/// The state shared between replicas: none, in this build.
#[derive(Debug, Clone, Default)]
pub struct Cluster;

impl Cluster {
    /// The single-user cluster: nothing is shared.
    pub fn local() -> Cluster {
        Cluster
    }

    /// Refused: this build has no Redis client.
    pub fn redis(_url: &str, source_name: &str, _prefix: &str) -> Result<Cluster, ClusterError> {
        Err(ClusterError::NotBuilt {
            source_name: source_name.to_string(),
        })
    }

    /// Whether state is shared at all: never.
    pub fn is_shared(&self) -> bool {
        false
    }

    /// No cluster, no status.
    pub fn status(&self) -> Option<ClusterStatus> {
        None
    }

    /// No sync task.
    pub fn start_sync(&self, _pool: PoolSource) -> Option<SyncTask> {
        None
    }

    /// Nothing to publish to.
    pub fn publish_health(&self, _pool: &Pool, _id: &str) {}

    /// Nothing to publish to.
    pub fn publish_enabled(&self, _id: &str) {}

    /// No other replica binds sessions.
    pub async fn session(&self, _session: &str) -> Option<String> {
        None
    }

    /// Nothing to bind in.
    pub fn bind_session(&self, _session: &str, _account: &str) {}

    /// No other replica keeps conversations.
    pub async fn conversation(&self, _id: &str) -> Option<Vec<Message>> {
        None
    }

    /// The replica's own count stands alone.
    pub async fn admit_minute(&self, _name: &str, _limit: u32) -> Option<Result<(), Duration>> {
        None
    }

    /// No other replica refreshes tokens.
    pub async fn access_token(&self, _account: &str) -> Option<(String, Duration)> {
        None
    }

    /// Nothing to keep it in.
    pub async fn keep_access_token(&self, _account: &str, _token: &str, _left: Duration) {}

    /// No team lock to take.
    pub async fn lock_refresh(&self, _account: &str, _hold: Duration) -> Option<Option<String>> {
        None
    }

    /// No team lock to release.
    pub async fn unlock_refresh(&self, _account: &str, _lock: &str) {}

    /// Nothing to count in.
    pub fn spend_tokens(&self, _name: &str, _day: u64, _tokens: u64) {}

    /// No team count.
    pub async fn tokens_spent(&self, _name: &str, _day: u64) -> Option<u64> {
        None
    }

    /// No team count: `then` is not called and the brake counts alone.
    pub fn brake_failed(&self, _ip: std::net::IpAddr, _guesses: usize, _then: impl FnOnce(u32) + Send + 'static) {}

    /// Nothing to publish to.
    pub fn publish_revoked(&self, _hashes: Vec<String>) {}

    /// No other replica revokes keys.
    pub fn is_revoked(&self, _hash: &str) -> bool {
        false
    }

    /// Nothing to keep it in.
    pub fn keep_conversation(&self, _id: &str, _conversation: &[Message], _max_age: Duration) {}
}
