//! The Redis-backed cluster (the `team` feature). The rules:
//!
//! - **Local state stays the fast path.** The pool's cooldowns and
//!   disablements are read from memory on every request; the sync task
//!   ([`sync`]) publishes what this replica learns and adopts what the
//!   others published, twice a second. Sticky sessions and Responses are
//!   looked up in Redis only when this replica does not know them.
//! - **Redis can fail.** Every call has a short deadline; a failure marks
//!   the cluster degraded (`status`, `/api/status`, the
//!   `switchyard_cluster_degraded` metric) and from then on the request path
//!   skips Redis entirely, so no request waits on or fails because of it.
//!   The sync task keeps trying; when Redis answers again it pushes this
//!   replica's health back (resync) and clears the degraded state.
//! - **One prefix.** Every key starts with `[cluster] key_prefix`.
//! - **No secret leaves.** The URL's password never reaches a log line or
//!   a status: error texts are scrubbed of it.

pub mod sync;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{ClusterError, ClusterStatus};
use crate::protocol::model::Message;

/// Longest wait for one Redis call on the request path.
const CALL_TIMEOUT: Duration = Duration::from_millis(300);

/// A client key's requests per minute across replicas: a sliding window
/// (a sorted set of request times) checked and added to atomically.
/// Returns `{1, 0}` when admitted, `{0, oldest ms}` when full.
const RPM_SCRIPT: &str = r#"
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2])}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], 60000)
return {1, 0}
"#;

/// Releases a lock only when it is still the one taken (its nonce).
const UNLOCK_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// How long the team remembers an address's wrong keys (as the brake's
/// `forget_after`).
const BRAKE_MEMORY: Duration = Duration::from_secs(15 * 60);

/// How long a sticky session binding is kept in Redis.
const SESSION_TTL: Duration = Duration::from_secs(3600);

/// The state shared between replicas, or nothing (single user).
#[derive(Clone, Default)]
pub struct Cluster {
    remote: Option<Arc<Remote>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.remote {
            None => f.write_str("Cluster(local)"),
            Some(remote) => write!(f, "Cluster(redis, prefix {:?})", remote.prefix),
        }
    }
}

/// The Redis side of a cluster.
struct Remote {
    /// Made lazily, so a replica starts with Redis down; renewed by the
    /// sync task while degraded (a manager whose reconnection failed in
    /// some ways keeps its failure).
    conn: Mutex<ConnectionManager>,
    /// What `conn` is made from.
    client: redis::Client,
    /// Every key starts with it.
    prefix: String,
    /// The URL's password, scrubbed from error texts.
    password: Option<String>,
    /// Set by any failed call, cleared by the sync task after a resync.
    degraded: AtomicBool,
    /// Why it is degraded (scrubbed).
    reason: Mutex<Option<String>>,
    /// Failed calls since start (for the metric).
    errors: AtomicU64,
    /// The client-key hashes revoked on any replica (read by the sync task).
    revoked: std::sync::RwLock<std::collections::HashSet<String>>,
}

impl Cluster {
    /// The single-user cluster: nothing is shared.
    pub fn local() -> Cluster {
        Cluster::default()
    }

    /// A cluster over the Redis at `url`. Nothing is connected yet: the
    /// first call (or the sync task) connects, and a Redis that is down
    /// only makes the cluster degraded.
    pub fn redis(url: &str, source_name: &str, prefix: &str) -> Result<Cluster, ClusterError> {
        let invalid = |why: String| ClusterError::Url {
            source_name: source_name.to_string(),
            why,
        };
        let password = url::Url::parse(url)
            .map_err(|err| invalid(err.to_string()))?
            .password()
            .map(str::to_string);
        let client = redis::Client::open(url).map_err(|err| invalid(scrub(&err.to_string(), password.as_deref())))?;
        let conn = manager(&client).map_err(|err| invalid(scrub(&err.to_string(), password.as_deref())))?;
        Ok(Cluster {
            remote: Some(Arc::new(Remote {
                conn: Mutex::new(conn),
                client,
                prefix: prefix.to_string(),
                password,
                degraded: AtomicBool::new(false),
                reason: Mutex::new(None),
                errors: AtomicU64::new(0),
                revoked: Default::default(),
            })),
        })
    }

    /// Whether state is shared at all.
    pub fn is_shared(&self) -> bool {
        self.remote.is_some()
    }

    /// The state for `status` (`None` when local).
    pub fn status(&self) -> Option<ClusterStatus> {
        let remote = self.remote.as_ref()?;
        let degraded = remote.degraded.load(Ordering::Relaxed);
        Some(ClusterStatus {
            backend: "redis".to_string(),
            state: if degraded { "degraded" } else { "ok" }.to_string(),
            reason: if degraded { remote.reason() } else { None },
            errors: remote.errors.load(Ordering::Relaxed),
        })
    }

    /// The remote side when it is up (the request path skips a degraded one).
    fn healthy(&self) -> Option<&Arc<Remote>> {
        self.remote.as_ref().filter(|r| !r.degraded.load(Ordering::Relaxed))
    }

