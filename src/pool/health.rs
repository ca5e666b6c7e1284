//! An account's health: runtime disablement and cooldowns.
//!
//! Cooldowns are per model (a 429 for one model says nothing about the
//! others) except for transport failures, which cool the whole account.
//! Without a retry hint, repeated rate limits back off exponentially; a
//! success clears the strikes. Times are `tokio::time::Instant`, so tests
//! drive them with tokio's paused clock.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// First cooldown after a 429 without a retry hint; doubles per strike.
pub const RATE_LIMIT_BASE: Duration = Duration::from_secs(5);
/// Longest cooldown for a 429 without a retry hint.
pub const RATE_LIMIT_MAX: Duration = Duration::from_secs(300);
/// Cooldown after a 5xx answer for that model.
pub const SERVER_ERROR_COOLDOWN: Duration = Duration::from_secs(5);
/// Cooldown of the whole account after a connection failure or timeout.
pub const UNREACHABLE_COOLDOWN: Duration = Duration::from_secs(10);
/// Longest cooldown honoured from an upstream hint (a hint of days is a
/// quota reset; the account is retried after this and cooled again if so).
pub const HINT_MAX: Duration = Duration::from_secs(6 * 3600);

/// A period during which an account is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cooldown {
    /// When it ends.
    pub until: Instant,
    /// Why it started (for `accounts list`).
    pub reason: String,
}

/// Mutable health of one account.
#[derive(Debug, Default, Clone)]
pub struct Health {
    /// Set when the upstream rejected the credentials; cleared by re-enabling.
    pub disabled: Option<String>,
    /// The whole account is cooling (transport failures).
    pub account: Option<Cooldown>,
    /// Per-model cooldowns.
    pub models: HashMap<String, Cooldown>,
    /// Consecutive rate limits per model without a hint, for the backoff.
    strikes: HashMap<String, u32>,
}

impl Health {
    /// A fresh health, disabled from the start when `disabled` gives a reason.
    pub fn with_disabled(disabled: Option<String>) -> Health {
        Health {
            disabled,
            ..Health::default()
        }
    }

    /// `Ok` when usable for `model` at `now`; otherwise when it will be.
    /// `Err(None)` means disabled (no end in sight).
    pub fn available(&self, model: &str, now: Instant) -> Result<(), Option<Instant>> {
        if self.disabled.is_some() {
            return Err(None);
        }
        let until = [self.account.as_ref(), self.models.get(model)]
            .into_iter()
            .flatten()
            .map(|c| c.until)
            .filter(|until| *until > now)
            .max();
        match until {
            Some(until) => Err(Some(until)),
            None => Ok(()),
        }
    }

    /// A rate limit for `model`: cool for the hint, or back off.
    pub fn rate_limited(&mut self, model: &str, hint: Option<Duration>, now: Instant) -> Duration {
        let strikes = self.strikes.entry(model.to_string()).or_insert(0);
        *strikes = strikes.saturating_add(1);
        let wait = match hint {
            Some(hint) => hint.min(HINT_MAX),
            None => RATE_LIMIT_BASE
                .saturating_mul(1u32 << (*strikes - 1).min(10))
                .min(RATE_LIMIT_MAX),
        };
        let reason = match hint {
            Some(_) => "rate limited (upstream asked to wait)".to_string(),
            None => format!("rate limited ({} in a row)", strikes),
        };
        self.models.insert(
            model.to_string(),
            Cooldown {
                until: now + wait,
                reason,
            },
        );
        wait
    }

    /// A 5xx for `model`.
    pub fn server_error(&mut self, model: &str, status: u16, now: Instant) {
        self.models.insert(
            model.to_string(),
            Cooldown {
                until: now + SERVER_ERROR_COOLDOWN,
                reason: format!("upstream error {status}"),
            },
        );
    }

    /// The account could not be reached.
    pub fn unreachable(&mut self, why: &str, now: Instant) {
        self.account = Some(Cooldown {
            until: now + UNREACHABLE_COOLDOWN,
            reason: format!("unreachable: {why}"),
        });
    }

    /// A successful call for `model`: the backoff starts over.
    pub fn succeeded(&mut self, model: &str) {
        if !self.strikes.is_empty() {
            self.strikes.remove(model);
        }
    }

    /// Drops expired cooldowns (they are ignored anyway; this bounds memory).
    pub fn prune(&mut self, now: Instant) {
        self.models.retain(|_, c| c.until > now);
        if self.account.as_ref().is_some_and(|c| c.until <= now) {
            self.account = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_hint_is_honoured_exactly() {
        let mut health = Health::default();
        let now = Instant::now();
        health.rate_limited("m", Some(Duration::from_secs(30)), now);
        assert_eq!(health.available("m", now), Err(Some(now + Duration::from_secs(30))));
        assert_eq!(health.available("other", now), Ok(()));
        assert_eq!(health.available("m", now + Duration::from_secs(30)), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_limits_back_off_and_success_resets() {
        let mut health = Health::default();
        let now = Instant::now();
        assert_eq!(health.rate_limited("m", None, now), Duration::from_secs(5));
        assert_eq!(health.rate_limited("m", None, now), Duration::from_secs(10));
        assert_eq!(health.rate_limited("m", None, now), Duration::from_secs(20));
        for _ in 0..20 {
            health.rate_limited("m", None, now);
        }
        assert_eq!(health.rate_limited("m", None, now), RATE_LIMIT_MAX);
        health.succeeded("m");
        assert_eq!(health.rate_limited("m", None, now), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_cools_every_model_and_disabled_never_ends() {
        let mut health = Health::default();
        let now = Instant::now();
        health.unreachable("connection refused", now);
        assert!(health.available("a", now).is_err());
        assert!(health.available("b", now).is_err());
        assert!(health.available("b", now + UNREACHABLE_COOLDOWN).is_ok());
        health.disabled = Some("HTTP 401".into());
        assert_eq!(health.available("a", now + Duration::from_secs(1000)), Err(None));
    }

    #[tokio::test(start_paused = true)]
    async fn huge_hints_are_capped() {
        let mut health = Health::default();
        let now = Instant::now();
        assert_eq!(
            health.rate_limited("m", Some(Duration::from_secs(86_400)), now),
            HINT_MAX
        );
    }
}
