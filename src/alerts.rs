//! Which account changes deserve a desktop notification, each once per
//! crossing: a quota falling under 10% (per account and model), a budget
//! reached, an account disabled for a credential failure. The controller
//! hands every health check's account states here; what comes back is the
//! notices for the crossings since the last check. A condition that clears
//! (quota back over 10%, a new budget window, the account re-enabled) arms
//! its notice again. Pure: the time is passed in.

use std::collections::HashSet;

use crate::notify::Notice;
use crate::pool::AccountStatus;
use crate::pool::budget::window_end_text;

/// Under this share of a limit left, the quota is near empty.
pub const LOW_QUOTA: f64 = 0.10;

/// The reason a credential failure disables an account with.
const REJECTED: &str = "upstream rejected the credentials";

/// The conditions already notified.
#[derive(Debug, Default)]
pub struct Alerts {
    /// (account id, model) with quota under [`LOW_QUOTA`].
    low: HashSet<(String, String)>,
    /// Accounts over budget, with the window end they wait for.
    over: HashSet<(String, i64)>,
    /// Accounts disabled for a credential failure.
    rejected: HashSet<String>,
}

fn name(account: &AccountStatus) -> &str {
    if account.label.is_empty() {
        &account.id
    } else {
        &account.label
    }
}

impl Alerts {
    /// The notices for what crossed a threshold since the last check.
    pub fn check(&mut self, accounts: &[AccountStatus], now_ms: i64) -> Vec<Notice> {
        let mut notices = Vec::new();
        let mut low = HashSet::new();
        let mut over = HashSet::new();
        let mut rejected = HashSet::new();
        for account in accounts {
            for reading in &account.quota {
                let Some(left) = reading.lowest_fraction(now_ms).filter(|left| *left < LOW_QUOTA) else {
                    continue;
                };
                let key = (account.id.clone(), reading.model.clone());
                if !self.low.contains(&key) {
                    notices.push(Notice::QuotaLow {
                        account: name(account).to_string(),
                        model: reading.model.clone(),
                        percent_left: (left * 100.0).floor() as u8,
                        detail: reading.describe(now_ms),
                    });
                }
                low.insert(key);
            }
            if let Some(budget) = &account.over_budget {
                let key = (account.id.clone(), budget.until_ms);
                if !self.over.contains(&key) {
                    notices.push(Notice::BudgetReached {
                        account: name(account).to_string(),
                        until: window_end_text(budget.until_ms),
                        reason: budget.reason.clone(),
                    });
                }
                over.insert(key);
            }
            if let Some(reason) = account.reason.as_deref().filter(|r| r.starts_with(REJECTED))
                && account.state == crate::pool::AccountState::Disabled
            {
                if !self.rejected.contains(&account.id) {
                    notices.push(Notice::AccountRejected {
                        account: name(account).to_string(),
                        reason: reason.to_string(),
                    });
                }
                rejected.insert(account.id.clone());
            }
        }
        self.low = low;
        self.over = over;
        self.rejected = rejected;
        notices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::AccountState;
    use crate::pool::budget::OverBudget;
    use crate::pool::quota::{Limit, QuotaKind, QuotaStatus};

    fn account(remaining: u64) -> AccountStatus {
        AccountStatus {
            id: "acc_1".into(),
            label: "work".into(),
            provider: "openai".into(),
            state: AccountState::Ready,
            reason: None,
            cooldowns: Vec::new(),
            in_flight: 0,
            requests: 0,
            errors: 0,
            catalog: None,
            share_last_hour: None,
            quota: vec![QuotaStatus {
                model: "gpt-4o".into(),
                read_ms: 0,
                limits: vec![Limit {
                    kind: QuotaKind::Requests,
                    limit: Some(100),
                    remaining: Some(remaining),
                    reset_ms: None,
                }],
                exhausted_until_ms: None,
            }],
            over_budget: None,
        }
    }

    #[test]
    fn a_low_quota_is_notified_once_per_crossing() {
        let mut alerts = Alerts::default();
        assert!(alerts.check(&[account(50)], 0).is_empty());
        let notices = alerts.check(&[account(9)], 0);
        assert_eq!(notices.len(), 1);
        assert!(matches!(&notices[0], Notice::QuotaLow { percent_left: 9, model, .. } if model == "gpt-4o"));
        assert!(notices[0].body().contains("work") && notices[0].body().contains("requests 9/100"));
        assert!(alerts.check(&[account(5)], 0).is_empty(), "still low: no second notice");
        assert!(alerts.check(&[account(80)], 0).is_empty());
        assert_eq!(alerts.check(&[account(2)], 0).len(), 1, "a new crossing");
    }

    #[test]
    fn a_budget_and_a_rejected_credential_are_notified_once() {
        let mut alerts = Alerts::default();
        let mut over = account(50);
        over.state = AccountState::Cooling;
        over.over_budget = Some(OverBudget {
            until_ms: 86_400_000,
            reason: "usd_per_day 5 reached ($5.0100)".into(),
        });
        let notices = alerts.check(std::slice::from_ref(&over), 0);
        assert_eq!(notices.len(), 1);
        assert!(
            notices[0].body().contains("1970-01-02 00:00 UTC"),
            "{}",
            notices[0].body()
        );
        assert!(alerts.check(std::slice::from_ref(&over), 1).is_empty());
        // The next window's budget is a new crossing.
        over.over_budget.as_mut().unwrap().until_ms = 2 * 86_400_000;
        assert_eq!(alerts.check(std::slice::from_ref(&over), 2).len(), 1);

        let mut rejected = account(50);
        rejected.state = AccountState::Disabled;
        rejected.reason = Some("upstream rejected the credentials (HTTP 401: bad key)".into());
        let notices = alerts.check(std::slice::from_ref(&rejected), 0);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].title(), "An account's credentials were rejected");
        assert!(alerts.check(std::slice::from_ref(&rejected), 0).is_empty());
        // Disabled in config.toml is the user's own doing: no notice.
        rejected.reason = Some("disabled in config.toml".into());
        assert!(alerts.check(&[rejected], 0).is_empty());
    }
}
