//! Removing credentials from text the monitor keeps (request and response
//! bodies, when body storage is on).

use regex::Regex;

/// What replaces a credential.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces known secrets and anything shaped like an API key or token.
#[derive(Debug)]
pub struct Redactor {
    known: Vec<String>,
    patterns: Regex,
}

impl Redactor {
    /// The exact secrets it removes.
    pub fn known(&self) -> &[String] {
        &self.known
    }

    /// A redactor that also removes these exact `known` secrets (the
    /// gateway key and the accounts' keys).
    pub fn new(known: Vec<String>) -> Redactor {
        // sk-… (OpenAI, Anthropic, the gateway), AIza… (Google API keys),
        // ya29.… (Google access tokens), 1//… (Google refresh tokens),
        // and Bearer values.
        let patterns = Regex::new(
            r"(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|ya29\.[0-9A-Za-z_\-\.]{10,}|1//[0-9A-Za-z_\-]{10,}|(?i:bearer)\s+[A-Za-z0-9_\-\.=]{8,})",
        )
        .expect("the redaction pattern is valid");
        Redactor {
            known: known.into_iter().filter(|s| s.len() >= 6).collect(),
            patterns,
        }
    }

    /// `text` without credentials, cut to `limit` bytes.
    pub fn clean(&self, text: &str, limit: usize) -> String {
        let mut out = text.to_string();
        for secret in &self.known {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        let mut out = self.patterns.replace_all(&out, REDACTED).into_owned();
        if out.len() > limit {
            let cut = (0..=limit).rev().find(|&i| out.is_char_boundary(i)).unwrap_or(0);
            out.truncate(cut);
            out.push_str("…[truncated]");
        }
        out
    }
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
}
