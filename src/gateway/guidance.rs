//! Which protocol a path belongs to, and the advice a lost client gets.
//!
//! The two commonest mistakes are a missing key (401, see `auth`) and a wrong
//! base URL (404): `/v1` doubled because the base URL already ends in `/v1`,
//! `/v1` missing from an OpenAI base URL, or the endpoint path appended to a
//! base URL that already contains it. The 404 names the mistake it sees and
//! the right base URL for each SDK family; the endpoints it lists, and the
//! protocol of every known route, come from the route table (`table.rs`).

use http::HeaderMap;

use crate::protocol::Protocol;

/// The protocol whose error shape a request to `path` should get: the
/// route table's dialect for a route that has one, else guessed by path
/// first, then by the headers each SDK sends.
pub fn protocol_for(path: &str, headers: &HeaderMap) -> Protocol {
    super::table::fixed_protocol(path).unwrap_or_else(|| guess(path, headers))
}

/// The protocol of a path no route fixes: by path first (the method name of
/// a Gemini call, Anthropic's paths), then by the headers each SDK sends.
pub fn guess(path: &str, headers: &HeaderMap) -> Protocol {
    if path.contains("/messages") || path.ends_with("/complete") {
        return Protocol::Anthropic;
    }
    if path.contains("v1beta")
        || path.contains(":generateContent")
        || path.contains(":streamGenerateContent")
        || path.contains(":countTokens")
    {
        return Protocol::Gemini;
    }
    if headers.contains_key("anthropic-version") {
        return Protocol::Anthropic;
    }
    if headers.contains_key("x-goog-api-key") || headers.contains_key("x-goog-api-client") {
        return Protocol::Gemini;
    }
    Protocol::OpenAi
}

/// The message of a 404 for `method path`, with `origin` the
/// `http://host:port` the client reached.
pub fn not_found_message(method: &str, path: &str, origin: &str) -> String {
    let mut message = format!("Unknown path `{method} {path}`.");
    if let Some(hint) = diagnose(path) {
        message.push(' ');
        message.push_str(&hint);
    }
    message.push_str(&format!(
        " Base URLs: OpenAI SDKs and OpenAI-compatible tools use `{origin}/v1`; Anthropic SDKs and Claude Code \
         (ANTHROPIC_BASE_URL) and Gemini SDKs use `{origin}` (no `/v1`). Endpoints: {}.",
        super::table::signposts()
    ));
    message
}

/// The endpoints a client may be trying to reach, as suffixes.
const ENDPOINTS: &[&str] = &[
    "/chat/completions",
    "/responses",
    "/messages/count_tokens",
    "/messages",
    "/models",
    "/embeddings",
    "/completions",
];

