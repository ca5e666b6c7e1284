//! Budgets: an account that has spent its USD or tokens for the UTC day or
//! month leaves the pool until the window rolls over, so its tier's other
//! accounts, the tiers below and the fallback chains take over.
//!
//! What was spent comes from the daily totals (`monitor::Store`, which the
//! log's retention never trims), read once at start, plus every call that
//! ends after that (`Spending::add`, fed by the monitor). Time is passed in
//! or read through a [`Clock`], so tests move it without sleeping.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::monitor::DailyTotal;

const DAY_MS: i64 = 86_400_000;

/// Now, in ms since the epoch: the real clock, or a test's.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// `[budgets."NAME"]`: the limits of the account of that id or label.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// USD per UTC day.
    #[serde(default, deserialize_with = "usd", skip_serializing_if = "Option::is_none")]
    pub usd_per_day: Option<f64>,
    /// USD per UTC calendar month.
    #[serde(default, deserialize_with = "usd", skip_serializing_if = "Option::is_none")]
    pub usd_per_month: Option<f64>,
    /// Tokens (input and output) per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
    /// Tokens (input and output) per UTC calendar month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_month: Option<u64>,
}

fn usd<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value.is_finite() && value >= 0.0 {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "{value} is not a budget: give USD, 0 or more (e.g. 5 or 0.5)"
        )))
    }
}

/// The days since the epoch of a civil (proleptic Gregorian) date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The day number of `YYYY-MM-DD`.
fn parse_day(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    Some(days_from_civil(parts.next()??, parts.next()??, parts.next()??))
}

/// The first day of the month `day` falls in, and of the next month.
fn month_of(day: i64) -> (i64, i64) {
    let (year, month, _) = civil_from_days(day);
    let first = days_from_civil(year, month, 1);
    let next = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    (first, next)
}

/// The day number of the first day of the UTC month `now_ms` falls in.
pub fn month_first_day(now_ms: i64) -> i64 {
    month_of(now_ms.div_euclid(DAY_MS)).0
}

/// `2026-12-07 00:00 UTC`.
pub fn window_end_text(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
    let minutes = ms.rem_euclid(DAY_MS) / 60_000;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// `YYYY-MM-DD` of the first day of the UTC month `now_ms` falls in: where
/// the daily totals that budgets need start.
pub fn month_start_day(now_ms: i64) -> String {
    let (year, month, _) = civil_from_days(month_of(now_ms.div_euclid(DAY_MS)).0);
    format!("{year:04}-{month:02}-01")
}

/// The budgets of `[budgets]` by account id: each names an account by its
/// id or label; a name no account has is reported and ignored.
pub fn limits_by_id(
    budgets: &BTreeMap<String, BudgetConfig>,
    accounts: &[crate::config::AccountConfig],
) -> HashMap<String, BudgetConfig> {
    let mut limits = HashMap::new();
    for (name, budget) in budgets {
        match accounts.iter().find(|a| a.id == *name || a.label == *name) {
            Some(account) => {
                limits.insert(account.id.clone(), budget.clone());
            }
            None => tracing::warn!(
                name = %name,
                "[budgets] names no account (use an account's id or label, as `switchyard accounts list` shows them); ignored"
            ),
        }
    }
    limits
}

/// One account's USD and tokens per day number.
/// USD and tokens spent per day number (days since the epoch).
pub type Days = BTreeMap<i64, (f64, u64)>;

/// USD and tokens spent per account id and day number.
type ByAccountDay = HashMap<(String, i64), (f64, u64)>;

/// Adds `usd` and `tokens` to one day's figures.
fn accrue(entry: &mut (f64, u64), usd: f64, tokens: u64) {
    entry.0 += usd;
    entry.1 = entry.1.saturating_add(tokens);
}

/// What one account spent on each day (the current month's days at most).
///
/// In team mode each replica also publishes what it spent (the cluster's
/// sync task takes [`Spending::take_unpublished`]) and learns what the team
/// spent ([`Spending::adopt_team`]); a day then counts as the larger of
/// this replica's figure (its start-up totals and its own calls) and the
/// team's (every replica's calls since they shared), so a budget holds
/// across replicas without counting one call twice.
#[derive(Debug, Default)]
pub struct Spending {
    by_account: Mutex<HashMap<String, Days>>,
    /// Team mode: what this replica spent since it last published, by
    /// account and day; `None` until the sync task starts sharing.
    unpublished: Mutex<Option<ByAccountDay>>,
    /// Team mode: every replica's spending, as Redis last said.
    team: Mutex<HashMap<String, Days>>,
}

/// One account's spending on one day, as published to the team.
#[derive(Debug, Clone, PartialEq)]
pub struct DaySpend {
    /// The account id.
    pub account_id: String,
    /// The day number (days since the epoch, UTC).
    pub day: i64,
    /// USD.
    pub usd: f64,
    /// Tokens (input and output).
    pub tokens: u64,
}

impl DaySpend {
    /// The day number of the first day of its month (its key in Redis).
    pub fn month(&self) -> i64 {
        month_of(self.day).0
    }
}

/// What an account spent in the windows around a moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spent {
    /// USD today (UTC).
    pub usd_day: f64,
    /// USD this month (UTC).
    pub usd_month: f64,
    /// Tokens today.
    pub tokens_day: u64,
    /// Tokens this month.
    pub tokens_month: u64,
}