    /// The account a session was bound to by any replica.
    pub async fn session(&self, session: &str) -> Option<String> {
        let remote = self.healthy()?;
        let key = remote.key(&["session", session]);
        let mut conn = remote.conn();
        remote
            .call(async move { conn.get::<_, Option<String>>(key).await })
            .await?
    }

    /// Binds a session to an account for every replica (in the background).
    pub fn bind_session(&self, session: &str, account: &str) {
        let Some(remote) = self.healthy() else { return };
        let key = remote.key(&["session", session]);
        let account = account.to_string();
        let mut conn = remote.conn();
        let ttl = SESSION_TTL.as_millis() as u64;
        remote.spawn(async move { conn.pset_ex::<_, _, ()>(key, account, ttl).await });
    }

    /// A Responses conversation kept by any replica.
    pub async fn conversation(&self, id: &str) -> Option<Vec<Message>> {
        let remote = self.healthy()?;
        let key = remote.key(&["response", id]);
        let mut conn = remote.conn();
        let text = remote
            .call(async move { conn.get::<_, Option<Vec<u8>>>(key).await })
            .await??;
        serde_json::from_slice(&text).ok()
    }

    /// Admits one request of the client key `name` against its `limit` per
    /// minute counted over every replica: `Some(Err(wait))` when the team
    /// used them all, `None` when Redis cannot say (the replica's own count
    /// then stands alone).
    pub async fn admit_minute(&self, name: &str, limit: u32) -> Option<Result<(), Duration>> {
        static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| redis::Script::new(RPM_SCRIPT));
        let remote = self.healthy()?;
        let key = remote.key(&["rpm", name]);
        let now = crate::pool::unix_ms();
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).ok()?;
        let member = format!("{now}-{}", hex::encode(nonce));
        let mut conn = remote.conn();
        let (admitted, oldest): (u8, u64) = remote
            .call(async move {
                SCRIPT
                    .key(key)
                    .arg(now)
                    .arg(limit)
                    .arg(member)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        if admitted == 1 {
            return Some(Ok(()));
        }
        Some(Err(
            Duration::from_millis((oldest + 60_000).saturating_sub(now)).max(Duration::from_secs(1))
        ))
    }

    /// A Google access token for `account` another replica refreshed, with
    /// the time it has left.
    pub async fn access_token(&self, account: &str) -> Option<(String, Duration)> {
        let remote = self.healthy()?;
        let key = remote.key(&["oauth", account]);
        let mut conn = remote.conn();
        let (token, left_ms): (Option<String>, i64) = remote
            .call(async move { redis::pipe().get(&key).pttl(&key).query_async(&mut conn).await })
            .await?;
        Some((token?, Duration::from_millis(u64::try_from(left_ms).ok()?)))
    }

    /// Keeps `account`'s access token for the other replicas while it lasts.
    pub async fn keep_access_token(&self, account: &str, token: &str, left: Duration) {
        let Some(remote) = self.healthy() else { return };
        let key = remote.key(&["oauth", account]);
        let token = token.to_string();
        let ttl = left.as_millis().max(1) as u64;
        let mut conn = remote.conn();
        remote
            .call(async move { conn.pset_ex::<_, _, ()>(key, token, ttl).await })
            .await;
    }

    /// Takes the team's lock on refreshing `account`'s token for at most
    /// `hold`: `Some(Some(lock))` when taken, `Some(None)` when another
    /// replica holds it, `None` when Redis cannot say.
    pub async fn lock_refresh(&self, account: &str, hold: Duration) -> Option<Option<String>> {
        let remote = self.healthy()?;
        let key = remote.key(&["oauth-lock", account]);
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).ok()?;
        let nonce = hex::encode(nonce);
        let value = nonce.clone();
        let mut conn = remote.conn();
        let options = redis::SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(redis::SetExpiry::PX(hold.as_millis() as u64));
        let taken: Option<String> = remote
            .call(async move { conn.set_options(key, value, options).await })
            .await?;
        Some(taken.map(|_| nonce))
    }

    /// Releases a refresh lock taken with [`Cluster::lock_refresh`].
    pub async fn unlock_refresh(&self, account: &str, lock: &str) {
        static SCRIPT: std::sync::LazyLock<redis::Script> =
            std::sync::LazyLock::new(|| redis::Script::new(UNLOCK_SCRIPT));
        let Some(remote) = self.healthy() else { return };
        let key = remote.key(&["oauth-lock", account]);
        let lock = lock.to_string();
        let mut conn = remote.conn();
        remote
            .call(async move { SCRIPT.key(key).arg(lock).invoke_async::<i64>(&mut conn).await })
            .await;
    }

    /// Counts `tokens` spent by the client key `name` on UTC day `day` for
    /// every replica (in the background; kept two days).
    pub fn spend_tokens(&self, name: &str, day: u64, tokens: u64) {
        let Some(remote) = self.healthy() else { return };
        let key = remote.key(&["tokens", name, &day.to_string()]);
        let mut conn = remote.conn();
        remote.spawn(async move {
            redis::pipe()
                .incr(&key, tokens)
                .ignore()
                .expire(&key, 2 * 86_400)
                .ignore()
                .query_async::<()>(&mut conn)
                .await
        });
    }

    /// The tokens the client key `name` spent on UTC day `day` on every
    /// replica (`None` when Redis cannot say).
    pub async fn tokens_spent(&self, name: &str, day: u64) -> Option<u64> {
        let remote = self.healthy()?;
        let key = remote.key(&["tokens", name, &day.to_string()]);
        let mut conn = remote.conn();
        let spent: Option<u64> = remote.call(async move { conn.get(key).await }).await?;
        Some(spent.unwrap_or(0))
    }

    /// Counts `guesses` wrong keys from `ip` for the whole team (in the
    /// background) and hands the team's total to `then` (the brake counts at
    /// least as many, so guesses spread over replicas are braked as if sent
    /// to one).
    pub fn brake_failed(&self, ip: std::net::IpAddr, guesses: usize, then: impl FnOnce(u32) + Send + 'static) {
        let Some(remote) = self.healthy() else { return };
        let key = remote.key(&["brake", &ip.to_string()]);
        let remote = remote.clone();
        tokio::spawn(async move {
            let mut conn = remote.conn();
            let total: Option<(u64,)> = remote
                .call(async move {
                    redis::pipe()
                        .incr(&key, guesses)
                        .expire(&key, BRAKE_MEMORY.as_secs() as i64)
                        .ignore()
                        .query_async(&mut conn)
                        .await
                })
                .await;
            if let Some((total,)) = total {
                then(u32::try_from(total).unwrap_or(u32::MAX));
            }
        });
    }

    /// Records client-key revocations (hashes) for every replica (in the
    /// background).
    pub fn publish_revoked(&self, hashes: Vec<String>) {
        let Some(remote) = self.healthy() else { return };
        if hashes.is_empty() {
            return;
        }
        let key = remote.key(&["revoked"]);
        let mut conn = remote.conn();
        remote.spawn(async move { conn.sadd::<_, _, ()>(key, hashes).await });
    }

    /// Whether any replica revoked the client key with this hash (as the
    /// sync task last read it: no request waits on Redis for it).
    pub fn is_revoked(&self, hash: &str) -> bool {
        self.remote
            .as_ref()
            .is_some_and(|remote| remote.revoked.read().unwrap_or_else(|p| p.into_inner()).contains(hash))
    }

    /// Keeps a Responses conversation for every replica (in the background).
    pub fn keep_conversation(&self, id: &str, conversation: &[Message], max_age: Duration) {
        let Some(remote) = self.healthy() else { return };
        let Ok(text) = serde_json::to_vec(conversation) else {
            return;
        };
        let key = remote.key(&["response", id]);
        let ttl = max_age.as_millis().max(1) as u64;
        let mut conn = remote.conn();
        remote.spawn(async move { conn.pset_ex::<_, _, ()>(key, text, ttl).await });
    }
}