fn diagnose(path: &str) -> Option<String> {
    for prefix in ["/v1/v1", "/v1beta/v1beta", "/v1/v1beta", "/v1beta/v1"] {
        let doubled = path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if let (true, Some((first, second))) = (doubled, prefix[1..].split_once('/')) {
            return Some(format!(
                "The path has `/{first}` followed by `/{second}`: the base URL probably already ends in `/{first}` and the \
                 client adds its own prefix. Remove `/{first}` from the base URL of an Anthropic or Gemini SDK; an OpenAI \
                 SDK's base URL ends in `/v1` exactly once."
            ));
        }
    }
    for endpoint in ENDPOINTS {
        if let Some(first) = path.find(endpoint) {
            let rest = &path[first + endpoint.len()..];
            if rest.contains(endpoint) {
                return Some(format!(
                    "The path contains `{endpoint}` twice: the base URL already ends in the endpoint path. Set the base \
                     URL to the server root (plus `/v1` for OpenAI SDKs), not to the full endpoint."
                ));
            }
        }
    }
    if path.starts_with("/models/") && path.contains(':') {
        return Some(format!(
            "Gemini endpoints live under `/v1beta` (or `/v1`): did you mean `/v1beta{path}`? Give the Gemini SDK the \
             server root as base URL."
        ));
    }
    for endpoint in [
        "/chat/completions",
        "/responses",
        "/models",
        "/embeddings",
        "/completions",
    ] {
        if path == endpoint || path.strip_prefix(endpoint).is_some_and(|rest| rest.starts_with('/')) {
            return Some(format!(
                "OpenAI endpoints live under `/v1`: did you mean `/v1{path}`? An OpenAI SDK's base URL must end in `/v1`."
            ));
        }
    }
    if path == "/messages" || path == "/messages/count_tokens" {
        return Some(format!(
            "Anthropic endpoints live under `/v1`: did you mean `/v1{path}`? The Anthropic SDK adds `/v1` itself; give it \
             the server root as base URL."
        ));
    }
    if path == "/v1/completions" {
        return Some(
            "Switchyard serves chat and embeddings endpoints only: use POST /v1/chat/completions or /v1/responses."
                .to_string(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:8045";

    #[test]
    fn paths_pick_the_protocol() {
        let none = HeaderMap::new();
        assert_eq!(protocol_for("/v1/messages", &none), Protocol::Anthropic);
        assert_eq!(protocol_for("/v1/v1/messages", &none), Protocol::Anthropic);
        assert_eq!(
            protocol_for("/v1beta/models/x:generateContent", &none),
            Protocol::Gemini
        );
        assert_eq!(
            protocol_for("/v1/models/x:streamGenerateContent", &none),
            Protocol::Gemini
        );
        assert_eq!(protocol_for("/v1/chat/completions", &none), Protocol::OpenAi);
        let mut anthropic = HeaderMap::new();
        anthropic.insert("anthropic-version", "2023-06-01".parse().unwrap());
        assert_eq!(protocol_for("/nope", &anthropic), Protocol::Anthropic);
        let mut google = HeaderMap::new();
        google.insert("x-goog-api-key", "k".parse().unwrap());
        assert_eq!(protocol_for("/nope", &google), Protocol::Gemini);
    }

    #[test]
    fn a_doubled_v1_is_named() {
        for path in [
            "/v1/v1/chat/completions",
            "/v1/v1/messages",
            "/v1beta/v1beta/models/g:generateContent",
        ] {
            let message = not_found_message("POST", path, ORIGIN);
            assert!(message.contains("followed by"), "{message}");
            assert!(message.contains("http://127.0.0.1:8045/v1`"), "{message}");
            assert!(message.contains("use `http://127.0.0.1:8045` (no `/v1`)"), "{message}");
        }
    }

    #[test]
    fn a_path_appended_twice_is_named() {
        let message = not_found_message("POST", "/v1/chat/completions/chat/completions", ORIGIN);
        assert!(message.contains("`/chat/completions` twice"), "{message}");
        let message = not_found_message("POST", "/v1/messages/v1/messages", ORIGIN);
        assert!(message.contains("`/messages` twice"), "{message}");
    }

    #[test]
    fn a_missing_v1_is_named() {
        let message = not_found_message("POST", "/chat/completions", ORIGIN);
        assert!(message.contains("did you mean `/v1/chat/completions`"), "{message}");
        let message = not_found_message("POST", "/messages", ORIGIN);
        assert!(message.contains("did you mean `/v1/messages`"), "{message}");
        let message = not_found_message("POST", "/models/gemini-2.5-flash:generateContent", ORIGIN);
        assert!(
            message.contains("/v1beta/models/gemini-2.5-flash:generateContent"),
            "{message}"
        );
    }

    #[test]
    fn an_unrelated_path_still_gets_the_base_urls() {
        let message = not_found_message("GET", "/favicon.ico", ORIGIN);
        assert!(message.starts_with("Unknown path `GET /favicon.ico`."), "{message}");
        assert!(message.contains("`http://127.0.0.1:8045/v1`"), "{message}");
    }
}
