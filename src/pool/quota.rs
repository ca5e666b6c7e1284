//! What each account has left, as its upstream says on every answer: the
//! latest reading per model, read from the rate-limit headers and from the
//! retry hints of a 429.
//!
//! The sources:
//! - OpenAI and OpenAI-compatible upstreams:
//!   `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, the reset a
//!   Go duration (`6m0s`, `1s`, `20ms`).
//! - Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,
//!   output-tokens}-{limit,remaining,reset}`, the reset an RFC 3339 time.
//! - Google sends no counts: a 429's `retryDelay` / `quotaResetDelay` (or
//!   `Retry-After`) says when the quota comes back, and the remaining count
//!   stays unknown rather than invented.
//!
//! Times are passed in (ms since the epoch): nothing here reads a clock.

use std::collections::BTreeMap;
use std::time::Duration;

use http::HeaderMap;
use serde::{Deserialize, Serialize};

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaKind {
    /// Requests.
    Requests,
    /// Tokens (input and output together).
    Tokens,
    /// Input tokens (Anthropic).
    InputTokens,
    /// Output tokens (Anthropic).
    OutputTokens,
}

impl QuotaKind {
    /// The name in JSON and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::Requests => "requests",
            QuotaKind::Tokens => "tokens",
            QuotaKind::InputTokens => "input_tokens",
            QuotaKind::OutputTokens => "output_tokens",
        }
    }
}

/// A limit's header names: its limit, remaining and reset.
type Names = [&'static str; 3];

/// Each kind's header names: Anthropic's limit, remaining and reset, then
/// OpenAI's (which names requests and tokens only). Spelled out, so that
/// reading an answer's headers makes no string.
const HEADERS: [(QuotaKind, Names, Option<Names>); 4] = [
    (
        QuotaKind::Requests,
        [
            "anthropic-ratelimit-requests-limit",
            "anthropic-ratelimit-requests-remaining",
            "anthropic-ratelimit-requests-reset",
        ],
        Some([
            "x-ratelimit-limit-requests",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
        ]),
    ),
    (
        QuotaKind::Tokens,
        [
            "anthropic-ratelimit-tokens-limit",
            "anthropic-ratelimit-tokens-remaining",
            "anthropic-ratelimit-tokens-reset",
        ],
        Some([
            "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-tokens",
        ]),
    ),
    (
        QuotaKind::InputTokens,
        [
            "anthropic-ratelimit-input-tokens-limit",
            "anthropic-ratelimit-input-tokens-remaining",
            "anthropic-ratelimit-input-tokens-reset",
        ],
        None,
    ),
    (
        QuotaKind::OutputTokens,
        [
            "anthropic-ratelimit-output-tokens-limit",
            "anthropic-ratelimit-output-tokens-remaining",
            "anthropic-ratelimit-output-tokens-reset",
        ],
        None,
    ),
];

/// One limit as last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// What it counts.
    pub kind: QuotaKind,
    /// The window's allowance, when the upstream says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// What is left of it; `None`: unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// When it is whole again, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_ms: Option<i64>,
}

impl Limit {
    /// What is left as a share of the allowance (0 to 1), when both are known.
    pub fn fraction(&self) -> Option<f64> {
        match (self.remaining, self.limit) {
            (Some(remaining), Some(limit)) if limit > 0 => Some((remaining as f64 / limit as f64).min(1.0)),
            _ => None,
        }
    }
}

/// The latest reading of one account for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaStatus {
    /// The model the reading came with.
    pub model: String,
    /// When it was read, ms since the epoch.
    pub read_ms: i64,
    /// The limits the upstream named; empty when it names none (Gemini).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<Limit>,
    /// Set after a 429: when the upstream said to come back, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhausted_until_ms: Option<i64>,
}

impl QuotaStatus {
    /// The smallest share left of any limit (0 to 1); 0 while a 429's wait
    /// lasts; `None` when nothing says.
    pub fn lowest_fraction(&self, now_ms: i64) -> Option<f64> {
        if self.exhausted_until_ms.is_some_and(|until| until > now_ms) {
            return Some(0.0);
        }
        self.limits
            .iter()
            .filter(|limit| limit.reset_ms.is_none_or(|reset| reset > now_ms))
            .filter_map(Limit::fraction)
            .min_by(f64::total_cmp)
    }

    /// One line for people: `requests 4999/5000 (resets in 12s), tokens ...`.
    pub fn describe(&self, now_ms: i64) -> String {
        let mut parts: Vec<String> = self
            .limits
            .iter()
            .map(|limit| {
                let left = match (limit.remaining, limit.limit) {
                    (Some(remaining), Some(total)) => format!("{remaining}/{total}"),
                    (Some(remaining), None) => remaining.to_string(),
                    (None, _) => "unknown".to_string(),
                };
                let mut text = format!("{} {left}", limit.kind.as_str().replace('_', " "));
                if let Some(reset) = limit.reset_ms.filter(|reset| *reset > now_ms) {
                    text.push_str(&format!(" (resets in {})", wait_text(reset - now_ms)));
                }
                text
            })
            .collect();
        if parts.is_empty() {
            parts.push("remaining unknown".to_string());
        }
        if let Some(until) = self.exhausted_until_ms.filter(|until| *until > now_ms) {
            parts.push(format!("rate limited for {}", wait_text(until - now_ms)));
        }
        parts.join(", ")
    }
}

