//! Who may call the gateway: the auth modes of SPEC §4.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::config::AuthMode;
use crate::keys::{ClientKey, KeyRing, Lookup};

/// The headers and query parameter a client may put the key in, for messages.
/// `?key=` counts on Gemini routes only (`guard::is_gemini_route`), and the
/// message says so: a client that sent it elsewhere is told it was ignored.
pub const ACCEPTED_FORMS: &str = "`Authorization: Bearer <key>`, `x-api-key: <key>`, `x-goog-api-key: <key>`, or, \
     on Gemini routes only (`/v1beta/...`, `/v1/models/MODEL:method`), the `?key=<key>` query parameter";

/// The gateway's auth policy: the effective mode, the gateway key and the
/// client keys.
#[derive(Clone)]
pub struct Auth {
    mode: AuthMode,
    /// Swappable so that a key rotated from the dashboard takes effect at once.
    key: Arc<ArcSwap<String>>,
    /// The client keys, swapped whole when `keys.json` changes.
    keys: Arc<ArcSwap<KeyRing>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never reaches a log line, not even through Debug.
        f.debug_struct("Auth").field("mode", &self.mode).finish_non_exhaustive()
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The request carries no key at all.
    Missing,
    /// The request carries a key that is not the gateway's.
    Wrong,
    /// A client key that was revoked (or rotated away), by name.
    Revoked(Arc<str>),
    /// A client key past its expiry.
    Expired {
        /// The key's name.
        name: Arc<str>,
        /// When it expired, seconds since the Unix epoch.
        at: u64,
    },
    /// A client key used from an address outside its `--allow-ip`.
    Network {
        /// The key's name.
        name: Arc<str>,
        /// The client's address, when known.
        ip: Option<IpAddr>,
    },
    /// A client key on the admin surface, which takes only the gateway key.
    AdminOnly(Arc<str>),
}

impl Denied {
    /// The HTTP status: 401 for a missing, wrong, revoked or expired key,
    /// 403 for a key that is right but not allowed here.
    pub fn status(&self) -> u16 {
        match self {
            Denied::Network { .. } | Denied::AdminOnly(_) => 403,
            _ => 401,
        }
    }
}

impl Auth {
    /// A policy for the effective `mode` (never `Auto`: resolve it first).
    pub fn new(mode: AuthMode, key: String) -> Self {
        debug_assert!(mode != AuthMode::Auto, "resolve auth_mode auto before building Auth");
        Auth {
            mode,
            key: Arc::new(ArcSwap::from_pointee(key)),
            keys: Arc::default(),
        }
    }

    /// The same policy, with `keys` as the client keys.
    pub fn with_keys(self, keys: KeyRing) -> Self {
        self.keys.store(Arc::new(keys));
        self
    }

    /// Replaces the client keys (after `keys.json` changed).
    pub fn set_keys(&self, keys: KeyRing) {
        self.keys.store(Arc::new(keys));
    }

    /// The client keys in force.
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys.load_full()
    }

    /// The effective mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Whether a request for `path` needs the key. The admin surface
    /// (`/api/*`, `/metrics`) needs it in every mode: it reads the request
    /// log and changes the pool.
    pub fn required_for(&self, path: &str) -> bool {
        if is_admin(path) {
            return true;
        }
        match self.mode {
            AuthMode::Off | AuthMode::Auto => false,
            AuthMode::Strict => true,
            AuthMode::AllExceptHealth => path != "/healthz",
        }
    }

    /// Checks a request for `path`; `query` is the raw query string of a
    /// Gemini route (the only routes where `?key=` counts).
    pub fn check(&self, path: &str, headers: &HeaderMap, query: Option<&str>) -> Result<(), Denied> {
        if !self.required_for(path) {
            return Ok(());
        }
        self.check_key(headers, query).into_result()
    }

    /// The gateway key, to tell whether a tool connected with it still
    /// holds the current one (`/api/connect`). Never logged or answered.
    pub fn gateway_key(&self) -> Arc<String> {
        self.key.load_full()
    }

    /// Replaces the key (after a rotation); requests from then on need the new one.
    pub fn set_key(&self, key: String) {
        self.key.store(Arc::new(key));
    }

    /// Checks the key regardless of the mode. `query` is the raw query
    /// string when the route is a Gemini route, else `None`.
    pub fn check_key(&self, headers: &HeaderMap, query: Option<&str>) -> KeyCheck {
        let presented = presented_keys(headers, query);
        if presented.is_empty() {
            return KeyCheck::Missing;
        }
        // Every presented key is compared, in constant time, so that timing
        // reveals neither the key nor which header matched.
        let key = self.key.load();
        let mut ok = subtle::Choice::from(0u8);
        for candidate in &presented {
            ok |= candidate.as_bytes().ct_eq(key.as_bytes());
        }
        if bool::from(ok) {
            return KeyCheck::Right;
        }
        // A live client key wins over a revoked one beside it.
        let keys = self.keys.load();
        let mut revoked = None;
        for candidate in &presented {
            match keys.lookup(candidate) {
                Lookup::Key(key) => return KeyCheck::Client(key),
                Lookup::Revoked(name) => revoked = Some(name),
                Lookup::Unknown => {}
            }
        }
        match revoked {
            Some(name) => KeyCheck::Revoked(name),
            None => KeyCheck::Wrong {
                candidates: presented.len(),
            },
        }
    }
}