impl Spending {
    /// Starts from the daily totals (of this month, at least).
    pub fn seed(&self, totals: &[DailyTotal]) {
        for total in totals {
            let Some(day) = parse_day(&total.day) else { continue };
            self.add_day(
                &total.account_id,
                day,
                total.cost_usd,
                total.input_tokens.saturating_add(total.output_tokens),
            );
        }
    }

    /// A call of `account_id` ended at `time_ms`, costing `usd` and `tokens`.
    pub fn add(&self, account_id: &str, time_ms: i64, usd: f64, tokens: u64) {
        let day = time_ms.div_euclid(DAY_MS);
        self.add_day(account_id, day, usd, tokens);
        let mut unpublished = self.unpublished.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(unpublished) = unpublished.as_mut() {
            accrue(
                unpublished.entry((account_id.to_string(), day)).or_default(),
                usd,
                tokens,
            );
        }
    }

    /// Team mode: from now on, calls are also kept for publishing.
    pub fn share(&self) {
        self.unpublished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(HashMap::new);
    }

    /// Team mode: what this replica spent since the last call, to publish.
    pub fn take_unpublished(&self) -> Vec<DaySpend> {
        let mut unpublished = self.unpublished.lock().unwrap_or_else(|p| p.into_inner());
        let Some(unpublished) = unpublished.as_mut() else {
            return Vec::new();
        };
        unpublished
            .drain()
            .map(|((account_id, day), (usd, tokens))| DaySpend {
                account_id,
                day,
                usd,
                tokens,
            })
            .collect()
    }

    /// Team mode: spending that could not be published, kept for the next try.
    pub fn restore_unpublished(&self, spends: Vec<DaySpend>) {
        let mut unpublished = self.unpublished.lock().unwrap_or_else(|p| p.into_inner());
        let unpublished = unpublished.get_or_insert_with(HashMap::new);
        for spend in spends {
            accrue(
                unpublished.entry((spend.account_id, spend.day)).or_default(),
                spend.usd,
                spend.tokens,
            );
        }
    }

    /// Team mode: what every replica spent on account `account_id`'s days
    /// (this month's), replacing what Redis said before.
    pub fn adopt_team(&self, account_id: &str, days: Days) {
        self.team
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account_id.to_string(), days);
    }

    fn add_day(&self, account_id: &str, day: i64, usd: f64, tokens: u64) {
        let mut accounts = self.by_account.lock().unwrap_or_else(|p| p.into_inner());
        let days = accounts.entry(account_id.to_string()).or_default();
        accrue(days.entry(day).or_default(), usd, tokens);
        // Only the current month matters: older days go (31 days back is enough).
        let newest = *days.keys().next_back().unwrap_or(&day);
        days.retain(|d, _| *d > newest - 62);
    }

    /// What `account_id` spent today and this month, as of `now_ms`.
    pub fn spent(&self, account_id: &str, now_ms: i64) -> Spent {
        let today = now_ms.div_euclid(DAY_MS);
        let (first, _) = month_of(today);
        // Asked for every budgeted account on every request: no copy, each
        // day of either map counted once, as the larger figure.
        let accounts = self.by_account.lock().unwrap_or_else(|p| p.into_inner());
        let team = self.team.lock().unwrap_or_else(|p| p.into_inner());
        let (mine, theirs) = (accounts.get(account_id), team.get(account_id));
        let mut spent = Spent::default();
        let mut count = |day: i64, (usd, tokens): (f64, u64)| {
            spent.usd_month += usd;
            spent.tokens_month = spent.tokens_month.saturating_add(tokens);
            if day == today {
                spent.usd_day += usd;
                spent.tokens_day = spent.tokens_day.saturating_add(tokens);
            }
        };
        for (day, &(usd, tokens)) in mine.into_iter().flat_map(|days| days.range(first..=today)) {
            let (team_usd, team_tokens) = theirs.and_then(|days| days.get(day)).copied().unwrap_or_default();
            count(*day, (usd.max(team_usd), tokens.max(team_tokens)));
        }
        for (day, &figures) in theirs.into_iter().flat_map(|days| days.range(first..=today)) {
            if !mine.is_some_and(|days| days.contains_key(day)) {
                count(*day, figures);
            }
        }
        spent
    }
}

