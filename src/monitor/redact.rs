//! Removing credentials from text that leaves the gateway: bodies the
//! monitor keeps (when body storage is on) and every upstream error text
//! before it reaches a client, the log, the request log or the dashboard.
//!
//! A known secret is found in any of the forms an upstream may echo it in:
//! raw, JSON-escaped (`\"`, `\/`, `\u0022`, escaped again inside an
//! escaped string), percent-encoded (`%2F` or `%2f`) and form-encoded
//! (`+` for a space), each character in any of its forms, so a mix of
//! encodings is found too.

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use regex::Regex;

/// What replaces a credential.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not looked for (they would match ordinary text).
const MIN_SECRET: usize = 6;

/// Replaces known secrets and anything shaped like an API key or token.
pub struct Redactor {
    known: Vec<String>,
    /// Every form of every known secret; `None` when there is none.
    secrets: Option<Regex>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("known", &self.known.len())
            .finish_non_exhaustive()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(Vec::new())
    }
}

impl Redactor {
    /// The exact secrets it removes.
    pub fn known(&self) -> &[String] {
        &self.known
    }

    /// A redactor that also removes these exact `known` secrets (the
    /// gateway key and the accounts' keys and refresh tokens).
    pub fn new(known: Vec<String>) -> Redactor {
        let known: Vec<String> = known.into_iter().filter(|s| s.len() >= MIN_SECRET).collect();
        Redactor {
            secrets: matcher(&known),
            known,
        }
    }

    /// `text` without credentials.
    pub fn redact(&self, text: &str) -> String {
        self.redact_with(text, &[])
    }

    /// `text` without credentials, nor any form of the `extra` secrets (a
    /// Google access token of the moment, which no list holds).
    pub fn redact_with(&self, text: &str, extra: &[&str]) -> String {
        let mut out = match &self.secrets {
            Some(secrets) => secrets.replace_all(text, REDACTED).into_owned(),
            None => text.to_string(),
        };
        let extra: Vec<String> = extra
            .iter()
            .filter(|s| s.len() >= MIN_SECRET && !self.known.iter().any(|k| k == *s))
            .map(|s| s.to_string())
            .collect();
        if let Some(extra) = matcher(&extra) {
            out = extra.replace_all(&out, REDACTED).into_owned();
        }
        patterns().replace_all(&out, REDACTED).into_owned()
    }

    /// `text` without credentials, cut to `limit` bytes.
    pub fn clean(&self, text: &str, limit: usize) -> String {
        let mut out = self.redact(text);
        if out.len() > limit {
            let cut = (0..=limit).rev().find(|&i| out.is_char_boundary(i)).unwrap_or(0);
            out.truncate(cut);
            out.push_str("…[truncated]");
        }
        out
    }
}

/// One redactor shared by everything that redacts (the monitor and the
/// upstream layer), swapped whole when the gateway's secrets change.
#[derive(Clone, Default)]
pub struct SharedRedactor(Arc<ArcSwap<Redactor>>);

impl SharedRedactor {
    /// A handle on `redactor`.
    pub fn new(redactor: Redactor) -> SharedRedactor {
        SharedRedactor(Arc::new(ArcSwap::from_pointee(redactor)))
    }

    /// The redactor of the moment.
    pub fn load(&self) -> Arc<Redactor> {
        self.0.load_full()
    }

    /// Replaces the redactor for every holder of this handle.
    pub fn store(&self, redactor: Arc<Redactor>) {
        self.0.store(redactor);
    }
}

impl std::fmt::Debug for SharedRedactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRedactor")
    }
}

/// Shapes of credentials whatever their owner: sk-… (OpenAI, Anthropic,
/// the gateway), AIza… (Google API keys), ya29.… (Google access tokens),
/// 1//… (Google refresh tokens), and Bearer values.
fn patterns() -> &'static Regex {
    static PATTERNS: OnceLock<Regex> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        Regex::new(
            r"(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|ya29\.[0-9A-Za-z_\-\.]{10,}|1//[0-9A-Za-z_\-]{10,}|(?i:bearer)\s+[A-Za-z0-9_\-\.=]{8,})",
        )
        .expect("the redaction pattern is valid")
    })
}

/// One regex matching every form of every secret, longest secrets first
/// (so that a secret containing another is removed whole).
fn matcher(secrets: &[String]) -> Option<Regex> {
    let mut sorted: Vec<&String> = secrets.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    sorted.dedup();
    let alternatives: Vec<String> = sorted.iter().map(|s| forms(s)).collect();
    if alternatives.is_empty() {
        return None;
    }
    match regex::RegexBuilder::new(&alternatives.join("|"))
        .size_limit(64 << 20)
        .build()
    {
        Ok(regex) => Some(regex),
        // Too many secrets for one automaton: fall back to the raw forms.
        Err(_) => {
            let raw: Vec<String> = sorted.iter().map(|s| regex::escape(s)).collect();
            Regex::new(&raw.join("|")).ok()
        }
    }
}