/// The outcome of looking for a key in a request.
#[derive(Debug, Clone)]
pub enum KeyCheck {
    /// One of the presented keys is the gateway's.
    Right,
    /// One of them is a live client key.
    Client(Arc<ClientKey>),
    /// One of them is a revoked client key (and none is live).
    Revoked(Arc<str>),
    /// Keys were presented, none of them the gateway's.
    Wrong {
        /// How many (at most one per form): each counts as a guess.
        candidates: usize,
    },
    /// No key at all.
    Missing,
}

impl PartialEq for KeyCheck {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (KeyCheck::Right, KeyCheck::Right) | (KeyCheck::Missing, KeyCheck::Missing) => true,
            (KeyCheck::Client(a), KeyCheck::Client(b)) => a.name == b.name,
            (KeyCheck::Revoked(a), KeyCheck::Revoked(b)) => a == b,
            (KeyCheck::Wrong { candidates: a }, KeyCheck::Wrong { candidates: b }) => a == b,
            _ => false,
        }
    }
}

impl KeyCheck {
    /// `Ok` for the gateway key, else why not (a client key is not the
    /// gateway key: this is the admin check).
    pub fn into_result(self) -> Result<(), Denied> {
        match self {
            KeyCheck::Right => Ok(()),
            KeyCheck::Client(key) => Err(Denied::AdminOnly(key.name.clone())),
            KeyCheck::Revoked(name) => Err(Denied::Revoked(name)),
            KeyCheck::Wrong { .. } => Err(Denied::Wrong),
            KeyCheck::Missing => Err(Denied::Missing),
        }
    }
}

/// Who a request comes from, once its key is checked.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The holder of the gateway key.
    Gateway,
    /// The holder of this client key.
    Client(Arc<ClientKey>),
    /// Nobody in particular: no key was needed and no client key was sent.
    Anonymous,
}

impl Caller {
    /// The caller a key check found, if it found a valid key.
    pub fn of(check: &KeyCheck) -> Option<Caller> {
        match check {
            KeyCheck::Right => Some(Caller::Gateway),
            KeyCheck::Client(key) => Some(Caller::Client(key.clone())),
            _ => None,
        }
    }

    /// The client key, when the caller holds one.
    pub fn key(&self) -> Option<&Arc<ClientKey>> {
        match self {
            Caller::Client(key) => Some(key),
            _ => None,
        }
    }
}

/// The admin surface: the JSON API and the metrics.
pub fn is_admin(path: &str) -> bool {
    path == "/metrics" || path == "/api" || path.starts_with("/api/")
}

/// The keys a request presents: at most one per accepted form (the first
/// `Authorization`, `x-api-key` and `x-goog-api-key` header, the first
/// `?key=`), so that one request is at most four guesses.
fn presented_keys(headers: &HeaderMap, query: Option<&str>) -> Vec<String> {
    let mut keys = Vec::with_capacity(4);
    if let Some(value) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        let key = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => value,
        };
        if !key.is_empty() {
            keys.push(key.to_string());
        }
    }
    for name in ["x-api-key", "x-goog-api-key"] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok())
            && !value.trim().is_empty()
        {
            keys.push(value.trim().to_string());
        }
    }
    if let Some(query) = query
        && let Some((_, value)) = url::form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == "key")
        && !value.is_empty()
    {
        keys.push(value.into_owned());
    }
    keys
}