/// A connection manager for `client` that connects on first use.
fn manager(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CALL_TIMEOUT))
        .set_response_timeout(Some(CALL_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    ConnectionManager::new_lazy_with_config(client.clone(), config)
}

impl Remote {
    /// The connection (a cheap handle onto the shared one).
    fn conn(&self) -> ConnectionManager {
        self.conn.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A fresh connection manager, for the next attempt after an outage.
    fn renew(&self) {
        if let Ok(conn) = manager(&self.client) {
            *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = conn;
        }
    }

    /// `prefix` + the parts joined by `:`.
    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }

    fn reason(&self) -> Option<String> {
        self.reason.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs one call with the deadline; a failure degrades the cluster.
    async fn call<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> Option<T> {
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(err)) => {
                self.failed(&err.to_string());
                None
            }
            Err(_) => {
                self.failed("Redis did not answer in time");
                None
            }
        }
    }

    /// Runs one call in the background.
    fn spawn<T: Send + 'static>(self: &Arc<Self>, call: impl Future<Output = redis::RedisResult<T>> + Send + 'static) {
        let remote = self.clone();
        tokio::spawn(async move {
            remote.call(call).await;
        });
    }

    /// Marks the cluster degraded, once per outage in the log.
    fn failed(&self, why: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let why = scrub(why, self.password.as_deref());
        *self.reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %why, "Redis is unreachable: serving from this replica's own state until it is back");
        }
    }
}

/// `text` with `password` replaced (errors must never carry it).
fn scrub(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => text.replace(p, "***"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_scrubbed_from_errors() {
        assert_eq!(scrub("auth failed for hunter2", Some("hunter2")), "auth failed for ***");
        assert_eq!(scrub("refused", None), "refused");
    }

    #[test]
    fn a_bad_url_is_refused_without_repeating_it() {
        let err = Cluster::redis("http://user:hunter2@host", "SWITCHYARD_REDIS_URL", "p:").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