/// A pattern for `secret` in any of its encodings, character by character.
fn forms(secret: &str) -> String {
    let mut pattern = String::with_capacity(secret.len() * 8);
    for c in secret.chars() {
        if c.is_ascii_alphanumeric() {
            pattern.push(c);
            continue;
        }
        let mut alternatives = Vec::new();
        let mut utf8 = [0u8; 4];
        // Percent-encoding (either hex case), byte by byte.
        let percent: String = c
            .encode_utf8(&mut utf8)
            .bytes()
            .map(|b| format!("%(?i:{b:02x})"))
            .collect();
        alternatives.push(percent);
        if c == ' ' {
            alternatives.push(r"\+".to_string());
        }
        // JSON: the character itself, escaped any number of times over
        // (`"`, `\"`, `\\\"`, `\/`), or as a `\u` escape.
        alternatives.push(format!(r"\\*{}", regex::escape(c.encode_utf8(&mut utf8))));
        if (c as u32) < 0x1_0000 {
            alternatives.push(format!(r"\\+u(?i:{:04x})", c as u32));
        }
        pattern.push_str("(?:");
        pattern.push_str(&alternatives.join("|"));
        pattern.push(')');
    }
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_tokens_are_removed() {
        let redactor = Redactor::new(vec!["plain-upstream-secret".into()]);
        let text = r#"{"key":"sk-abcdefgh12345678","g":"AIzaSyA1234567890abcdefghijklmno","h":"Bearer abc.def.ghi123","x":"plain-upstream-secret","t":"ya29.a0AfH6SMBx1234"}"#;
        let clean = redactor.clean(text, 10_000);
        for secret in [
            "sk-abcdefgh12345678",
            "AIzaSyA1234567890",
            "abc.def.ghi123",
            "plain-upstream-secret",
            "ya29.a0AfH6",
        ] {
            assert!(!clean.contains(secret), "{clean}");
        }
        assert_eq!(clean.matches(REDACTED).count(), 5, "{clean}");
    }

    #[test]
    fn long_text_is_capped_on_a_character_boundary() {
        let redactor = Redactor::new(vec![]);
        let clean = redactor.clean(&"é".repeat(100), 11);
        assert!(clean.starts_with("ééééé") && clean.ends_with("[truncated]"), "{clean}");
    }

    /// A key with characters every encoding treats differently.
    const KEY: &str = r#"live a/b"c+d\e~0123456789"#;

    #[test]
    fn every_encoding_of_a_known_secret_is_removed() {
        let redactor = Redactor::new(vec![KEY.into()]);
        let json = serde_json::to_string(KEY).unwrap();
        let json = &json[1..json.len() - 1];
        let json_twice = serde_json::to_string(json).unwrap();
        let json_twice = &json_twice[1..json_twice.len() - 1];
        let percent = percent_encoding::utf8_percent_encode(KEY, percent_encoding::NON_ALPHANUMERIC).to_string();
        let form: String = url::form_urlencoded::byte_serialize(KEY.as_bytes()).collect();
        let lower = percent.to_lowercase();
        let slash_escaped = json.replace('/', r"\/");
        let unicode = json.replace(r#"\""#, r"\u0022");
        for form in [KEY, json, json_twice, &percent, &form, &lower, &slash_escaped, &unicode] {
            let text = format!("API key {form} is invalid");
            let clean = redactor.redact(&text);
            assert_eq!(clean, format!("API key {REDACTED} is invalid"), "form {form}");
        }
        assert!(form.contains('+') && percent.contains("%2F") && json.contains(r#"\""#));
    }

    #[test]
    fn extra_secrets_are_removed_in_every_form_too() {
        let redactor = Redactor::new(vec![]);
        let token = "tok/en+with=odd&chars";
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        let text = format!("raw {token} encoded {encoded}");
        assert_eq!(
            redactor.redact_with(&text, &[token]),
            format!("raw {REDACTED} encoded {REDACTED}")
        );
    }

    #[test]
    fn short_secrets_and_ordinary_text_are_left_alone() {
        let redactor = Redactor::new(vec!["abc".into(), "another-secret".into()]);
        assert_eq!(redactor.redact("abc is not a secret"), "abc is not a secret");
        assert_eq!(redactor.redact("another secret"), "another secret");
    }

    #[test]
    fn a_shared_redactor_is_swapped_for_every_holder() {
        let shared = SharedRedactor::default();
        let holder = shared.clone();
        shared.store(Arc::new(Redactor::new(vec!["swapped-secret".into()])));
        assert_eq!(holder.load().redact("x swapped-secret"), format!("x {REDACTED}"));
        assert!(!format!("{:?}", holder.load()).contains("swapped"));
    }
}