/// The message for a refused request: what was wrong and what to do. It
/// names a client key by its name, never the key.
pub fn denial_message(denied: &Denied) -> String {
    match denied {
        Denied::Revoked(name) => format!(
            "The client key `{name}` was revoked (or replaced by `switchyard keys rotate {name}`). Ask the gateway's \
             owner for a new key: `switchyard keys add NAME` or `switchyard keys rotate {name}` prints one."
        ),
        Denied::Expired { name, at } => format!(
            "The client key `{name}` expired at {} (UTC). Ask the gateway's owner for a new key: \
             `switchyard keys rotate {name}` prints one (then `--expires` on `keys add` sets a later date).",
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(*at))
        ),
        Denied::Network { name, ip } => format!(
            "The client key `{name}` may not be used from {}: its `--allow-ip` networks do not include this address. \
             Use it from an allowed machine, or add the network with `switchyard keys revoke {name}` and \
             `switchyard keys add {name} --allow-ip CIDR,...`.",
            ip.map_or_else(|| "an unknown address".to_string(), |ip| ip.to_string())
        ),
        Denied::AdminOnly(name) => format!(
            "The client key `{name}` reaches only the API routes; `/api/*`, `/metrics` and key management take the \
             gateway key, which `switchyard key show` prints."
        ),
        Denied::Missing => format!(
            "Missing API key. This Switchyard gateway requires its API key; send it as {ACCEPTED_FORMS}. \
             `switchyard key show` prints the key."
        ),
        Denied::Wrong => format!(
            "Invalid API key: the key sent is not this gateway's key. Send the key that `switchyard key show` \
             prints, as {ACCEPTED_FORMS}. (Upstream provider keys belong in `switchyard accounts add`, not in the client.)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const KEY: &str = "sk-0123456789abcdef0123456789abcdef";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// Every way to present the key, and one of each with a wrong key.
    fn forms(key: &str) -> Vec<(HeaderMap, Option<String>)> {
        vec![
            (headers(&[("authorization", &format!("Bearer {key}"))]), None),
            (headers(&[("authorization", key)]), None),
            (headers(&[("x-api-key", key)]), None),
            (headers(&[("x-goog-api-key", key)]), None),
            (HeaderMap::new(), Some(format!("alt=sse&key={key}"))),
        ]
    }

    #[test]
    fn the_auth_matrix() {
        let paths = ["/healthz", "/v1/chat/completions"];
        for mode in [AuthMode::Off, AuthMode::Strict, AuthMode::AllExceptHealth] {
            let auth = Auth::new(mode, KEY.into());
            for path in paths {
                let needs_key = match mode {
                    AuthMode::Off => false,
                    AuthMode::Strict => true,
                    _ => path != "/healthz",
                };
                let none = auth.check(path, &HeaderMap::new(), None);
                assert_eq!(none.is_ok(), !needs_key, "{mode:?} {path} without key");
                if needs_key {
                    assert_eq!(none, Err(Denied::Missing));
                }
                for (h, q) in forms(KEY) {
                    assert_eq!(
                        auth.check(path, &h, q.as_deref()),
                        Ok(()),
                        "{mode:?} {path} {h:?} {q:?}"
                    );
                }
                for (h, q) in forms("sk-wrongwrongwrong") {
                    let got = auth.check(path, &h, q.as_deref());
                    if needs_key {
                        assert_eq!(got, Err(Denied::Wrong), "{mode:?} {path} {h:?} {q:?}");
                    } else {
                        assert_eq!(got, Ok(()));
                    }
                }
            }
        }
    }

    #[test]
    fn auto_resolves_by_lan_access() {
        let lan = Auth::new(AuthMode::Auto.effective(true), KEY.into());
        assert!(lan.check("/v1/messages", &HeaderMap::new(), None).is_err());
        assert!(lan.check("/healthz", &HeaderMap::new(), None).is_ok());
        let local = Auth::new(AuthMode::Auto.effective(false), KEY.into());
        assert!(local.check("/v1/messages", &HeaderMap::new(), None).is_ok());
    }

    #[test]
    fn a_right_key_beside_a_wrong_one_passes() {
        // The Anthropic SDK may send both x-api-key (placeholder) and Bearer.
        let auth = Auth::new(AuthMode::Strict, KEY.into());
        let h = headers(&[
            ("x-api-key", "placeholder"),
            ("authorization", &format!("Bearer {KEY}")),
        ]);
        assert_eq!(auth.check("/v1/messages", &h, None), Ok(()));
    }

    #[test]
    fn the_admin_surface_needs_the_key_in_every_mode() {
        for mode in [AuthMode::Off, AuthMode::Strict, AuthMode::AllExceptHealth] {
            let auth = Auth::new(mode, KEY.into());
            for path in ["/api/logs", "/api/status", "/api", "/metrics"] {
                assert!(auth.required_for(path), "{mode:?} {path}");
            }
            assert_eq!(auth.required_for("/ui"), mode != AuthMode::Off, "{mode:?}");
        }
    }

    #[test]
    fn one_candidate_per_form_and_the_query_only_when_given() {
        let auth = Auth::new(AuthMode::Strict, KEY.into());
        let h = headers(&[
            ("authorization", "Bearer sk-wrong-one"),
            ("authorization", &format!("Bearer {KEY}")),
            ("x-api-key", "a"),
            ("x-api-key", "b"),
            ("x-goog-api-key", "c"),
        ]);
        assert_eq!(
            auth.check_key(&h, Some("key=d&key=e")),
            KeyCheck::Wrong { candidates: 4 }
        );
        assert_eq!(auth.check_key(&h, None), KeyCheck::Wrong { candidates: 3 });
        let query = format!("key={KEY}");
        assert_eq!(auth.check_key(&HeaderMap::new(), Some(&query)), KeyCheck::Right);
        assert_eq!(auth.check_key(&HeaderMap::new(), None), KeyCheck::Missing);
    }

    #[test]
    fn messages_name_every_accepted_form_and_never_the_key() {
        for denied in [Denied::Missing, Denied::Wrong] {
            let message = denial_message(&denied);
            for form in ["Authorization: Bearer", "x-api-key", "x-goog-api-key", "?key="] {
                assert!(message.contains(form), "{message}");
            }
            // A client that put `?key=` on an OpenAI or Anthropic route is
            // told why it did not count.
            assert!(message.contains("on Gemini routes only"), "{message}");
        }
        let auth = Auth::new(AuthMode::Strict, KEY.into());
        assert!(!format!("{auth:?}").contains(KEY));
    }
}
