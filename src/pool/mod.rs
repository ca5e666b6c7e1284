//! The pool of upstream accounts and how a request picks one.
//!
//! One rule expresses every dispatch mode: among the enabled accounts that
//! can serve the model, the best `priority` tier (lowest number) that has an
//! available account serves; within a tier the account with the fewest
//! requests in flight wins, ties broken round-robin, unless the request's
//! session is already bound to an available account. Exclusive dispatch is
//! an account whose model globs nobody else matches; pooled is a shared
//! tier; fallback is a worse tier.

pub mod budget;
pub mod catalog;
mod health;
pub mod quota;
mod shared;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

pub use catalog::{Catalog, ModelInfo, ModelKind, Rank};
pub use health::{Cooldown, Health};
pub use shared::{SharedCooldown, SharedHealth, unix_ms};

use crate::config::{AccountConfig, Strategy};
use crate::upstream::{Auth, Credentials, Failure, Provider};

/// Most sessions remembered for stickiness; the map is cleared when full
/// (a conversation then simply picks again).
const MAX_SESSIONS: usize = 10_000;

/// One account in the pool.
#[derive(Debug)]
pub struct Member {
    /// Its configuration.
    pub config: AccountConfig,
    /// How to talk to it.
    pub provider: Arc<dyn Provider>,
    /// How it authenticates.
    pub auth: Auth,
    /// Its own HTTP client when it goes through a proxy; else the shared one.
    pub http: Option<reqwest::Client>,
    patterns: Vec<glob::Pattern>,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    errors: AtomicU64,
    health: Mutex<Health>,
    catalog: Mutex<Catalog>,
    /// What its upstream last said is left, per model.
    quota: Mutex<quota::Quotas>,
}

impl Member {
    /// A member authenticating with a fixed key. `disabled` marks an
    /// account that cannot be used from the start (no secret stored, ...),
    /// with the reason.
    pub fn new(
        config: AccountConfig,
        provider: Arc<dyn Provider>,
        secret: Arc<str>,
        disabled: Option<String>,
    ) -> Member {
        let base_url = config
            .base_url
            .clone()
            .unwrap_or_else(|| provider.default_base_url().to_string())
            .trim_end_matches('/')
            .to_string();
        let auth = Auth::Key(Credentials {
            base_url,
            secret,
            project: config.project.clone(),
        });
        Member::with_auth(config, provider, auth, None, disabled)
    }

    /// A member with any kind of authentication and, optionally, its own client.
    pub fn with_auth(
        config: AccountConfig,
        provider: Arc<dyn Provider>,
        auth: Auth,
        http: Option<reqwest::Client>,
        disabled: Option<String>,
    ) -> Member {
        let patterns = config
            .models
            .iter()
            .filter_map(|glob| glob::Pattern::new(glob).ok())
            .collect();
        Member {
            patterns,
            provider,
            auth,
            http,
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            health: Mutex::new(Health::with_disabled(disabled)),
            catalog: Mutex::new(Catalog::default()),
            quota: Mutex::new(quota::Quotas::default()),
            config,
        }
    }

    /// Its latest quota readings, per model.
    pub fn quota(&self) -> std::sync::MutexGuard<'_, quota::Quotas> {
        self.quota.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Its catalogue as last fetched.
    pub fn catalog(&self) -> Catalog {
        self.catalog.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A fresh list from its upstream (already under its globs).
    pub fn catalog_fetched(&self, models: Vec<ModelInfo>, unix: u64) {
        let mut catalog = self.catalog.lock().unwrap_or_else(|p| p.into_inner());
        *catalog = Catalog::fetched(models, Some(unix));
    }

    /// A failed fetch: the last good list stays, the reason is shown.
    pub fn catalog_failed(&self, why: String) {
        self.catalog.lock().unwrap_or_else(|p| p.into_inner()).error = Some(why);
    }

    /// Whether `model` is one of its exact `models` names (not a glob).
    pub fn names_exactly(&self, model: &str) -> bool {
        self.config
            .models
            .iter()
            .any(|glob| !glob.contains(['*', '?', '[']) && glob == model)
    }

    /// How well it fits `model`; `None` when its globs refuse it.
    pub fn rank(&self, model: &str) -> Option<Rank> {
        self.rank_as(model, ModelKind::Chat)
    }

    /// How well it fits `model` used as a model of `kind` (chat or
    /// embeddings, as its catalogue classes them); `None` when its globs
    /// refuse it or its provider serves no embeddings.
    pub fn rank_as(&self, model: &str, kind: ModelKind) -> Option<Rank> {
        if !self.serves(model) || (kind == ModelKind::Embedding && !self.provider.serves_embeddings()) {
            return None;
        }
        if self.names_exactly(model) {
            return Some(Rank::Listed);
        }
        match self
            .catalog
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lists_as(model, kind)
        {
            Some(false) => Some(Rank::Unlisted),
            Some(true) | None => Some(Rank::Listed),
        }
    }

    /// Whether its model globs admit `model` (no globs admit everything).
    pub fn serves(&self, model: &str) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| p.matches(model))
    }

    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Requests in flight right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// A member chosen for one request; dropping it ends the request's claim.
