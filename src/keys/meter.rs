//! Each client key's use: requests in the last minute (for `--rpm`),
//! tokens and requests this UTC day (for `--tokens-per-day` and `keys
//! list`), and the last use. Kept by name, so it outlives reloads of
//! `keys.json`; a key rotated keeps its count, a key revoked and added
//! again under the same name too (the day's budget is the name's).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::ClientKey;

const MINUTE: Duration = Duration::from_secs(60);
const DAY_SECS: u64 = 86_400;

/// Why a key's call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limited {
    /// `--rpm` requests were made in the last minute.
    Rpm {
        /// The limit.
        limit: u32,
        /// When the oldest of them leaves the window.
        retry_after: Duration,
    },
    /// `--tokens-per-day` tokens were spent this UTC day.
    Tokens {
        /// The limit.
        limit: u64,
        /// Spent so far today.
        used: u64,
        /// Until the next UTC day begins.
        retry_after: Duration,
    },
}

impl Limited {
    /// How long the client should wait.
    pub fn retry_after(&self) -> Duration {
        match self {
            Limited::Rpm { retry_after, .. } | Limited::Tokens { retry_after, .. } => *retry_after,
        }
    }

    /// The client's message: the limit and the key's name, never the key.
    pub fn message(&self, name: &str) -> String {
        let wait = self.retry_after().as_secs().max(1);
        match self {
            Limited::Rpm { limit, .. } => format!(
                "The client key `{name}` is limited to {limit} requests per minute and used them all; \
                 try again in {wait}s. (`switchyard keys list` shows its limits.)"
            ),
            Limited::Tokens { limit, used, .. } => format!(
                "The client key `{name}` is limited to {limit} tokens per day (UTC) and has used {used} today; \
                 it can be used again in {wait}s, when the next UTC day begins."
            ),
        }
    }
}

/// One key's use as `keys list` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// The key's name.
    pub name: String,
    /// Tokens (input and output) spent this UTC day.
    pub tokens_today: u64,
    /// Requests made this UTC day.
    pub requests_today: u64,
    /// The last request, milliseconds since the Unix epoch.
    pub last_used_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct Meter {
    /// When each request of the last minute was admitted, oldest first (at
    /// most `rpm` of them).
    window: VecDeque<Instant>,
    /// The UTC day (days since the epoch) the counts below belong to.
    day: u64,
    tokens: u64,
    requests: u64,
    last_used_ms: Option<i64>,
}

impl Meter {
    /// Starts a new day's counts if `day` is a later one.
    fn roll(&mut self, day: u64) {
        if day > self.day {
            self.day = day;
            self.tokens = 0;
            self.requests = 0;
        }
    }
}

/// The use of every client key of a running gateway.
#[derive(Debug, Default)]
pub struct Meters {
    by_name: Mutex<HashMap<Arc<str>, Meter>>,
    /// Team mode: tokens are also counted for every replica.
    cluster: std::sync::OnceLock<crate::cluster::Cluster>,
}

impl Meters {
    /// Admits one request of `key` at `now` (`unix_ms` the same moment as
    /// wall-clock time), or says which limit refuses it. An admitted
    /// request counts against `--rpm` at once; its tokens count when it
    /// ends ([`Meters::spend`]), so the call that crosses the day's budget
    /// completes and the next is refused.
    pub fn admit(&self, key: &ClientKey, now: Instant, unix_ms: i64) -> Result<(), Limited> {
        let unix = u64::try_from(unix_ms / 1000).unwrap_or(0);
        let day = unix / DAY_SECS;
        let mut meters = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        let meter = meters.entry(key.name.clone()).or_default();
        meter.roll(day);
        if let Some(limit) = key.tokens_per_day
            && meter.tokens >= limit
        {
            return Err(Limited::Tokens {
                limit,
                used: meter.tokens,
                retry_after: Duration::from_secs((day + 1) * DAY_SECS - unix),
            });
        }
        if let Some(limit) = key.rpm {
            while meter
                .window
                .front()
                .is_some_and(|at| now.saturating_duration_since(*at) >= MINUTE)
            {
                meter.window.pop_front();
            }
            if meter.window.len() >= limit as usize {
                let oldest = meter.window.front().copied().unwrap_or(now);
                return Err(Limited::Rpm {
                    limit,
                    retry_after: MINUTE.saturating_sub(now.saturating_duration_since(oldest)),
                });
            }
            meter.window.push_back(now);
        }
        meter.requests += 1;
        meter.last_used_ms = Some(unix_ms);
        Ok(())
    }

    /// Counts the tokens of every key in `cluster` too (team mode), so a
    /// key's day budget holds across replicas.
    pub fn share(&self, cluster: &crate::cluster::Cluster) {
        if cluster.is_shared() {
            let _ = self.cluster.set(cluster.clone());
        }
    }

