//! Prometheus metrics (`GET /metrics`), through prometheus-client.
//!
//! Request metrics are updated as records arrive; pool metrics (in flight,
//! account states, cooldowns) are read from the pool at scrape time.
//! Label values that clients choose (model names) are capped so a client
//! cannot grow the series without bound.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::record::RequestRecord;
use crate::pool::{AccountState, AccountStatus};

/// Distinct model label values kept; later ones are counted as `other`.
const MAX_MODELS: usize = 200;

/// Distinct client key names kept as `key` label values; later ones are
/// counted as `other`. Names come from `keys.json`, never from a client,
/// but a home that made and revoked keys for years must not grow without
/// bound either.
const MAX_KEYS: usize = 200;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    model: String,
    account: String,
    key: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    model: String,
    account: String,
    key: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CostLabels {
    model: String,
    account: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabels {
    account: String,
    provider: String,
    state: AccountState,
}

/// The `state` label: the name the JSON carries (`ready`, `cooling`, `disabled`).
impl EncodeLabelValue for AccountState {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InFlightLabels {
    account: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuotaLabels {
    account: String,
    model: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CooldownLabels {
    account: String,
    model: String,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms … ~100 s: gateway overhead sits at the low end, whole calls high.
    Histogram::new(exponential_buckets(0.0001, 2.5, 16))
}

/// The route label of a request path: its template (the model of a Gemini
/// path becomes `{model}`), or `other` for a path that is no API route, so
/// that no client can grow the series with paths of its choosing.
fn route_label(path: &str) -> String {
    const ROUTES: [&str; 5] = [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/models",
    ];
    const GEMINI_METHODS: [&str; 3] = ["generateContent", "streamGenerateContent", "countTokens"];
    if ROUTES.contains(&path) {
        return path.to_string();
    }
    for prefix in ["/v1beta/models/", "/v1/models/"] {
        if let Some((_, method)) = path.strip_prefix(prefix).and_then(|rest| rest.rsplit_once(':'))
            && GEMINI_METHODS.contains(&method)
        {
            return format!("{prefix}{{model}}:{method}");
        }
    }
    "other".to_string()
}

/// `value` if it is one of the first `max` values seen in `seen`, else `other`.
fn capped(seen: &Mutex<HashSet<String>>, max: usize, value: &str) -> String {
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    if seen.contains(value) {
        return value.to_string();
    }
    if seen.len() < max {
        seen.insert(value.to_string());
        return value.to_string();
    }
    "other".to_string()
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    overhead: Family<RouteLabels, Histogram, fn() -> Histogram>,
    ttfb: Family<RouteLabels, Histogram, fn() -> Histogram>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<CostLabels, Counter<f64, AtomicU64>>,
    accounts: Family<AccountLabels, Gauge>,
    in_flight: Family<InFlightLabels, Gauge>,
    cooldowns: Family<CooldownLabels, Gauge<f64, AtomicU64>>,
    quota_remaining: Family<QuotaLabels, Gauge>,
    dropped: Counter,
    models: Mutex<HashSet<String>>,
    keys: Mutex<HashSet<String>>,
    /// Serialises scrapes: pool gauges are cleared and refilled per scrape.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("switchyard");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "API calls by route, model, account and status",
            requests.clone(),
        );
        let duration = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "request_duration_seconds",
            "Time from arrival to the last byte",
            duration.clone(),
        );
        let overhead = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "gateway_overhead_seconds",
            "Time the gateway added beyond the upstream's",
            overhead.clone(),
        );
        let ttfb = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "time_to_first_byte_seconds",
            "Time from arrival to the first byte sent",
            ttfb.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Tokens by model, account and kind (input, output, cached)",
            tokens.clone(),
        );
        let cost = Family::<CostLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "cost_usd",
            "What priced calls cost in USD, by model and account (unpriced models add nothing)",
            cost.clone(),
        );
        let accounts = Family::<AccountLabels, Gauge>::default();
        registry.register("account_state", "1 for each account's current state", accounts.clone());
        let in_flight = Family::<InFlightLabels, Gauge>::default();
        registry.register(
            "in_flight_requests",
            "Requests in flight per account",
            in_flight.clone(),
        );
        let cooldowns = Family::<CooldownLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "account_cooldown_seconds",
            "Seconds left of each cooldown",
            cooldowns.clone(),
        );
        let quota_remaining = Family::<QuotaLabels, Gauge>::default();
        registry.register(
            "account_quota_remaining",
            "What each account's upstream last said is left, by model and kind (requests, tokens, input_tokens, output_tokens)",
            quota_remaining.clone(),
        );
        let dropped = Counter::default();
        registry.register(
            "records_dropped",
            "Request records not persisted because the writer fell behind",
            dropped.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            overhead,
            ttfb,
            tokens,
            cost,
            accounts,
            in_flight,
            cooldowns,
            quota_remaining,
            dropped,
            models: Mutex::new(HashSet::new()),
            keys: Mutex::new(HashSet::new()),
            scrape: Mutex::new(()),
        }
    }
}