#[derive(Debug)]
pub struct Lease {
    member: Arc<Member>,
    index: usize,
}

impl Lease {
    /// The chosen account.
    pub fn member(&self) -> &Arc<Member> {
        &self.member
    }

    /// Its position in the pool (to exclude it from a retry).
    pub fn index(&self) -> usize {
        self.index
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.member.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why no account could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// No enabled account serves the model; `disabled` lists accounts that
    /// would but are disabled (label, reason).
    NoAccount {
        /// Disabled accounts that would serve the model.
        disabled: Vec<(String, String)>,
    },
    /// Every account that serves the model is cooling down.
    AllCooling {
        /// Until the first one is available again.
        retry_after: Duration,
    },
    /// Every available account was tried for this request already.
    Exhausted,
}

/// The state of one account, for `accounts list`, the tray and the dashboard.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccountStatus {
    /// Account id.
    pub id: String,
    /// Label (may be empty).
    pub label: String,
    /// Provider name.
    pub provider: String,
    /// `ready`, `cooling` or `disabled`.
    pub state: AccountState,
    /// Why it is cooling or disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Cooldowns in force: model (`*` for the whole account) and end time.
    pub cooldowns: Vec<CooldownStatus>,
    /// Requests in flight.
    pub in_flight: usize,
    /// Requests sent since the gateway started.
    pub requests: u64,
    /// Failed requests since the gateway started.
    pub errors: u64,
    /// Its upstream's model list, as last fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<CatalogStatus>,
    /// Its share of the calls of the last hour (0 to 1), from the request
    /// log, when a running gateway reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_last_hour: Option<f64>,
    /// What its upstream last said is left, per model (latest reading each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quota: Vec<quota::QuotaStatus>,
    /// Set while it is out of the pool for a spent budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_budget: Option<budget::OverBudget>,
}

/// An account's catalogue in an [`AccountStatus`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CatalogStatus {
    /// Chat models in the last good list (`None`: no list yet).
    pub models: Option<usize>,
    /// When it was fetched (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_unix: Option<u64>,
    /// Why the latest fetch failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CatalogStatus {
    fn of(catalog: &Catalog) -> Option<CatalogStatus> {
        if catalog.models.is_none() && catalog.error.is_none() {
            return None;
        }
        Some(CatalogStatus {
            models: catalog
                .models
                .as_ref()
                .map(|m| m.iter().filter(|m| m.kind == ModelKind::Chat).count()),
            fetched_unix: catalog.fetched_unix,
            error: catalog.error.clone(),
        })
    }
}

/// Where an account stands. Serialized as the lowercase names `accounts list
/// --json`, `/api/accounts` and the dashboard show: `ready`, `cooling`,
/// `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// In rotation for every model.
    Ready,
    /// Resting until a cooldown ends (a rate limit or a failure), for one
    /// model or all of them; see [`AccountStatus::cooldowns`].
    Cooling,
    /// Out of rotation until re-enabled: off in config.toml, turned off by
    /// the user, or its credentials were rejected.
    Disabled,
}

impl AccountState {
    /// The name as it is serialized: `ready`, `cooling`, `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Ready => "ready",
            AccountState::Cooling => "cooling",
            AccountState::Disabled => "disabled",
        }
    }
}

impl std::fmt::Display for AccountState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the serialized name, as the JSON carries it (`"cooling"`).
impl PartialEq<&str> for AccountState {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

/// One cooldown in an [`AccountStatus`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CooldownStatus {
    /// The model, or `*` for the whole account.
    pub model: String,
    /// Seconds since the Unix epoch when it ends.
    pub until_unix: u64,
    /// Seconds left.
    pub remaining_secs: u64,
    /// Why.
    pub reason: String,
}

/// What happened to a request, as the pool cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It worked.
    Success,
    /// Try another account.
    Rotate,
    /// The request itself is at fault; another account would fail alike.
    GiveUp,
}

/// All accounts of a running gateway.
#[derive(Debug)]
pub struct Pool {
    members: Vec<Arc<Member>>,
    /// Member indices grouped by priority, best tier first.
    tiers: Vec<Vec<usize>>,
    cursor: AtomicUsize,
    sessions: Mutex<HashMap<String, usize>>,
    /// How an account is chosen within a tier.
    strategy: Strategy,
    /// Each member's current weight in the smooth weighted round-robin.
    weights: Mutex<Vec<i64>>,
    /// The accounts' budgets (`[budgets]`), when any.
    budgets: Option<Arc<budget::Budgets>>,
}

impl Pool {
    /// A pool of these members.
    pub fn new(members: Vec<Member>) -> Pool {
        let members: Vec<Arc<Member>> = members.into_iter().map(Arc::new).collect();
        let mut priorities: Vec<i32> = members.iter().map(|m| m.config.priority).collect();
        priorities.sort_unstable();
        priorities.dedup();
        let tiers = priorities
            .into_iter()
            .map(|p| {
                (0..members.len())
                    .filter(|&i| members[i].config.priority == p)
                    .collect()
            })
            .collect();
        let weights = Mutex::new(vec![0; members.len()]);
        Pool {
            members,
            tiers,
            cursor: AtomicUsize::new(0),
            sessions: Mutex::new(HashMap::new()),
            strategy: Strategy::Spread,
            weights,
            budgets: None,
        }
    }

