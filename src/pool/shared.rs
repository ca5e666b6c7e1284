//! The pool's health and quota readings as plain wall-clock data, for team mode
//! (`crate::cluster`): what this replica learnt, to publish, and what
//! another replica published, to adopt. The pool itself stays local and
//! synchronous; the cluster's sync task carries these values.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{Cooldown, Pool};

/// One cooldown as another replica can apply it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedCooldown {
    /// The model it holds for; `None` for the whole account.
    pub model: Option<String>,
    /// When it ends, in Unix milliseconds.
    pub until_ms: u64,
    /// Why it started.
    pub reason: String,
}

/// What one account's health says to the other replicas.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SharedHealth {
    /// Disabled at run time (credentials rejected, switched off), with why.
    pub disabled: Option<String>,
    /// Cooldowns still running.
    pub cooldowns: Vec<SharedCooldown>,
    /// The latest quota reading per model (from the upstream's rate-limit
    /// headers or a 429).
    pub quota: Vec<super::quota::QuotaStatus>,
}

/// Now, in Unix milliseconds.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Pool {
    /// The health of account `id` as wall-clock data (`None`: no such account).
    pub fn shared_health(&self, id: &str) -> Option<SharedHealth> {
        let member = self.members.iter().find(|m| m.config.id == id)?;
        let now = Instant::now();
        let now_ms = unix_ms();
        let health = member.health();
        let wall =
            |c: &Cooldown| now_ms + u64::try_from(c.until.saturating_duration_since(now).as_millis()).unwrap_or(0);
        let cooldowns = health
            .account
            .iter()
            .map(|c| (None, c))
            .chain(health.models.iter().map(|(m, c)| (Some(m.clone()), c)))
            .filter(|(_, c)| c.until > now)
            .map(|(model, c)| SharedCooldown {
                model,
                until_ms: wall(c),
                reason: c.reason.clone(),
            })
            .collect();
        let disabled = health.disabled.clone();
        drop(health);
        Some(SharedHealth {
            disabled,
            cooldowns,
            quota: member.quota().readings(),
        })
    }

    /// Takes over what another replica saw of account `id`: its cooldowns
    /// where they end later than this replica's own, its disablement, and
    /// its quota readings where they are newer. Returns whether the
    /// account's health changed here (a newer reading is not news).
    pub fn adopt(&self, id: &str, shared: &SharedHealth) -> bool {
        let Some(member) = self.members.iter().find(|m| m.config.id == id) else {
            return false;
        };
        {
            let mut quota = member.quota();
            for reading in &shared.quota {
                quota.adopt(reading);
            }
        }
        let now = Instant::now();
        let now_ms = unix_ms();
        let mut health = member.health();
        let mut changed = false;
        if health.disabled.is_none()
            && let Some(reason) = &shared.disabled
        {
            health.disabled = Some(reason.clone());
            changed = true;
        }
        for cooldown in shared.cooldowns.iter().filter(|c| c.until_ms > now_ms) {
            let until = now + Duration::from_millis(cooldown.until_ms - now_ms);
            let current = match &cooldown.model {
                None => health.account.as_ref().map(|c| c.until),
                Some(model) => health.models.get(model.as_str()).map(|c| c.until),
            };
            // The same cooldown coming back from Redis is not news.
            let later = current.is_none_or(|mine| mine + Duration::from_millis(50) < until);
            if !later {
                continue;
            }
            let adopted = Cooldown {
                until,
                reason: cooldown.reason.clone(),
            };
            match &cooldown.model {
                None => health.account = Some(adopted),
                Some(model) => {
                    health.models.insert(model.clone(), adopted);
                }
            }
            changed = true;
        }
        changed
    }

    /// The account id a session is bound to on this replica, if any.
    pub fn bound_session(&self, session: &str) -> Option<String> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let index = *sessions.get(session)?;
        Some(self.members[index].config.id.clone())
    }

    /// Whether account `id` is disabled at run time here.
    pub fn is_disabled(&self, id: &str) -> bool {
        self.members
            .iter()
            .any(|m| m.config.id == id && m.health().disabled.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AccountConfig, ProviderKind};
    use crate::pool::Member;
    use crate::upstream::provider;

    fn pool() -> Pool {
        let account = AccountConfig {
            id: "acc_1".into(),
            provider: ProviderKind::Openai,
            label: "a".into(),
            base_url: None,
            models: vec![],
            priority: 0,
            enabled: true,
            project: None,
            proxy_url: None,
            no_key: false,
            weight: 1,
        };
        Pool::new(vec![Member::new(
            account,
            provider(ProviderKind::Openai),
            "k".into(),
            None,
        )])
    }

    #[tokio::test]
    async fn another_replicas_cooldown_is_adopted_once_and_published_back() {
        let pool = pool();
        let until_ms = unix_ms() + 30_000;
        let shared = SharedHealth {
            disabled: None,
            cooldowns: vec![SharedCooldown {
                model: Some("m".into()),
                until_ms,
                reason: "rate limited".into(),
            }],
            quota: vec![],
        };
        assert!(pool.adopt("acc_1", &shared));
        assert!(!pool.adopt("acc_1", &shared), "the same cooldown again is not news");
        assert!(pool.select("m", None, None, &[]).is_err());
        assert!(pool.select("other", None, None, &[]).is_ok());
        let mine = pool.shared_health("acc_1").unwrap();
        assert_eq!(mine.cooldowns.len(), 1);
        assert!(mine.cooldowns[0].until_ms.abs_diff(until_ms) < 1000);
        // An expired one is ignored.
        let old = SharedHealth {
            disabled: None,
            cooldowns: vec![SharedCooldown {
                model: Some("n".into()),
                until_ms: unix_ms().saturating_sub(1),
                reason: "old".into(),
            }],
            quota: vec![],
        };
        assert!(!pool.adopt("acc_1", &old));
        assert!(!pool.adopt("nobody", &shared));
    }
}