impl Metrics {
    /// A model label: the name, or `other` once too many were seen.
    fn model_label(&self, model: &str) -> String {
        capped(&self.models, MAX_MODELS, model)
    }

    /// A key label: the client key's name (`-` for calls without one), or
    /// `other` once too many were seen.
    fn key_label(&self, key: Option<&str>) -> String {
        key.map_or_else(|| "-".to_string(), |name| capped(&self.keys, MAX_KEYS, name))
    }

    /// Counts one finished call.
    pub fn observe(&self, record: &RequestRecord) {
        let model = self.model_label(record.served_model.as_deref().unwrap_or(&record.model));
        let route = route_label(&record.route);
        let account = record.account.clone().unwrap_or_else(|| "-".to_string());
        let key = self.key_label(record.key.as_deref());
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                model: model.clone(),
                account: account.clone(),
                key: key.clone(),
                status: record.status.to_string(),
            })
            .inc();
        let route = RouteLabels { route };
        self.duration.get_or_create(&route).observe(record.total_ms / 1000.0);
        if let Some(overhead) = record.overhead_ms {
            self.overhead.get_or_create(&route).observe(overhead.max(0.0) / 1000.0);
        }
        if let Some(ttfb) = record.ttfb_ms {
            self.ttfb.get_or_create(&route).observe(ttfb / 1000.0);
        }
        for (kind, count) in [
            ("input", record.input_tokens),
            ("output", record.output_tokens),
            ("cached", record.cached_tokens),
        ] {
            if count > 0 {
                self.tokens
                    .get_or_create(&TokenLabels {
                        model: model.clone(),
                        account: account.clone(),
                        key: key.clone(),
                        kind: kind.into(),
                    })
                    .inc_by(count);
            }
        }
        if let Some(cost) = record.cost_usd.filter(|cost| *cost > 0.0) {
            self.cost.get_or_create(&CostLabels { model, account }).inc_by(cost);
        }
    }

    /// Counts a record the writer could not take.
    pub fn dropped(&self) {
        self.dropped.inc();
    }

    /// The text exposition, with the pool's current state.
    pub fn render(&self, accounts: &[AccountStatus]) -> String {
        let _scrape = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        self.accounts.clear();
        self.in_flight.clear();
        self.cooldowns.clear();
        self.quota_remaining.clear();
        for account in accounts {
            let name = if account.label.is_empty() {
                account.id.clone()
            } else {
                account.label.clone()
            };
            self.accounts
                .get_or_create(&AccountLabels {
                    account: name.clone(),
                    provider: account.provider.clone(),
                    state: account.state,
                })
                .set(1);
            self.in_flight
                .get_or_create(&InFlightLabels { account: name.clone() })
                .set(account.in_flight as i64);
            for cooldown in &account.cooldowns {
                self.cooldowns
                    .get_or_create(&CooldownLabels {
                        account: name.clone(),
                        model: self.model_label(&cooldown.model),
                    })
                    .set(cooldown.remaining_secs as f64);
            }
            for reading in &account.quota {
                for limit in &reading.limits {
                    let Some(remaining) = limit.remaining else { continue };
                    self.quota_remaining
                        .get_or_create(&QuotaLabels {
                            account: name.clone(),
                            model: self.model_label(&reading.model),
                            kind: limit.kind.as_str().to_string(),
                        })
                        .set(i64::try_from(remaining).unwrap_or(i64::MAX));
                }
            }
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn route_labels_are_templates_never_raw_paths() {
        assert_eq!(route_label("/v1/chat/completions"), "/v1/chat/completions");
        assert_eq!(
            route_label("/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
            "/v1beta/models/{model}:streamGenerateContent"
        );
        assert_eq!(
            route_label("/v1/models/x:countTokens"),
            "/v1/models/{model}:countTokens"
        );
        assert_eq!(route_label("/v1beta/models/x:somethingElse"), "other");
        assert_eq!(route_label("/anything/a-client/chose"), "other");
    }
}