/// `37s`, `6m 0s`, `4h 2m`: a wait as people read it, to the second.
pub fn wait_text(ms: i64) -> String {
    let secs = (ms.max(0) as u64).div_ceil(1000);
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

/// The latest readings of one account, per model.
#[derive(Debug, Clone, Default)]
pub struct Quotas {
    by_model: BTreeMap<String, QuotaStatus>,
}

/// Most models one account keeps readings for: a client naming models at
/// will must not grow the map without bound (the oldest reading goes).
const MAX_MODELS: usize = 64;

impl Quotas {
    /// Takes the rate-limit headers of an answer for `model`. Headers that
    /// name no limit leave the reading as it was (Gemini's answers).
    pub fn observe(&mut self, model: &str, headers: &HeaderMap, now_ms: i64) {
        let limits = limits_from_headers(headers, now_ms);
        if limits.is_empty() {
            return;
        }
        // Every answer of a rate-limited upstream brings a reading: the
        // model's last one is overwritten in place. A new one per answer
        // would be allocated among the call's short-lived buffers and keep
        // their pages resident after a burst.
        if let Some(mine) = self.by_model.get_mut(model) {
            mine.read_ms = now_ms;
            mine.limits.clone_from(&limits);
            mine.exhausted_until_ms = None;
            return;
        }
        self.put(QuotaStatus {
            model: model.to_string(),
            read_ms: now_ms,
            limits,
            exhausted_until_ms: None,
        });
    }

    /// A 429 for `model`, the upstream asking to wait `retry_after`
    /// (unknown counts stay unknown; known ones are kept).
    pub fn exhausted(&mut self, model: &str, retry_after: Option<Duration>, now_ms: i64) {
        let until = now_ms + retry_after.map_or(60_000, |wait| wait.as_millis().min(i64::MAX as u128) as i64);
        let mut status = self.by_model.remove(model).unwrap_or(QuotaStatus {
            model: model.to_string(),
            read_ms: now_ms,
            limits: Vec::new(),
            exhausted_until_ms: None,
        });
        status.read_ms = now_ms;
        status.exhausted_until_ms = Some(until);
        self.put(status);
    }

    fn put(&mut self, status: QuotaStatus) {
        if !self.by_model.contains_key(&status.model) && self.by_model.len() >= MAX_MODELS {
            let oldest = self
                .by_model
                .values()
                .min_by_key(|s| s.read_ms)
                .map(|s| s.model.clone());
            if let Some(oldest) = oldest {
                self.by_model.remove(&oldest);
            }
        }
        self.by_model.insert(status.model.clone(), status);
    }

    /// Takes another replica's reading when it is newer than this one's.
    pub fn adopt(&mut self, status: &QuotaStatus) {
        if self
            .by_model
            .get(&status.model)
            .is_none_or(|mine| mine.read_ms < status.read_ms)
        {
            self.put(status.clone());
        }
    }

    /// The readings, by model.
    pub fn readings(&self) -> Vec<QuotaStatus> {
        self.by_model.values().cloned().collect()
    }
}

/// The limits named by `headers` (OpenAI's or Anthropic's names).
pub fn limits_from_headers(headers: &HeaderMap, now_ms: i64) -> Vec<Limit> {
    // Most answers carry none of these: one pass over the names the answer
    // has instead of two dozen lookups by name (each parses the name).
    let rate_limited = headers.keys().any(|name| {
        let name = name.as_str();
        name.starts_with("x-ratelimit-") || name.starts_with("anthropic-ratelimit-")
    });
    if !rate_limited {
        return Vec::new();
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let number = |name: &str| text(name).and_then(|v| v.parse::<u64>().ok());
    let mut limits = Vec::new();
    for (kind, [limit, remaining, reset], openai) in HEADERS {
        // Anthropic's: the reset an RFC 3339 time.
        let anthropic = Limit {
            kind,
            limit: number(limit),
            remaining: number(remaining),
            reset_ms: text(reset).and_then(rfc3339_ms),
        };
        if anthropic.limit.is_some() || anthropic.remaining.is_some() {
            limits.push(anthropic);
            continue;
        }
        // OpenAI's: the reset a Go duration.
        if let Some([limit, remaining, reset]) = openai {
            let openai = Limit {
                kind,
                limit: number(limit),
                remaining: number(remaining),
                reset_ms: text(reset)
                    .and_then(|v| humantime::parse_duration(v).ok())
                    .map(|wait| now_ms.saturating_add(wait.as_millis().min(i64::MAX as u128) as i64)),
            };
            if openai.limit.is_some() || openai.remaining.is_some() {
                limits.push(openai);
            }
        }
    }
    limits
}

fn rfc3339_ms(text: &str) -> Option<i64> {
    let time = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()?;
    let ms = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    i64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn openai_headers_with_go_durations() {
        let now = 1_000_000;
        let limits = limits_from_headers(
            &headers(&[
                ("x-ratelimit-limit-requests", "5000"),
                ("x-ratelimit-remaining-requests", "4999"),
                ("x-ratelimit-reset-requests", "12ms"),
                ("x-ratelimit-limit-tokens", "160000"),
                ("x-ratelimit-remaining-tokens", "120000"),
                ("x-ratelimit-reset-tokens", "6m0s"),
            ]),
            now,
        );
        assert_eq!(
            limits,
            [
                Limit {
                    kind: QuotaKind::Requests,
                    limit: Some(5000),
                    remaining: Some(4999),
                    reset_ms: Some(now + 12)
                },
                Limit {
                    kind: QuotaKind::Tokens,
                    limit: Some(160_000),
                    remaining: Some(120_000),
                    reset_ms: Some(now + 360_000)
                },
            ]
        );
        assert_eq!(limits[1].fraction(), Some(0.75));
    }

    #[test]
    fn anthropic_headers_with_rfc3339_resets() {
        let limits = limits_from_headers(
            &headers(&[
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "3"),
                ("anthropic-ratelimit-requests-reset", "2026-12-06T14:00:10Z"),
                ("anthropic-ratelimit-input-tokens-limit", "30000"),
                ("anthropic-ratelimit-input-tokens-remaining", "29000"),
                ("anthropic-ratelimit-output-tokens-remaining", "8000"),
                ("anthropic-ratelimit-tokens-remaining", "37000"),
            ]),
            0,
        );
        let kinds: Vec<_> = limits.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                QuotaKind::Requests,
                QuotaKind::Tokens,
                QuotaKind::InputTokens,
                QuotaKind::OutputTokens
            ]
        );
        assert_eq!(limits[0].reset_ms, Some(1_796_565_610_000));
        assert_eq!(limits[0].fraction(), Some(0.06));
        assert_eq!(
            (limits[3].remaining, limits[3].limit, limits[3].fraction()),
            (Some(8000), None, None)
        );
    }

    #[test]
    fn no_headers_no_reading_and_a_429_keeps_counts_unknown() {
        let mut quotas = Quotas::default();
        quotas.observe("gemini-2.5-flash", &headers(&[("content-type", "application/json")]), 0);
        assert!(quotas.readings().is_empty(), "Gemini names no limit");
        quotas.exhausted("gemini-2.5-flash", Some(Duration::from_secs(37)), 1000);
        let reading = &quotas.readings()[0];
        assert!(reading.limits.is_empty());
        assert_eq!(reading.exhausted_until_ms, Some(38_000));
        assert_eq!(reading.lowest_fraction(2000), Some(0.0));
        assert_eq!(reading.lowest_fraction(38_000), None, "unknown once the wait is over");
        assert_eq!(reading.describe(2000), "remaining unknown, rate limited for 36s");
    }

    #[test]
    fn the_latest_reading_per_model_is_kept_and_described() {
        let mut quotas = Quotas::default();
        let reading = |remaining: &str| {
            headers(&[
                ("x-ratelimit-limit-requests", "100"),
                ("x-ratelimit-remaining-requests", remaining),
                ("x-ratelimit-reset-requests", "1s"),
            ])
        };
        quotas.observe("gpt-4o", &reading("50"), 0);
        quotas.observe("gpt-4o", &reading("8"), 10);
        quotas.observe("gpt-4o-mini", &reading("99"), 20);
        let readings = quotas.readings();
        assert_eq!(readings.len(), 2);
        assert_eq!(readings[0].limits[0].remaining, Some(8));
        assert_eq!(readings[0].lowest_fraction(10), Some(0.08));
        assert_eq!(readings[0].describe(10), "requests 8/100 (resets in 1s)");
        let limits = quotas.by_model["gpt-4o"].limits.as_ptr();
        quotas.exhausted("gpt-4o", None, 15);
        quotas.observe("gpt-4o", &reading("7"), 30);
        let kept = &quotas.by_model["gpt-4o"];
        assert_eq!(
            (kept.read_ms, kept.limits[0].remaining, kept.exhausted_until_ms),
            (30, Some(7), None)
        );
        assert_eq!(kept.limits.as_ptr(), limits, "the reading is overwritten where it is");
        for i in 0..(MAX_MODELS + 5) {
            quotas.observe(&format!("m{i}"), &reading("1"), 100 + i as i64);
        }
        assert_eq!(quotas.readings().len(), MAX_MODELS, "bounded");
    }
}
