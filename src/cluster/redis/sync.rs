//! Account health across replicas: cooldowns, disablements, quota
//! readings, and what each account spent against its budget.
//!
//! Each account has one Redis hash, `{prefix}health:{account id}`, with a
//! field per cooldown (`cool:{model}`, `cool:*` for the whole account:
//! `"{until unix ms} {reason}"`), `disabled` (the reason), and a field per
//! quota reading (`quota:{model}`, the reading as JSON). A replica writes
//! cooldowns and disablements when it learns them (a 429, a rejected key, a
//! switch in the dashboard) and its newer quota readings each round; the
//! sync task reads every account's hash twice a second and adopts what the
//! others wrote into its own pool, which requests read without waiting.
//!
//! Spending is counted in `{prefix}spend:{account id}:{month}` (the month's
//! first day number), fields `{day}:usd` and `{day}:tokens`: each round a
//! replica adds what it spent since the last (`HINCRBYFLOAT`, `HINCRBY`, so
//! concurrent replicas add up) and reads back the month of every account
//! with a budget, which its budgets then hold against.
//!
//! The sync task also watches Redis: after an outage it pushes this
//! replica's running cooldowns back and clears the degraded state. Account ids match across replicas because they run one
//! config.toml; `{prefix}accounts` records the set, and a replica whose
//! accounts differ says so at start.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redis::AsyncCommands;

use super::{Cluster, Remote};
use crate::cluster::{PoolSource, SYNC_INTERVAL, SyncTask};
use crate::pool::budget::{self, Days};
use crate::pool::quota::QuotaStatus;
use crate::pool::{Pool, SharedCooldown, SharedHealth};

/// How long a month's spending is kept in Redis (past the month's end).
const SPEND_TTL_SECS: i64 = 70 * 86_400;

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
    fields.extend(health.quota.iter().filter_map(quota_field));
    fields
}

/// The hash field of one quota reading.
fn quota_field(reading: &QuotaStatus) -> Option<(String, String)> {
    let json = serde_json::to_string(reading).ok()?;
    Some((format!("quota:{}", reading.model), json))
}

/// Reads an account's hash back (unknown or malformed fields are skipped).
fn parse(fields: &[(String, String)]) -> SharedHealth {
    let mut health = SharedHealth::default();
    for (name, value) in fields {
        if name == "disabled" {
            health.disabled = Some(value.clone());
        } else if name.starts_with("quota:") {
            if let Ok(reading) = serde_json::from_str::<QuotaStatus>(value) {
                health.quota.push(reading);
            }
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
    /// The newest quota reading published (or adopted) per account and
    /// model, by its time: only newer ones are written.
    published_quota: HashMap<(String, String), i64>,
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
            for reading in &shared.quota {
                let seen = self
                    .published_quota
                    .entry((id.clone(), reading.model.clone()))
                    .or_default();
                *seen = (*seen).max(reading.read_ms);
            }
            if pool.adopt(id, &shared) {
                tracing::info!(account = %id, "adopted another replica's cooldown or disablement");
            }
        }
        self.publish_quota(remote, pool, &ids).await;
        share_spending(remote, pool).await;
    }

    /// Writes the quota readings this replica took since the last round.
    async fn publish_quota(&mut self, remote: &Arc<Remote>, pool: &Pool, ids: &[String]) {
        let mut pipe = redis::pipe();
        let mut any = false;
        for (id, member) in ids.iter().zip(pool.members()) {
            for reading in member.quota().readings() {
                let seen = self
                    .published_quota
                    .entry((id.clone(), reading.model.clone()))
                    .or_default();
                if reading.read_ms <= *seen {
                    continue;
                }
                *seen = reading.read_ms;
                if let Some((field, json)) = quota_field(&reading) {
                    pipe.hset(remote.key(&["health", id]), field, json).ignore();
                    any = true;
                }
            }
        }
        if any {
            let mut conn = remote.conn();
            remote
                .call(async move { pipe.query_async::<()>(&mut conn).await })
                .await;
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

/// Adds what this replica spent since the last round to the team's count,
/// and reads back this month of every account with a budget. A failed
/// round keeps its spending for the next one (a round that failed after
/// Redis applied the additions counts them twice: budgets err on the safe
/// side).
async fn share_spending(remote: &Arc<Remote>, pool: &Pool) {
    let Some(budgets) = pool.budgets() else { return };
    let spending = budgets.spending().clone();
    spending.share();
    let month = budget::month_first_day(budgets.now_ms());
    let spends = spending.take_unpublished();
    let limited: Vec<String> = budgets.limited().map(str::to_string).collect();
    let mut pipe = redis::pipe();
    for spend in &spends {
        let key = remote.key(&["spend", &spend.account_id, &spend.month().to_string()]);
        pipe.cmd("HINCRBYFLOAT")
            .arg(&key)
            .arg(format!("{}:usd", spend.day))
            .arg(spend.usd)
            .ignore();
        pipe.cmd("HINCRBY")
            .arg(&key)
            .arg(format!("{}:tokens", spend.day))
            .arg(spend.tokens)
            .ignore();
        pipe.expire(&key, SPEND_TTL_SECS).ignore();
    }
    for id in &limited {
        pipe.hgetall(remote.key(&["spend", id, &month.to_string()]));
    }
    // A PING makes the pipeline non-empty and its answer a list.
    pipe.cmd("PING").ignore();
    let mut conn = remote.conn();
    let read = remote
        .call(async move { pipe.query_async::<Vec<Vec<(String, String)>>>(&mut conn).await })
        .await;
    let Some(read) = read else {
        spending.restore_unpublished(spends);
        return;
    };
    for (id, fields) in limited.iter().zip(&read) {
        spending.adopt_team(id, parse_spend(fields));
    }
}

/// A month's spending hash: `{day}:usd` and `{day}:tokens` fields.
fn parse_spend(fields: &[(String, String)]) -> Days {
    let mut days = Days::new();
    for (name, value) in fields {
        let Some((day, what)) = name.split_once(':') else {
            continue;
        };
        let Ok(day) = day.parse::<i64>() else { continue };
        let entry = days.entry(day).or_default();
        match what {
            "usd" => entry.0 = value.parse().unwrap_or(0.0),
            "tokens" => entry.1 = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    days
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
            quota: vec![QuotaStatus {
                model: "gpt-4o".into(),
                read_ms: 1_700_000_000_000,
                limits: vec![crate::pool::quota::Limit {
                    kind: crate::pool::quota::QuotaKind::Requests,
                    limit: Some(5000),
                    remaining: Some(4999),
                    reset_ms: Some(1_700_000_012_000),
                }],
                exhausted_until_ms: None,
            }],
        };
        assert_eq!(parse(&fields(&health)), health);
    }

    #[test]
    fn a_months_spending_reads_back_by_day() {
        let fields = vec![
            ("20793:usd".to_string(), "1.25".to_string()),
            ("20793:tokens".to_string(), "300".to_string()),
            ("20794:tokens".to_string(), "7".to_string()),
            ("junk".to_string(), "1".to_string()),
        ];
        let days = parse_spend(&fields);
        assert_eq!(days.get(&20793), Some(&(1.25, 300)));
        assert_eq!(days.get(&20794), Some(&(0.0, 7)));
        assert_eq!(days.len(), 2);
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
