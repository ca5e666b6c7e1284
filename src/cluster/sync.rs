//! Account health across replicas: cooldowns and disablements.
//!
//! Each account has one Redis hash, `{prefix}health:{account id}`, with a
//! field per cooldown (`cool:{model}`, `cool:*` for the whole account:
//! `"{until unix ms} {reason}"`) and `disabled` (the reason). A replica
//! writes it when it learns something (a 429, a rejected key, a switch in
//! the dashboard); the sync task reads every account's hash twice a second
//! and adopts what the others wrote into its own pool, which requests read
//! without waiting. The sync task also watches Redis: after an outage it
//! pushes this replica's running cooldowns back and clears the degraded
//! state. Account ids match across replicas because they run one
//! config.toml; `{prefix}accounts` records the set, and a replica whose
//! accounts differ says so at start.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::AsyncCommands;

use super::{Cluster, Remote};
use crate::pool::{Pool, SharedCooldown, SharedHealth};

/// How often a replica reads the others' account health.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(500);

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

impl Cluster {
    /// Starts the sync task over the pool `pool` returns (`None` when local).
    pub fn start_sync(&self, pool: PoolSource) -> Option<SyncTask> {
        let remote = self.remote.clone()?;
        let handle = tokio::spawn(async move {
            let mut state = Rounds::default();
            let mut ticks = tokio::time::interval(SYNC_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(pool) = pool() else { break };
                state.round(&remote, &pool).await;
            }
        });
        Some(SyncTask { handle })
    }

    /// Publishes account `id`'s health as this replica sees it now (in the
    /// background).
    pub fn publish_health(&self, pool: &Pool, id: &str) {
        let Some(remote) = self.healthy() else { return };
        let Some(health) = pool.shared_health(id) else { return };
        let fields = fields(&health);
        if fields.is_empty() {
            return;
        }
        let key = remote.key(&["health", id]);
        let mut conn = remote.conn();
        remote.spawn(async move { conn.hset_multiple::<_, _, _, ()>(key, &fields).await });
    }

    /// Forgets account `id`'s shared health: it was re-enabled here, so
    /// every replica drops the disablement and cooldowns it adopted.
    pub fn publish_enabled(&self, id: &str) {
        let Some(remote) = self.healthy() else { return };
        let key = remote.key(&["health", id]);
        let mut conn = remote.conn();
        remote.spawn(async move { conn.del::<_, ()>(key).await });
    }
}

/// The hash fields for `health`.
fn fields(health: &SharedHealth) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = health
        .cooldowns
        .iter()
        .map(|c| {
            let name = format!("cool:{}", c.model.as_deref().unwrap_or("*"));
            (name, format!("{} {}", c.until_ms, c.reason))
        })
        .collect();
    if let Some(reason) = &health.disabled {
        fields.push(("disabled".to_string(), reason.clone()));
    }
    fields
}

/// Reads an account's hash back (unknown or malformed fields are skipped).
fn parse(fields: &[(String, String)]) -> SharedHealth {
    let mut health = SharedHealth::default();
    for (name, value) in fields {
        if name == "disabled" {
            health.disabled = Some(value.clone());
        } else if let Some(model) = name.strip_prefix("cool:") {
            let (until, reason) = value.split_once(' ').unwrap_or((value, ""));
            let Ok(until_ms) = until.parse() else { continue };
            health.cooldowns.push(SharedCooldown {
                model: (model != "*").then(|| model.to_string()),
                until_ms,
                reason: reason.to_string(),
            });
        }
    }
    health
}

/// What the sync task remembers between rounds.
#[derive(Default)]
struct Rounds {
    /// The account set has been compared with the cluster's.
    checked_accounts: bool,
    /// Accounts whose shared hash said `disabled` last round.
    disabled: HashSet<String>,
}