/// An account out of the pool for its budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverBudget {
    /// When it comes back: the end of the latest window it spent, ms since the epoch.
    pub until_ms: i64,
    /// Which budget: `usd_per_day 5 reached ($5.0123)`.
    pub reason: String,
}

/// The budgets of a pool's accounts and what they spent.
pub struct Budgets {
    /// By account id.
    limits: HashMap<String, BudgetConfig>,
    spending: Arc<Spending>,
    clock: Clock,
}

impl std::fmt::Debug for Budgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budgets")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Budgets {
    /// What the accounts spent (shared with the monitor, which adds to it).
    pub fn spending(&self) -> &Arc<Spending> {
        &self.spending
    }

    /// The ids of the accounts with a budget.
    pub fn limited(&self) -> impl Iterator<Item = &str> {
        self.limits.keys().map(String::as_str)
    }

    /// Budgets by account id, over `spending`, read at `clock`'s time.
    pub fn new(limits: HashMap<String, BudgetConfig>, spending: Arc<Spending>, clock: Clock) -> Budgets {
        Budgets {
            limits,
            spending,
            clock,
        }
    }

    /// Whether no account has a budget.
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// Now, by the budgets' clock.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Whether `account_id` has spent a budget, and until when it is out.
    pub fn over(&self, account_id: &str) -> Option<OverBudget> {
        let limits = self.limits.get(account_id)?;
        let now = self.now_ms();
        let spent = self.spending.spent(account_id, now);
        let today = now.div_euclid(DAY_MS);
        let day_end = (today + 1) * DAY_MS;
        let month_end = month_of(today).1 * DAY_MS;
        let checks = [
            (
                limits.usd_per_day.filter(|cap| spent.usd_day >= *cap),
                day_end,
                "usd_per_day",
                spent.usd_day,
            ),
            (
                limits.usd_per_month.filter(|cap| spent.usd_month >= *cap),
                month_end,
                "usd_per_month",
                spent.usd_month,
            ),
        ];
        let token_checks = [
            (
                limits.tokens_per_day.filter(|cap| spent.tokens_day >= *cap),
                day_end,
                "tokens_per_day",
                spent.tokens_day,
            ),
            (
                limits.tokens_per_month.filter(|cap| spent.tokens_month >= *cap),
                month_end,
                "tokens_per_month",
                spent.tokens_month,
            ),
        ];
        let mut over: Option<OverBudget> = None;
        let mut reach = |until_ms: i64, reason: String| {
            if over.as_ref().is_none_or(|o| until_ms > o.until_ms) {
                over = Some(OverBudget { until_ms, reason });
            }
        };
        for (cap, until, name, spent) in checks {
            if let Some(cap) = cap {
                reach(until, format!("{name} {cap} reached (${spent:.4})"));
            }
        }
        for (cap, until, name, spent) in token_checks {
            if let Some(cap) = cap {
                reach(until, format!("{name} {cap} reached ({spent})"));
            }
        }
        over
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    #[test]
    fn budgets_parse_strictly() {
        let budget: BudgetConfig = toml::from_str("usd_per_day = 5\ntokens_per_month = 1000").unwrap();
        assert_eq!((budget.usd_per_day, budget.tokens_per_month), (Some(5.0), Some(1000)));
        let err = toml::from_str::<BudgetConfig>("usd_per_day = -1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("0 or more"), "{err}");
        assert!(toml::from_str::<BudgetConfig>("usd_per_week = 1").is_err());
    }

    #[test]
    fn the_teams_spending_counts_once_beside_this_replicas() {
        let spending = Spending::default();
        let now = 20_793 * DAY_MS + 3_600_000;
        spending.add("a", now, 1.0, 100);
        // Before sharing starts nothing is kept for publishing.
        assert!(spending.take_unpublished().is_empty());
        spending.share();
        spending.add("a", now, 0.5, 50);
        let unpublished = spending.take_unpublished();
        assert_eq!(
            unpublished,
            vec![DaySpend {
                account_id: "a".into(),
                day: 20_793,
                usd: 0.5,
                tokens: 50
            }]
        );
        assert!(spending.take_unpublished().is_empty(), "taken once");
        spending.restore_unpublished(unpublished);
        assert_eq!(spending.take_unpublished().len(), 1, "kept after a failed round");
        // The team's day includes this replica's own calls: the larger
        // figure counts, not the sum.
        assert_eq!(spending.spent("a", now).tokens_day, 150);
        spending.adopt_team("a", Days::from([(20_793, (4.0, 120)), (20_792, (2.0, 30))]));
        let spent = spending.spent("a", now);
        assert_eq!((spent.usd_day, spent.tokens_day), (4.0, 150));
        assert_eq!((spent.usd_month, spent.tokens_month), (6.0, 180));
        // Another account's team figures are its own.
        assert_eq!(spending.spent("b", now), Spent::default());
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-1, 0, 59, 10_957, 20_793, 20_818, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(parse_day("2000-02-29"), Some(11_016));
        assert_eq!(parse_day("nonsense"), None);
        // December rolls into January of the next year.
        let december = parse_day("2026-12-06").unwrap();
        assert_eq!(
            month_of(december),
            (parse_day("2026-12-01").unwrap(), parse_day("2027-01-01").unwrap())
        );
        assert_eq!(
            window_end_text(parse_day("2027-01-01").unwrap() * DAY_MS),
            "2027-01-01 00:00 UTC"
        );
        assert_eq!(month_start_day(december * DAY_MS + 5), "2026-12-01");
    }

    fn budgets(limits: BudgetConfig, now: Arc<AtomicI64>) -> (Budgets, Arc<Spending>) {
        let spending = Arc::new(Spending::default());
        let clock: Clock = Arc::new(move || now.load(Ordering::SeqCst));
        (
            Budgets::new(HashMap::from([("acc".to_string(), limits)]), spending.clone(), clock),
            spending,
        )
    }

    #[test]
    fn a_daily_budget_holds_until_the_utc_day_rolls() {
        let morning = parse_day("2026-12-06").unwrap() * DAY_MS + 9 * 3_600_000;
        let now = Arc::new(AtomicI64::new(morning));
        let (budgets, spending) = budgets(
            BudgetConfig {
                usd_per_day: Some(1.0),
                ..BudgetConfig::default()
            },
            now.clone(),
        );
        spending.add("acc", morning, 0.6, 100);
        assert_eq!(budgets.over("acc"), None);
        spending.add("acc", morning + 1, 0.5, 100);
        let over = budgets.over("acc").expect("over budget");
        assert_eq!(window_end_text(over.until_ms), "2026-12-07 00:00 UTC");
        assert!(
            over.reason.starts_with("usd_per_day 1 reached ($1.1000)"),
            "{}",
            over.reason
        );
        assert_eq!(budgets.over("other-account"), None, "no budget, never over");
        now.store(over.until_ms - 1, Ordering::SeqCst);
        assert!(budgets.over("acc").is_some());
        now.store(over.until_ms, Ordering::SeqCst);
        assert_eq!(budgets.over("acc"), None, "back with the new day");
    }

    #[test]
    fn monthly_budgets_and_token_caps_count_the_seeded_totals() {
        let now = Arc::new(AtomicI64::new(parse_day("2026-12-20").unwrap() * DAY_MS));
        let (budgets, spending) = budgets(
            BudgetConfig {
                usd_per_month: Some(10.0),
                tokens_per_day: Some(1000),
                ..BudgetConfig::default()
            },
            now.clone(),
        );
        let total = |day: &str, usd: f64, tokens: u64| DailyTotal {
            day: day.into(),
            account_id: "acc".into(),
            account: "work".into(),
            model: "m".into(),
            key: "-".into(),
            requests: 1,
            errors: 0,
            input_tokens: tokens,
            output_tokens: 0,
            cached_tokens: 0,
            cache_write_tokens: 0,
            cost_usd: usd,
            unpriced: 0,
        };
        // Last month's spending does not count; this month's does.
        spending.seed(&[
            total("2026-11-30", 50.0, 0),
            total("2026-12-01", 6.0, 0),
            total("2026-12-19", 3.0, 0),
        ]);
        assert_eq!(budgets.over("acc"), None);
        spending.add("acc", now.load(Ordering::SeqCst), 0.5, 999);
        assert_eq!(budgets.over("acc"), None);
        spending.add("acc", now.load(Ordering::SeqCst), 0.5, 1);
        let over = budgets.over("acc").unwrap();
        // Both the day's tokens and the month's dollars are spent: out until the later end.
        assert_eq!(window_end_text(over.until_ms), "2027-01-01 00:00 UTC");
        assert!(over.reason.starts_with("usd_per_month 10 reached"), "{}", over.reason);
        now.store(parse_day("2027-01-01").unwrap() * DAY_MS, Ordering::SeqCst);
        assert_eq!(budgets.over("acc"), None);
    }
}