    /// The same pool, choosing within a tier by `strategy`.
    pub fn with_strategy(mut self, strategy: Strategy) -> Pool {
        self.strategy = strategy;
        self
    }

    /// The same pool with the accounts' budgets applied.
    pub fn with_budgets(mut self, budgets: budget::Budgets) -> Pool {
        // No budget at all: `select` asks nothing per account.
        self.budgets = (!budgets.is_empty()).then(|| Arc::new(budgets));
        self
    }

    /// The accounts' budgets, when any.
    pub fn budgets(&self) -> Option<&Arc<budget::Budgets>> {
        self.budgets.as_ref()
    }

    /// How long `member` is out of the pool for a spent budget.
    fn budget_wait(&self, member: &Member) -> Option<Duration> {
        let budgets = self.budgets.as_ref()?;
        let over = budgets.over(&member.config.id)?;
        Some(Duration::from_millis((over.until_ms - budgets.now_ms()).max(1) as u64))
    }

    /// How it chooses within a tier.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The members.
    pub fn members(&self) -> &[Arc<Member>] {
        &self.members
    }

    /// Members that are enabled and not disabled at run time.
    pub fn active_count(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.config.enabled && m.health().disabled.is_none())
            .count()
    }

    /// Whether some enabled account's globs admit `model`.
    pub fn serves(&self, model: &str) -> bool {
        self.members.iter().any(|m| m.config.enabled && m.serves(model))
    }

    /// Chooses an account for `model`. `session` keeps a conversation on
    /// one account; `preferred` names an account id to use when available;
    /// `tried` lists members already tried for this request.
    pub fn select(
        &self,
        model: &str,
        session: Option<&str>,
        preferred: Option<&str>,
        tried: &[usize],
    ) -> Result<Lease, Unavailable> {
        self.select_as(model, ModelKind::Chat, session, preferred, tried)
    }

    /// [`Pool::select`] for `model` used as a model of `kind`: for
    /// embeddings, only accounts whose provider serves them, those whose
    /// catalogue lists it as an embedding model first.
    pub fn select_as(
        &self,
        model: &str,
        kind: ModelKind,
        session: Option<&str>,
        preferred: Option<&str>,
        tried: &[usize],
    ) -> Result<Lease, Unavailable> {
        let now = Instant::now();
        let mut soonest: Option<Instant> = None;
        let mut disabled = Vec::new();
        let mut eligible = false;
        let ranks: Vec<Option<Rank>> = self
            .members
            .iter()
            .map(|m| if m.config.enabled { m.rank_as(model, kind) } else { None })
            .collect();
        // The accounts whose catalogue lists the model first, in every tier;
        // then, as a last resort, those whose catalogue lacks it.
        let passes = [Rank::Listed, Rank::Unlisted];
        for (rank, tier) in passes.iter().flat_map(|r| self.tiers.iter().map(move |t| (*r, t))) {
            let mut available = Vec::new();
            for &index in tier {
                let member = &self.members[index];
                if ranks[index] != Some(rank) {
                    continue;
                }
                // Bound first: the guard must be released before the arms lock again.
                let availability = member.health().available(model, now);
                // An account over budget waits for its window like a cooling one.
                let availability = availability.and_then(|()| match self.budget_wait(member) {
                    Some(wait) => Err(Some(now + wait)),
                    None => Ok(()),
                });
                match availability {
                    Ok(()) => {
                        eligible = true;
                        if !tried.contains(&index) {
                            available.push(index);
                        }
                    }
                    Err(Some(until)) => {
                        eligible = true;
                        soonest = Some(soonest.map_or(until, |s| s.min(until)));
                    }
                    Err(None) => {
                        let reason = member.health().disabled.clone().unwrap_or_default();
                        disabled.push((member.config.display_name().to_string(), reason));
                    }
                }
            }
            if let Some(index) = self.choose(&available, session, preferred) {
                return Ok(self.lease(index));
            }
        }
        if !eligible {
            return Err(Unavailable::NoAccount { disabled });
        }
        match soonest {
            Some(until) if tried.is_empty() => Err(Unavailable::AllCooling {
                retry_after: until.saturating_duration_since(now),
            }),
            _ => Err(Unavailable::Exhausted),
        }
    }

    /// Smooth weighted round-robin (as nginx's upstream balancing): each
    /// available member's current weight grows by its weight, the largest
    /// is chosen (the first on a tie) and gives back the total. Weights 3:1
    /// give a, a, b, a in every run of four.
    fn weighted(&self, available: &[usize]) -> usize {
        let mut current = self.weights.lock().unwrap_or_else(|p| p.into_inner());
        let mut total = 0i64;
        let mut best = available[0];
        for &index in available {
            let weight = i64::from(self.members[index].config.weight.max(1));
            current[index] += weight;
            total += weight;
            if current[index] > current[best] {
                best = index;
            }
        }
        current[best] -= total;
        best
    }

    fn choose(&self, available: &[usize], session: Option<&str>, preferred: Option<&str>) -> Option<usize> {
        if available.is_empty() {
            return None;
        }
        if let Some(id) = preferred
            && let Some(&index) = available.iter().find(|&&i| self.members[i].config.id == id)
        {
            return Some(index);
        }
        let mut sessions = session.map(|_| self.sessions.lock().unwrap_or_else(|p| p.into_inner()));
        if let (Some(key), Some(map)) = (session, sessions.as_ref())
            && let Some(&index) = map.get(key)
            && available.contains(&index)
        {
            return Some(index);
        }
        let chosen = match self.strategy {
            // Least in flight; scanning from a rotating start breaks ties
            // round-robin, so sequential requests alternate evenly.
            Strategy::Spread => {
                let start = self.cursor.fetch_add(1, Ordering::Relaxed);
                (0..available.len())
                    .map(|k| available[(start + k) % available.len()])
                    .min_by_key(|&i| self.members[i].in_flight())?
            }
            // The first in config order (the tier lists members in it).
            Strategy::FillFirst => available[0],
            Strategy::Weighted => self.weighted(available),
        };
        if let (Some(key), Some(map)) = (session, sessions.as_mut()) {
            if map.len() >= MAX_SESSIONS {
                map.clear();
            }
            map.insert(key.to_string(), chosen);
        }
        Some(chosen)
    }

    fn lease(&self, index: usize) -> Lease {
        let member = self.members[index].clone();
        member.in_flight.fetch_add(1, Ordering::Relaxed);
        member.requests.fetch_add(1, Ordering::Relaxed);
        Lease { member, index }
    }

    /// Records a success for the lease's account and `model`.
    pub fn succeeded(&self, lease: &Lease, model: &str) {
        lease.member.health().succeeded(model);
    }

    /// The rate-limit headers of an upstream's answer for `model`.
    pub fn observe_quota(&self, lease: &Lease, model: &str, headers: &http::HeaderMap) {
        lease.member.quota().observe(model, headers, crate::monitor::now_ms());
    }

    /// Records a failure and says what the request should do next.
    pub fn failed(&self, lease: &Lease, model: &str, failure: &Failure) -> Verdict {
        let member = &lease.member;
        member.errors.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut health = member.health();
        health.prune(now);
        match failure {
            Failure::Connect(why) => {
                health.unreachable(why, now);
                Verdict::Rotate
            }
            Failure::Timeout => {
                health.unreachable("timed out", now);
                Verdict::Rotate
            }
            Failure::Rejected { status, message } => {
                Self::disable_rejected(member, &mut health, *status, message);
                Verdict::Rotate
            }
            // An answer over the size limit: another account would send as
            // much, and nothing is wrong with this one.
            Failure::TooLarge { .. } => Verdict::GiveUp,
            Failure::Status {
                status,
                retry_after,
                message,
            } => match *status {
                429 => {
                    member.quota().exhausted(model, *retry_after, crate::monitor::now_ms());
                    let wait = health.rate_limited(model, *retry_after, now);
                    tracing::info!(account = %member.config.id, model, wait_secs = wait.as_secs_f64(), "account rate limited; cooling down");
                    Verdict::Rotate
                }
                401 => {
                    Self::disable_rejected(member, &mut health, *status, message);
                    Verdict::Rotate
                }
                // Refused for this request (a model, a region, billing, a
                // policy), not for the account's credentials: another
                // account may have the access; this one stays in rotation.
                403 => Verdict::Rotate,
                // This account does not know the model; another may.
                404 => Verdict::Rotate,
                408 | 500..=599 => {
                    health.server_error(model, *status, now);
                    Verdict::Rotate
                }
                _ => Verdict::GiveUp,
            },
        }
    }

    /// Takes an account whose credentials the upstream rejected out of
    /// rotation, with the upstream's words as the reason.
    fn disable_rejected(member: &Member, health: &mut Health, status: u16, message: &str) {
        let reason = format!("upstream rejected the credentials (HTTP {status}: {message})");
        tracing::warn!(account = %member.config.id, %reason, "account disabled until re-enabled");
        health.disabled = Some(reason);
    }

    /// Takes an account out of rotation at run time, with the reason shown
    /// in `accounts list`. Returns whether the account exists.
    pub fn disable(&self, id: &str, reason: String) -> bool {
        match self.members.iter().find(|m| m.config.id == id) {
            Some(member) => {
                member.health().disabled = Some(reason);
                true
            }
            None => false,
        }
    }

    /// Takes over what `previous` learnt about the accounts that are still
    /// configured exactly the same: cooldowns, run-time disablement and the
    /// request counters. A live reload of config.toml must not forget that
    /// an account is rate limited or has had its key rejected. An account
    /// whose configuration changed (or that is disabled from the start,
    /// e.g. for a missing secret) starts afresh.
    pub fn inherit(&self, previous: &Pool) {
        for member in &self.members {
            let Some(old) = previous.members.iter().find(|m| m.config == member.config) else {
                continue;
            };
            // The last good catalogue serves until the refetch answers.
            *member.catalog.lock().unwrap_or_else(|p| p.into_inner()) = old.catalog();
            *member.quota() = old.quota().clone();
            let mut health = member.health();
            if health.disabled.is_some() {
                continue;
            }
            *health = old.health().clone();
            member
                .requests
                .store(old.requests.load(Ordering::Relaxed), Ordering::Relaxed);
            member
                .errors
                .store(old.errors.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// Clears a run-time disablement (`accounts enable` on a running gateway).
    pub fn reenable(&self, id: &str) -> bool {
        match self.members.iter().find(|m| m.config.id == id) {
            Some(member) => {
                let mut health = member.health();
                health.disabled = None;
                health.account = None;
                health.models.clear();
                true
            }
            None => false,
        }
    }

    /// The live state of every account.
    pub fn status(&self) -> Vec<AccountStatus> {
        let now = Instant::now();
        let wall = SystemTime::now();
        self.members
            .iter()
            .map(|member| {
                let health = member.health();
                let mut cooldowns: Vec<CooldownStatus> = health
                    .account
                    .iter()
                    .map(|c| ("*", c))
                    .chain(health.models.iter().map(|(m, c)| (m.as_str(), c)))
                    .filter(|(_, c)| c.until > now)
                    .map(|(model, c)| {
                        let remaining = c.until - now;
                        let until_unix = (wall + remaining)
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .map(|d| d.as_secs())
                            .unwrap_or(0);
                        CooldownStatus {
                            model: model.to_string(),
                            until_unix,
                            remaining_secs: remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0),
                            reason: c.reason.clone(),
                        }
                    })
                    .collect();
                cooldowns.sort_by(|a, b| a.model.cmp(&b.model));
                let over_budget = self.budgets.as_ref().and_then(|b| b.over(&member.config.id));
                let (state, reason) = if !member.config.enabled {
                    (AccountState::Disabled, Some("disabled in config.toml".to_string()))
                } else if let Some(reason) = &health.disabled {
                    (AccountState::Disabled, Some(reason.clone()))
                } else if let Some(over) = &over_budget {
                    (
                        AccountState::Cooling,
                        Some(format!(
                            "over budget until {} ({})",
                            budget::window_end_text(over.until_ms),
                            over.reason
                        )),
                    )
                } else if let Some(first) = cooldowns.first() {
                    (AccountState::Cooling, Some(first.reason.clone()))
                } else {
                    (AccountState::Ready, None)
                };
                AccountStatus {
                    id: member.config.id.clone(),
                    label: member.config.label.clone(),
                    provider: member.config.provider.to_string(),
                    state,
                    reason,
                    cooldowns,
                    in_flight: member.in_flight(),
                    requests: member.requests.load(Ordering::Relaxed),
                    errors: member.errors.load(Ordering::Relaxed),
                    catalog: CatalogStatus::of(&member.catalog()),
                    share_last_hour: None,
                    quota: member.quota().readings(),
                    over_budget,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderKind;

    #[test]
    fn account_states_keep_their_json_names() {
        use AccountState::*;
        for (state, name) in [(Ready, "ready"), (Cooling, "cooling"), (Disabled, "disabled")] {
            assert_eq!(serde_json::to_value(state).unwrap(), serde_json::json!(name));
            assert_eq!(
                serde_json::from_value::<AccountState>(serde_json::json!(name)).unwrap(),
                state
            );
            assert_eq!(state.to_string(), name);
            assert_eq!(state, name);
        }
        assert!(serde_json::from_value::<AccountState>(serde_json::json!("Ready")).is_err());
    }

    fn account(id: &str, priority: i32, models: &[&str]) -> Member {
        let config = AccountConfig {
            id: id.to_string(),
            provider: ProviderKind::Gemini,
            label: String::new(),
            base_url: None,
            models: models.iter().map(|m| m.to_string()).collect(),
            priority,
            enabled: true,
            project: None,
            proxy_url: None,
            no_key: false,
            weight: 1,
        };
        Member::new(
            config,
            crate::upstream::provider(ProviderKind::Gemini),
            Arc::from("secret"),
            None,
        )
    }

    fn pool(members: Vec<Member>) -> Pool {
        Pool::new(members)
    }

    fn pick(pool: &Pool, model: &str) -> String {
        pool.select(model, None, None, &[]).unwrap().member().config.id.clone()
    }

    #[test]
    fn an_account_over_budget_leaves_until_its_window_rolls() {
        use std::sync::atomic::{AtomicI64, Ordering};
        let day = 86_400_000;
        let now = Arc::new(AtomicI64::new(20_000 * day + 3_600_000));
        let clock: budget::Clock = {
            let now = now.clone();
            Arc::new(move || now.load(Ordering::SeqCst))
        };
        let spending = Arc::new(budget::Spending::default());
        let limits = HashMap::from([(
            "first".to_string(),
            budget::BudgetConfig {
                usd_per_day: Some(2.0),
                ..budget::BudgetConfig::default()
            },
        )]);
        let pool = pool(vec![account("first", 0, &[]), account("backup", 1, &[])]).with_budgets(budget::Budgets::new(
            limits,
            spending.clone(),
            clock,
        ));
        assert_eq!(pick(&pool, "m"), "first");
        spending.add("first", now.load(Ordering::SeqCst), 2.5, 10);
        assert_eq!(pick(&pool, "m"), "backup", "the next tier takes over");
        let status = pool.status();
        assert_eq!(status[0].state, AccountState::Cooling);
        let reason = status[0].reason.clone().unwrap();
        assert!(
            reason.starts_with("over budget until 2024-10-05 00:00 UTC (usd_per_day 2 reached"),
            "{reason}"
        );
        assert_eq!(status[0].over_budget.as_ref().unwrap().until_ms, 20_001 * day);
        // Alone, it is unavailable until the new day, which the client is told.
        let alone = pool_alone(&spending, &now);
        match alone.select("m", None, None, &[]) {
            Err(Unavailable::AllCooling { retry_after }) => {
                assert_eq!(retry_after.as_secs(), 23 * 3600, "{retry_after:?}")
            }
            other => panic!("{:?}", other.map(|lease| lease.member().config.id.clone())),
        }
        now.store(20_001 * day, Ordering::SeqCst);
        assert_eq!(pick(&pool, "m"), "first", "back when the UTC day rolls");
        assert_eq!(pool.status()[0].state, AccountState::Ready);
    }

    fn pool_alone(spending: &Arc<budget::Spending>, now: &Arc<std::sync::atomic::AtomicI64>) -> Pool {
        let now = now.clone();
        let limits = HashMap::from([(
            "first".to_string(),
            budget::BudgetConfig {
                usd_per_day: Some(2.0),
                ..budget::BudgetConfig::default()
            },
        )]);
        pool(vec![account("first", 0, &[])]).with_budgets(budget::Budgets::new(
            limits,
            spending.clone(),
            Arc::new(move || now.load(std::sync::atomic::Ordering::SeqCst)),
        ))
    }

    fn listing(ids: &[&str]) -> Vec<ModelInfo> {
        ids.iter()
            .map(|id| ModelInfo {
                id: id.to_string(),
                display_name: None,
                context: None,
                output: None,
                created: None,
                kind: ModelKind::Chat,
            })
            .collect()
    }

    #[test]
    fn accounts_whose_catalogue_lists_the_model_come_first_in_every_tier() {
        let pool = pool(vec![
            account("cloud", 0, &[]),
            account("exact", 1, &["house-model"]),
            account("local", 9, &[]),
        ]);
        let members = pool.members();
        members[0].catalog_fetched(listing(&["gemini-2.5-flash"]), 1);
        members[1].catalog_fetched(listing(&[]), 1);
        members[2].catalog_fetched(listing(&["llama3.2:3b", "claude-sonnet-4-5-20250929"]), 1);
        assert_eq!(pick(&pool, "llama3.2:3b"), "local", "only the local list has it");
        assert_eq!(pick(&pool, "claude-sonnet-4-5-latest"), "local", "names are normalised");
        assert_eq!(pick(&pool, "gemini-2.5-flash"), "cloud");
        assert_eq!(
            pick(&pool, "house-model"),
            "exact",
            "an exact --models name counts as listed"
        );
        assert_eq!(
            pick(&pool, "nobody-lists-it"),
            "cloud",
            "then the tiers decide among the rest"
        );
        // A list not fetched yet refuses nothing (as before catalogues).
        let fresh = Pool::new(vec![account("a", 0, &[]), account("b", 9, &[])]);
        fresh.members()[1].catalog_fetched(listing(&["llama3.2:3b"]), 1);
        assert_eq!(pick(&fresh, "llama3.2:3b"), "a");
        // A failed fetch keeps the list.
        members[2].catalog_failed("HTTP 500".into());
        assert_eq!(pick(&pool, "llama3.2:3b"), "local");
        let status = pool.status();
        assert_eq!(status[2].catalog.as_ref().unwrap().models, Some(2));
        assert_eq!(status[2].catalog.as_ref().unwrap().error.as_deref(), Some("HTTP 500"));
    }

    fn rate_limited(secs: u64) -> Failure {
        Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
            message: "slow down".into(),
        }
    }

    #[test]
    fn sequential_requests_spread_evenly() {
        let pool = pool(vec![account("a", 0, &[]), account("b", 0, &[]), account("c", 0, &[])]);
        let mut counts: HashMap<String, usize> = HashMap::new();
        for _ in 0..99 {
            *counts.entry(pick(&pool, "m")).or_default() += 1;
        }
        assert_eq!(counts.len(), 3);
        assert!(counts.values().all(|&n| n == 33), "{counts:?}");
    }

    #[test]
    fn concurrent_requests_go_to_the_least_busy() {
        let pool = pool(vec![account("a", 0, &[]), account("b", 0, &[])]);
        let held: Vec<Lease> = (0..10).map(|_| pool.select("m", None, None, &[]).unwrap()).collect();
        let a = held.iter().filter(|l| l.member().config.id == "a").count();
        assert_eq!(a, 5, "held leases alternate");
        assert_eq!(pool.members()[0].in_flight(), 5);
        drop(held);
        assert_eq!(pool.members()[0].in_flight(), 0, "dropping a lease ends its claim");
    }

    #[tokio::test(start_paused = true)]
    async fn a_reloaded_pool_keeps_the_cooldowns_of_unchanged_accounts() {
        let old = pool(vec![account("a", 0, &[]), account("b", 0, &[]), account("c", 0, &[])]);
        for id in ["a", "b"] {
            let lease = old.select("m", None, Some(id), &[]).unwrap();
            assert_eq!(old.failed(&lease, "m", &rate_limited(60)), Verdict::Rotate);
        }
        // `b` changed its model globs, `c` is gone, `d` is new.
        let new = pool(vec![
            account("a", 0, &[]),
            account("b", 0, &["m*"]),
            account("d", 0, &[]),
        ]);
        new.inherit(&old);
        let states: Vec<(String, AccountState, u64)> =
            new.status().into_iter().map(|s| (s.id, s.state, s.requests)).collect();
        assert_eq!(
            states,
            vec![
                ("a".to_string(), AccountState::Cooling, 1),
                ("b".to_string(), AccountState::Ready, 0),
                ("d".to_string(), AccountState::Ready, 0),
            ]
        );
    }

    #[test]
    fn globs_decide_who_serves() {
        let pool = pool(vec![account("g", 0, &["gemini-*"]), account("z", 0, &["glm-*"])]);
        assert_eq!(pick(&pool, "gemini-2.5-pro"), "g");
        assert_eq!(pick(&pool, "glm-4.6"), "z");
        assert_eq!(
            pool.select("gpt-4o", None, None, &[]).unwrap_err(),
            Unavailable::NoAccount { disabled: vec![] }
        );
        assert!(pool.serves("glm-4.5") && !pool.serves("claude-x"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limited_account_rests_exactly_as_long_as_asked() {
        let pool = pool(vec![account("a", 0, &[]), account("b", 0, &[])]);
        let lease = pool.select("m", None, None, &[]).unwrap();
        let limited = lease.member().config.id.clone();
        assert_eq!(pool.failed(&lease, "m", &rate_limited(30)), Verdict::Rotate);
        drop(lease);
        for _ in 0..10 {
            assert_ne!(pick(&pool, "m"), limited);
        }
        // Another model on the same account is unaffected.
        let others: Vec<String> = (0..4).map(|_| pick(&pool, "other")).collect();
        assert!(others.contains(&limited), "{others:?}");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!((0..6).all(|_| pick(&pool, "m") != limited));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(
            (0..6).any(|_| pick(&pool, "m") == limited),
            "the cooldown ends on its own"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn when_all_are_cooling_the_shortest_wait_is_reported() {
        let pool = pool(vec![account("a", 0, &[]), account("b", 0, &[])]);
        let first = pool.select("m", None, None, &[]).unwrap();
        pool.failed(&first, "m", &rate_limited(40));
        let second = pool.select("m", None, None, &[first.index()]).unwrap();
        pool.failed(&second, "m", &rate_limited(25));
        drop((first, second));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(
            pool.select("m", None, None, &[]).unwrap_err(),
            Unavailable::AllCooling {
                retry_after: Duration::from_secs(20)
            }
        );
        let status = pool.status();
        assert!(status.iter().all(|s| s.state == AccountState::Cooling), "{status:?}");
        assert_eq!(status[1].cooldowns[0].model, "m");
        assert_eq!(status[1].cooldowns[0].remaining_secs, 20);
    }

    #[tokio::test(start_paused = true)]
    async fn credentials_rejected_disable_until_reenabled() {
        let pool = pool(vec![account("a", 0, &[]), account("b", 0, &[])]);
        let lease = pool.select("m", None, Some("a"), &[]).unwrap();
        let failure = Failure::Status {
            status: 401,
            retry_after: None,
            message: "API key not valid".into(),
        };
        assert_eq!(pool.failed(&lease, "m", &failure), Verdict::Rotate);
        drop(lease);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!((0..5).all(|_| pick(&pool, "m") == "b"));
        let status = &pool.status()[0];
        assert_eq!(status.state, AccountState::Disabled);
        assert!(
            status.reason.as_deref().unwrap().contains("API key not valid"),
            "{status:?}"
        );
        assert_eq!(pool.active_count(), 1);
        assert!(pool.reenable("a"));
        assert!((0..4).any(|_| pick(&pool, "m") == "a"));
        assert!(!pool.reenable("nope"));
    }

    #[tokio::test(start_paused = true)]
    async fn only_credential_failures_disable() {
        let pool = pool(vec![account("a", 0, &[]), account("b", 0, &[])]);
        let refused = Failure::Status {
            status: 403,
            retry_after: None,
            message: "Your organization does not have access to this model".into(),
        };
        let lease = pool.select("m", None, Some("a"), &[]).unwrap();
        assert_eq!(pool.failed(&lease, "m", &refused), Verdict::Rotate);
        let too_large = Failure::TooLarge { limit: 1 << 20 };
        assert_eq!(pool.failed(&lease, "m", &too_large), Verdict::GiveUp);
        drop(lease);
        assert_eq!(
            pool.status()[0].state,
            AccountState::Ready,
            "a 403 about the request disables nothing"
        );
        assert!((0..4).any(|_| pick(&pool, "m") == "a"));
        let lease = pool.select("m", None, Some("a"), &[]).unwrap();
        let rejected = Failure::Rejected {
            status: 400,
            message: "API key not valid. Please pass a valid API key.".into(),
        };
        assert_eq!(pool.failed(&lease, "m", &rejected), Verdict::Rotate);
        drop(lease);
        assert_eq!(pool.status()[0].state, AccountState::Disabled);
    }

    #[tokio::test(start_paused = true)]
    async fn server_errors_and_transport_failures_cool_briefly() {
        let pool = pool(vec![account("a", 0, &[]), account("b", 0, &[])]);
        let lease = pool.select("m", None, Some("a"), &[]).unwrap();
        let failure = Failure::Status {
            status: 503,
            retry_after: None,
            message: "overloaded".into(),
        };
        assert_eq!(pool.failed(&lease, "m", &failure), Verdict::Rotate);
        drop(lease);
        assert!((0..4).all(|_| pick(&pool, "m") == "b"));
        assert!(
            (0..4).any(|_| pick(&pool, "other") == "a"),
            "a 5xx cools only that model"
        );
        tokio::time::advance(health::SERVER_ERROR_COOLDOWN).await;
        assert!((0..4).any(|_| pick(&pool, "m") == "a"));

        let lease = pool.select("m", None, Some("a"), &[]).unwrap();
        assert_eq!(
            pool.failed(&lease, "m", &Failure::Connect("refused".into())),
            Verdict::Rotate
        );
        drop(lease);
        assert!(
            (0..4).all(|_| pick(&pool, "other") == "b"),
            "a transport failure cools every model"
        );
        tokio::time::advance(health::UNREACHABLE_COOLDOWN).await;
        assert!((0..4).any(|_| pick(&pool, "other") == "a"));

        let lease = pool.select("m", None, Some("a"), &[]).unwrap();
        let bad_request = Failure::Status {
            status: 400,
            retry_after: None,
            message: "bad".into(),
        };
        assert_eq!(
            pool.failed(&lease, "m", &bad_request),
            Verdict::GiveUp,
            "another account would fail alike"
        );
        assert_eq!(pool.status()[0].errors, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_worse_tier_serves_only_while_the_better_one_cannot() {
        let pool = pool(vec![account("main", 0, &[]), account("zai", 1, &[])]);
        assert!((0..10).all(|_| pick(&pool, "m") == "main"));
        let lease = pool.select("m", None, None, &[]).unwrap();
        pool.failed(&lease, "m", &rate_limited(10));
        drop(lease);
        assert!((0..10).all(|_| pick(&pool, "m") == "zai"));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!((0..10).all(|_| pick(&pool, "m") == "main"));
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_stick_and_fall_back() {
        let pool = pool(vec![account("a", 0, &[]), account("b", 0, &[]), account("c", 0, &[])]);
        let first = pool
            .select("m", Some("conv-1"), None, &[])
            .unwrap()
            .member()
            .config
            .id
            .clone();
        for _ in 0..10 {
            assert_eq!(
                pool.select("m", Some("conv-1"), None, &[]).unwrap().member().config.id,
                first
            );
        }
        let lease = pool.select("m", Some("conv-1"), None, &[]).unwrap();
        pool.failed(&lease, "m", &rate_limited(60));
        drop(lease);
        let moved = pool
            .select("m", Some("conv-1"), None, &[])
            .unwrap()
            .member()
            .config
            .id
            .clone();
        assert_ne!(moved, first, "falls back when the bound account cools");
        assert_eq!(
            pool.select("m", Some("conv-1"), None, &[]).unwrap().member().config.id,
            moved,
            "and sticks to the new one"
        );
    }

    #[test]
    fn a_preferred_account_wins_when_available_and_tried_ones_are_skipped() {
        let pool = pool(vec![account("a", 0, &[]), account("b", 0, &[])]);
        assert!((0..5).all(|_| pool.select("m", None, Some("b"), &[]).unwrap().member().config.id == "b"));
        let only_b = pool.select("m", None, None, &[0]).unwrap();
        assert_eq!(only_b.member().config.id, "b");
        assert_eq!(
            pool.select("m", None, None, &[0, 1]).unwrap_err(),
            Unavailable::Exhausted
        );
    }

    #[test]
    fn accounts_without_a_secret_are_disabled_with_the_reason() {
        let config = AccountConfig {
            id: "x".into(),
            provider: ProviderKind::Openai,
            label: "lost".into(),
            base_url: None,
            models: vec![],
            priority: 0,
            enabled: true,
            project: None,
            proxy_url: None,
            no_key: false,
            weight: 1,
        };
        let member = Member::new(
            config,
            crate::upstream::provider(ProviderKind::Openai),
            Arc::from(""),
            Some("no secret stored".into()),
        );
        let pool = pool(vec![member]);
        assert_eq!(
            pool.select("m", None, None, &[]).unwrap_err(),
            Unavailable::NoAccount {
                disabled: vec![("lost".into(), "no secret stored".into())]
            }
        );
        assert_eq!(pool.active_count(), 0);
    }
}