impl Rounds {
    /// One round: read every account's shared health and adopt it; after
    /// an outage, push this replica's own first.
    async fn round(&mut self, remote: &Arc<Remote>, pool: &Pool) {
        if remote.degraded.load(Ordering::Relaxed) {
            remote.renew();
        }
        let ids: Vec<String> = pool.members().iter().map(|m| m.config.id.clone()).collect();
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(remote.key(&["health", id]));
        }
        let mut conn = remote.conn();
        let read = remote
            .call(async move { pipe.query_async::<Vec<Vec<(String, String)>>>(&mut conn).await })
            .await;
        let Some(read) = read else { return };
        if remote.degraded.load(Ordering::Relaxed) {
            self.resync(remote, pool, &ids).await;
            return;
        }
        if !self.checked_accounts {
            self.checked_accounts = check_accounts(remote, pool).await;
        }
        let key = remote.key(&["revoked"]);
        let mut conn = remote.conn();
        if let Some(revoked) = remote
            .call(async move { conn.smembers::<_, HashSet<String>>(key).await })
            .await
        {
            *remote.revoked.write().unwrap_or_else(|p| p.into_inner()) = revoked;
        }
        for (id, fields) in ids.iter().zip(&read) {
            let shared = parse(fields);
            if shared.disabled.is_some() {
                self.disabled.insert(id.clone());
            } else if self.disabled.remove(id) && pool.is_disabled(id) {
                tracing::info!(account = %id, "account re-enabled on another replica");
                pool.reenable(id);
            }
            if pool.adopt(id, &shared) {
                tracing::info!(account = %id, "adopted another replica's cooldown or disablement");
            }
        }
    }

    /// Redis is back: push the cooldowns this replica learnt meanwhile, then
    /// serve through Redis again.
    async fn resync(&mut self, remote: &Arc<Remote>, pool: &Pool, ids: &[String]) {
        let mut pipe = redis::pipe();
        for id in ids {
            let Some(mut health) = pool.shared_health(id) else {
                continue;
            };
            // A disablement from the start (a missing secret) is this
            // replica's own business; only cooldowns are pushed back.
            health.disabled = None;
            let fields = fields(&health);
            if !fields.is_empty() {
                pipe.hset_multiple(remote.key(&["health", id]), &fields).ignore();
            }
        }
        // A PING makes the pipeline non-empty (redis-rs refuses an empty one).
        pipe.cmd("PING").ignore();
        let mut conn = remote.conn();
        if remote
            .call(async move { pipe.query_async::<()>(&mut conn).await })
            .await
            .is_some()
        {
            remote.degraded.store(false, Ordering::Relaxed);
            *remote.reason.lock().unwrap_or_else(|p| p.into_inner()) = None;
            tracing::info!("Redis is reachable again: shared state resynchronised");
        }
    }
}

/// Records this replica's accounts as the cluster's, or says at start that
/// they differ from what the cluster recorded. Returns whether it checked.
async fn check_accounts(remote: &Arc<Remote>, pool: &Pool) -> bool {
    let mut accounts: Vec<String> = pool
        .members()
        .iter()
        .map(|m| format!("{}={}", m.config.id, m.config.provider))
        .collect();
    accounts.sort();
    let mine = accounts.join(",");
    let key = remote.key(&["accounts"]);
    let mut conn = remote.conn();
    let theirs = {
        let mine = mine.clone();
        remote
            .call(async move {
                let set: bool = conn.set_nx(&key, &mine).await?;
                if set {
                    Ok(None)
                } else {
                    conn.get::<_, Option<String>>(&key).await
                }
            })
            .await
    };
    match theirs {
        None => false,
        Some(Some(theirs)) if theirs != mine => {
            tracing::warn!(
                this_replica = %mine,
                cluster = %theirs,
                "this replica's accounts differ from the ones the cluster recorded: deploy one config.toml to every \
                 replica (cooldowns are shared by account id)"
            );
            true
        }
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_survives_its_hash_form() {
        let health = SharedHealth {
            disabled: Some("upstream rejected the credentials (HTTP 401: no)".into()),
            cooldowns: vec![
                SharedCooldown {
                    model: Some("gpt-4o".into()),
                    until_ms: 1_700_000_000_000,
                    reason: "rate limited (upstream asked to wait)".into(),
                },
                SharedCooldown {
                    model: None,
                    until_ms: 1_700_000_000_500,
                    reason: "unreachable: refused".into(),
                },
            ],
        };
        assert_eq!(parse(&fields(&health)), health);
    }

    #[test]
    fn malformed_fields_are_skipped() {
        let fields = vec![
            ("cool:m".to_string(), "soon limited".to_string()),
            ("other".to_string(), "x".to_string()),
        ];
        assert_eq!(parse(&fields), SharedHealth::default());
    }
}