    /// Counts `tokens` spent by the key `name` on a call that ended at
    /// `unix_ms`.
    pub fn spend(&self, name: &Arc<str>, tokens: u64, unix_ms: i64) {
        if tokens == 0 {
            return;
        }
        let day = u64::try_from(unix_ms / 1000).unwrap_or(0) / DAY_SECS;
        if let Some(cluster) = self.cluster.get() {
            cluster.spend_tokens(name, day, tokens);
        }
        let mut meters = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        let meter = meters.entry(name.clone()).or_default();
        meter.roll(day);
        if meter.day == day {
            meter.tokens = meter.tokens.saturating_add(tokens);
        }
    }

    /// Takes over what the request log says about today (at start, so a
    /// restart does not reset the day's budget).
    pub fn seed(&self, usage: &[Usage], unix_ms: i64) {
        let day = u64::try_from(unix_ms / 1000).unwrap_or(0) / DAY_SECS;
        let mut meters = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        for row in usage {
            let meter = meters.entry(Arc::from(row.name.as_str())).or_default();
            meter.roll(day);
            meter.tokens = meter.tokens.max(row.tokens_today);
            meter.requests = meter.requests.max(row.requests_today);
            meter.last_used_ms = meter.last_used_ms.max(row.last_used_ms);
        }
    }

    /// Every metered key's use today (at `unix_ms`).
    pub fn usage(&self, unix_ms: i64) -> Vec<Usage> {
        let day = u64::try_from(unix_ms / 1000).unwrap_or(0) / DAY_SECS;
        let meters = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        let mut usage: Vec<Usage> = meters
            .iter()
            .map(|(name, meter)| {
                let today = meter.day == day;
                Usage {
                    name: name.to_string(),
                    tokens_today: if today { meter.tokens } else { 0 },
                    requests_today: if today { meter.requests } else { 0 },
                    last_used_ms: meter.last_used_ms,
                }
            })
            .collect();
        usage.sort_by(|a, b| a.name.cmp(&b.name));
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyEntry, KeyFile, KeyRing, Lookup};

    fn key(rpm: Option<u32>, tokens_per_day: Option<u64>) -> Arc<ClientKey> {
        let file = KeyFile {
            keys: vec![KeyEntry {
                name: "k".into(),
                hash: hex::encode(crate::keys::hash("sk-k")),
                created: 0,
                expires: None,
                models: Vec::new(),
                rpm,
                tokens_per_day,
                allow_ip: Vec::new(),
            }],
            ..KeyFile::default()
        };
        match KeyRing::new(&file).lookup("sk-k") {
            Lookup::Key(key) => key,
            other => panic!("{other:?}"),
        }
    }

    const NOON: i64 = 1_800_000_000_000 + 4 * 3_600_000; // 2027-01-15T12:00Z

    #[test]
    fn rpm_is_a_sliding_minute() {
        let meters = Meters::default();
        let key = key(Some(2), None);
        let start = Instant::now();
        meters.admit(&key, start, NOON).unwrap();
        meters.admit(&key, start + Duration::from_secs(10), NOON).unwrap();
        let refused = meters.admit(&key, start + Duration::from_secs(20), NOON).unwrap_err();
        assert_eq!(
            refused,
            Limited::Rpm {
                limit: 2,
                retry_after: Duration::from_secs(40)
            }
        );
        assert!(refused.message("k").contains("`k` is limited to 2 requests per minute"));
        meters.admit(&key, start + Duration::from_secs(60), NOON).unwrap();
        assert_eq!(meters.usage(NOON)[0].requests_today, 3);
    }

    #[test]
    fn the_call_that_crosses_the_day_budget_completes_and_the_next_waits_for_utc_midnight() {
        let meters = Meters::default();
        let key = key(None, Some(100));
        let now = Instant::now();
        meters.admit(&key, now, NOON).unwrap();
        meters.spend(&key.name, 150, NOON);
        let refused = meters.admit(&key, now, NOON).unwrap_err();
        assert_eq!(
            refused,
            Limited::Tokens {
                limit: 100,
                used: 150,
                retry_after: Duration::from_secs(12 * 3600)
            }
        );
        // The next UTC day starts afresh.
        meters.admit(&key, now, NOON + 12 * 3_600_000).unwrap();
        assert_eq!(meters.usage(NOON + 12 * 3_600_000)[0].tokens_today, 0);
    }

    #[test]
    fn seeding_from_the_log_keeps_the_day_budget_across_restarts() {
        let meters = Meters::default();
        let key = key(None, Some(100));
        meters.seed(
            &[Usage {
                name: "k".into(),
                tokens_today: 120,
                requests_today: 3,
                last_used_ms: Some(NOON - 1000),
            }],
            NOON,
        );
        assert!(matches!(
            meters.admit(&key, Instant::now(), NOON),
            Err(Limited::Tokens { used: 120, .. })
        ));
    }
}
