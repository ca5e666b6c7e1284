//! The browser boundary: the one guard every request passes before routing,
//! before auth, before the wrong-key brake and before any work.
//!
//! A gateway on `127.0.0.1` is reachable from every web page the user opens:
//! the browser sends a page's requests to loopback like any other. Three
//! attacks follow, and one check stops each:
//!
//! - **DNS rebinding**: a page at `rebind.attacker.tld` makes its own name
//!   resolve to `127.0.0.1`, so the browser treats the gateway as the
//!   attacker's own origin and lets the page read every answer. The
//!   request's `Host` still names the attacker, so the gateway refuses any
//!   `Host` that is not one of its own names ([`Boundary::host_allowed`]).
//! - **Cross-origin requests**: a page posts to `/v1/chat/completions` as
//!   `text/plain` (a "simple" request, sent without a CORS preflight) and
//!   spends the accounts even though it cannot read the answer. Browsers mark
//!   every such request with `Origin`, and the gateway refuses an origin
//!   that is neither its own, nor listed in `allowed_origins`, nor carrying
//!   the right key on a route that needs one.
//! - **No-cors loads**: `<img src=".../v1beta/models?key=guess">` carries no
//!   `Origin`, but current browsers send `Sec-Fetch-Site: cross-site` (or
//!   `same-site` from another port of the same host), which is refused the
//!   same way. So a page cannot even feed the wrong-key brake and lock the
//!   user out.
//!
//! Requests without browser markers (curl, SDKs, agents) pass as before:
//! only browsers send `Origin` and `Sec-Fetch-*`, and a page cannot remove
//! them. There is never a wildcard `Access-Control-Allow-Origin`: an allowed
//! origin gets its own name back.
//!
//! [`Boundary::check`] decides, purely (unit-tested below); [`Guarded`] is
//! the service in front of the routes that asks it about every request and
//! answers a refusal in the route's protocol. The black-box tests are in
//! `tests/it/boundary.rs`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method, header};
use warp::reply::Response;

use super::auth::KeyCheck;
use super::guidance;
use super::reply::error_response;
use super::state::Shared;
use crate::config::ProxyConfig;
use crate::protocol::{ApiError, ErrorKind};

/// The names and origins one running gateway answers to.
#[derive(Debug)]
pub struct Boundary {
    /// `allowed_hosts`, lower-cased, without a trailing dot.
    hosts: HashSet<String>,
    /// `allowed_origins`, normalised by [`normalise_origin`].
    origins: HashSet<String>,
    /// With LAN access on: this machine's name and addresses.
    lan: Option<LanNames>,
}

/// This machine's own names, accepted as `Host` when LAN access is on.
#[derive(Debug)]
struct LanNames {
    /// The host name and `hostname.local`, lower-cased.
    names: HashSet<String>,
    /// The interfaces' addresses, re-read at most every
    /// [`ADDRESS_REFRESH`] when a `Host` names an address not among them
    /// (a DHCP lease may change while the gateway runs).
    addresses: Mutex<(Instant, HashSet<IpAddr>)>,
}

/// How often the interface addresses may be re-read.
const ADDRESS_REFRESH: Duration = Duration::from_secs(10);

/// What the guard decided about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Route it. `cors` is the origin to name in
    /// `Access-Control-Allow-Origin` (a browser request that was allowed).
    Pass {
        /// The allowed origin, when the request had one.
        cors: Option<HeaderValue>,
    },
    /// A CORS preflight that is granted: answer it here.
    Preflight {
        /// The origin to grant.
        origin: HeaderValue,
    },
    /// Refused: 403 (or 415) with this message, in the route's protocol.
    Refuse {
        /// 403, or 415 for a browser POST that is not JSON.
        status: u16,
        /// What was refused and the setting that would allow it.
        message: String,
    },
}

/// What the guard needs to know about the route a request is for.
#[derive(Debug, Clone, Copy)]
pub struct RouteClass {
    /// The route needs the gateway key in the current auth mode.
    pub keyed: bool,
    /// A static page (`/`, `/ui`): its GET may be a top-level navigation.
    pub page: bool,
    /// `/healthz`: exempt from the `Host` check, so probes get exactly
    /// `{"status":"ok"}` whatever name they use.
    pub health: bool,
}

/// The parts of a request the guard reads.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method.
    pub method: &'a Method,
    /// `Host`, or the HTTP/2 `:authority` (`None` when neither is sent).
    pub authority: Option<&'a str>,
    /// The headers.
    pub headers: &'a HeaderMap,
}

impl Boundary {
    /// The boundary of a gateway with `proxy`'s settings; `lan`: LAN access on.
    pub fn new(proxy: &ProxyConfig, lan: bool) -> Boundary {
        Boundary {
            hosts: proxy
                .allowed_hosts
                .iter()
                .map(|h| normalise_host(h).into_owned())
                .collect(),
            origins: proxy.allowed_origins.iter().map(|o| normalise_origin(o)).collect(),
            lan: lan.then(LanNames::read),
        }
    }

    /// Whether `authority` (`name`, `name:port`, `[v6]:port`) names this
    /// gateway: a loopback name or address, an `allowed_hosts` entry, or
    /// (LAN access on) this machine's name or one of its addresses. Any
    /// port: tunnels and port maps keep working.
    ///
    /// The unspecified address (`0.0.0.0`, `[::]`) counts as loopback: the
    /// banner of `serve --lan` prints `listening on 0.0.0.0:PORT`, clients
    /// are pointed at that, and a connection to it reaches this machine
    /// only. An address literal cannot be rebound (no name is resolved), and
    /// a page elsewhere that calls it still carries its `Origin`.
    pub fn host_allowed(&self, authority: &str) -> bool {
        let Some(host) = host_of(authority) else {
            return false;
        };
        if host == "localhost" || self.hosts.contains(&*host) {
            return true;
        }
        match host.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) if ip.is_loopback() || ip.is_unspecified() => true,
            Ok(ip) => self.lan.as_ref().is_some_and(|lan| lan.has_address(ip)),
            Err(_) => self.lan.as_ref().is_some_and(|lan| lan.names.contains(&*host)),
        }
    }

    /// Whether `origin` is listed in `allowed_origins`.
    pub fn origin_listed(&self, origin: &str) -> bool {
        self.origins.contains(&normalise_origin(origin))
    }

    /// Decides about one request. `key_ok` tells whether it carries the
    /// gateway key (asked only for a browser request on a keyed route, so
    /// that the key of an ordinary client is checked once, by auth).
    pub fn check(&self, request: &Request<'_>, route: RouteClass, key_ok: impl FnOnce() -> bool) -> Verdict {
        if !route.health {
            match request.authority {
                Some(authority) if self.host_allowed(authority) => {}
                Some(authority) => return refuse_host(authority),
                // HTTP/1.0 without Host: not a browser (every browser sends
                // it), so not a rebinding.
                None => {}
            }
        }
        let headers = request.headers;
        let origin = headers.get(header::ORIGIN);
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let cross = matches!(fetch_site, Some("cross-site" | "same-site"));
        if origin.is_none() && !cross {
            return Verdict::Pass { cors: None };
        }
        // A browser's request. Its origin is allowed when it is ours, when it
        // is listed, or when it carries the key a keyed route needs.
        let origin_text = origin.and_then(|o| o.to_str().ok());
        let own = origin_text.is_some_and(|o| is_own_origin(o, request.authority));
        let listed = origin_text.is_some_and(|o| self.origin_listed(o));
        if *request.method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
            // The preflight carries no key; the request after it will be
            // checked. Without auth, only allowed origins are granted.
            return match origin {
                Some(origin) if own || listed || route.keyed => Verdict::Preflight { origin: origin.clone() },
                _ => refuse_origin(origin_text, route.keyed),
            };
        }
        let allowed = own || listed || (route.keyed && key_ok());
        if !allowed {
            // A top-level navigation to the dashboard's shell (a link, the
            // tray) shows a page that holds no data.
            let navigation = headers.get("sec-fetch-mode").is_some_and(|m| m == "navigate")
                && matches!(*request.method, Method::GET | Method::HEAD);
            if route.page && navigation && origin.is_none() {
                return Verdict::Pass { cors: None };
            }
            return refuse_origin(origin_text, route.keyed);
        }
        if *request.method == Method::POST && has_body(headers) && !is_json(headers) {
            return Verdict::Refuse {
                status: 415,
                message: "A browser may send API requests only as JSON: set `Content-Type: application/json`.".into(),
            };
        }
        Verdict::Pass { cors: origin.cloned() }
    }
}

impl LanNames {
    fn read() -> LanNames {
        let mut names = HashSet::new();
        if let Ok(name) = gethostname::gethostname().into_string() {
            let name = normalise_host(&name).into_owned();
            if !name.is_empty() {
                let short = name.split('.').next().unwrap_or(&name).to_string();
                names.insert(format!("{short}.local"));
                names.insert(short);
                names.insert(name);
            }
        }
        LanNames {
            names,
            addresses: Mutex::new((Instant::now(), interface_addresses())),
        }
    }

    fn has_address(&self, ip: IpAddr) -> bool {
        let mut addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        if addresses.1.contains(&ip) {
            return true;
        }
        if addresses.0.elapsed() >= ADDRESS_REFRESH {
            *addresses = (Instant::now(), interface_addresses());
            return addresses.1.contains(&ip);
        }
        false
    }
}

fn interface_addresses() -> HashSet<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces.into_iter().map(|i| i.ip()).collect(),
        Err(err) => {
            tracing::warn!(error = %err, "cannot list this machine's addresses; LAN clients must use a name in allowed_hosts");
            HashSet::new()
        }
    }
}

/// The host of an authority, lower-cased, without brackets, port or a
/// trailing dot; `None` when it is not a valid authority.
fn host_of(authority: &str) -> Option<Cow<'_, str>> {
    let parsed: http::uri::Authority = authority.parse().ok()?;
    if authority.contains('@') {
        return None;
    }
    // With no user info, the authority starts with its host.
    let host = authority.get(..parsed.host().len())?;
    Some(normalise_host(host.trim_start_matches('[').trim_end_matches(']')))
}

/// Lower case (borrowed when it already is), no trailing dot.
fn normalise_host(host: &str) -> Cow<'_, str> {
    let host = host.trim().trim_end_matches('.');
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// An origin as browsers serialise it: lower case, no trailing slash.
/// (`null` stays `null`.)
pub fn normalise_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The gateway's own origin: the page was loaded from the very name and
/// port the request is addressed to (its `/ui`, through whatever tunnel).
fn is_own_origin(origin: &str, authority: Option<&str>) -> bool {
    let Some(authority) = authority else {
        return false;
    };
    let origin = normalise_origin(origin);
    let authority = authority.to_ascii_lowercase();
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest == authority)
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|n| n.trim() != "0")
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let media = value.split(';').next().unwrap_or("").trim();
    let starts = |prefix: &str| {
        media
            .get(..prefix.len())
            .is_some_and(|m| m.eq_ignore_ascii_case(prefix))
    };
    let ends = |suffix: &str| {
        media
            .len()
            .checked_sub(suffix.len())
            .and_then(|at| media.get(at..))
            .is_some_and(|m| m.eq_ignore_ascii_case(suffix))
    };
    media.eq_ignore_ascii_case("application/json") || (starts("application/") && ends("+json"))
}

fn refuse_host(authority: &str) -> Verdict {
    let name = host_of(authority).map_or_else(
        || authority.chars().filter(|c| c.is_ascii_graphic()).take(200).collect(),
        Cow::into_owned,
    );
    Verdict::Refuse {
        status: 403,
        message: format!(
            "This gateway does not answer to the name `{name}` (the request's Host header). It answers to \
             127.0.0.1, localhost and [::1]. If you reach it through a tunnel, a proxy or another name, add it under \
             [proxy] in config.toml: allowed_hosts = [\"{name}\"]"
        ),
    }
}

fn refuse_origin(origin: Option<&str>, keyed: bool) -> Verdict {
    let message = match origin {
        Some(origin) => {
            let origin: String = origin.chars().filter(|c| c.is_ascii_graphic()).take(200).collect();
            let key = if keyed {
                "or give the page the gateway key (`switchyard key show`)"
            } else {
                "or turn auth on (auth_mode = \"all_except_health\") and give the page the gateway key"
            };
            format!(
                "Requests from the web page at `{origin}` may not use this gateway. If you trust that page, add it under \
                 [proxy] in config.toml: allowed_origins = [\"{origin}\"], {key}."
            )
        }
        None => "A request from another web site (Sec-Fetch-Site: cross-site) may not use this gateway. Web pages \
                 must be listed under [proxy] allowed_origins in config.toml."
            .to_string(),
    };
    Verdict::Refuse { status: 403, message }
}

/// The guard as a service in front of the routes: every request passes
/// [`Boundary::check`] before warp routes it, and an allowed browser
/// request's answer names its origin for CORS.
#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Guarded<S> {
    /// Puts the guard of `shared`'s gateway in front of `inner`.
    pub fn new(inner: S, shared: Arc<Shared>) -> Guarded<S> {
        Guarded { inner, shared }
    }
}

impl<S, B> tower_service::Service<http::Request<B>> for Guarded<S>
where
    S: tower_service::Service<http::Request<B>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let verdict = judge(&self.shared, &request);
        match verdict {
            Verdict::Pass { cors } => {
                let answer = self.inner.call(request);
                Box::pin(async move {
                    let mut response = answer.await?;
                    if let Some(origin) = cors {
                        allow_origin(response.headers_mut(), origin);
                    }
                    Ok(response)
                })
            }
            Verdict::Preflight { origin } => Box::pin(std::future::ready(Ok(preflight(request.headers(), origin)))),
            Verdict::Refuse { status, message } => {
                let path = request.uri().path();
                let origin = request.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok());
                tracing::info!(
                    path,
                    origin,
                    status,
                    "refused a request at the browser boundary: {message}"
                );
                let protocol = guidance::protocol_for(path, request.headers());
                let kind = if status == 415 {
                    ErrorKind::InvalidRequest
                } else {
                    ErrorKind::PermissionDenied
                };
                let error = ApiError { status, kind, message };
                Box::pin(std::future::ready(Ok(error_response(protocol, &error))))
            }
        }
    }
}

/// The guard's decision about `request` on `shared`'s gateway.
fn judge<B>(shared: &Shared, request: &http::Request<B>) -> Verdict {
    let path = request.uri().path();
    let headers = request.headers();
    let authority = match headers.get(header::HOST) {
        Some(host) => Some(host.to_str().unwrap_or("\u{fffd}")),
        None => request.uri().authority().map(|a| a.as_str()),
    };
    let route = super::table::class(path, shared.auth.mode());
    let key_ok = || {
        let query = request.uri().query().filter(|_| is_gemini_route(path));
        // A client key opens the API routes to a page that holds it, never
        // the admin surface.
        match shared.auth.check_key(headers, query) {
            KeyCheck::Right => true,
            KeyCheck::Client(_) => !super::auth::is_admin(path),
            _ => false,
        }
    };
    shared.boundary.check(
        &Request {
            method: request.method(),
            authority,
            headers,
        },
        route,
        key_ok,
    )
}

/// Whether `path` is a Gemini route, the only routes where the key may
/// come as `?key=` (Google's own convention; elsewhere a key in a URL ends
/// up in logs and browser histories).
pub fn is_gemini_route(path: &str) -> bool {
    path.starts_with("/v1beta/") || (path.starts_with("/v1/models/") && path.contains(':'))
}

/// Names `origin` as allowed on an answer (never a wildcard).
fn allow_origin(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after, x-request-id"),
    );
}

/// A granted CORS preflight.
fn preflight(request: &HeaderMap, origin: HeaderValue) -> Response {
    let mut response = Response::new(bytes::Bytes::new().into());
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    allow_origin(headers, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, HEAD, OPTIONS"),
    );
    // The headers the page asked to send, when they are a plain list of
    // header names; the key's headers and JSON's otherwise.
    let asked = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|v| {
            v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_, ".contains(b))
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_static("authorization, content-type, x-api-key, x-goog-api-key, anthropic-version")
        });
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    // Chromium asks before a public page may reach a private address.
    if request
        .get("access-control-request-private-network")
        .is_some_and(|v| v == "true")
    {
        headers.insert("access-control-allow-private-network", HeaderValue::from_static("true"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary(hosts: &[&str], origins: &[&str]) -> Boundary {
        let proxy = ProxyConfig {
            allowed_hosts: hosts.iter().map(|s| s.to_string()).collect(),
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            ..ProxyConfig::default()
        };
        Boundary::new(&proxy, false)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    const API: RouteClass = RouteClass {
        keyed: false,
        page: false,
        health: false,
    };
    const KEYED: RouteClass = RouteClass { keyed: true, ..API };

    fn verdict(
        b: &Boundary,
        method: Method,
        host: &str,
        pairs: &[(&'static str, &str)],
        route: RouteClass,
        key: bool,
    ) -> Verdict {
        let headers = headers(pairs);
        b.check(
            &Request {
                method: &method,
                authority: Some(host),
                headers: &headers,
            },
            route,
            || key,
        )
    }

    fn refused(v: &Verdict) -> bool {
        matches!(v, Verdict::Refuse { .. })
    }

    #[test]
    fn loopback_names_pass_with_any_port_and_others_are_refused() {
        let b = boundary(&["Tunnel.Example"], &[]);
        for ok in [
            "127.0.0.1:8045",
            "localhost",
            "LOCALHOST:1",
            "[::1]:8045",
            "127.1.2.3",
            "localhost.:9",
            "tunnel.example:443",
        ] {
            assert!(b.host_allowed(ok), "{ok}");
        }
        // What `serve --lan` prints (`listening on 0.0.0.0:PORT`) and the
        // IPv4-mapped form of loopback reach only this machine.
        for ok in ["0.0.0.0:8045", "[::]:8045", "[::ffff:127.0.0.1]:8045"] {
            assert!(b.host_allowed(ok), "{ok}");
        }
        for bad in [
            "rebind.attacker.tld:8045",
            "192.168.1.5:8045",
            "localhost.attacker.tld",
            "",
            "user@localhost",
            "10.0.0.1",
            "[::ffff:10.0.0.1]",
            "0.0.0.0.attacker.tld",
        ] {
            assert!(!b.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn a_foreign_host_is_refused_naming_the_setting_but_health_is_exempt() {
        let b = boundary(&[], &[]);
        let Verdict::Refuse { status, message } = verdict(&b, Method::GET, "rebind.attacker.tld:8045", &[], API, false)
        else {
            panic!()
        };
        assert_eq!(status, 403);
        assert!(
            message.contains("allowed_hosts = [\"rebind.attacker.tld\"]"),
            "{message}"
        );
        let health = RouteClass { health: true, ..API };
        assert_eq!(
            verdict(&b, Method::GET, "rebind.attacker.tld", &[], health, false),
            Verdict::Pass { cors: None }
        );
    }

    #[test]
    fn clients_without_browser_markers_pass_as_before() {
        let b = boundary(&[], &[]);
        let plain = [("content-type", "text/plain"), ("content-length", "12")];
        assert_eq!(
            verdict(&b, Method::POST, "127.0.0.1:8045", &plain, API, false),
            Verdict::Pass { cors: None }
        );
        assert_eq!(
            verdict(&b, Method::POST, "localhost:8045", &[], KEYED, false),
            Verdict::Pass { cors: None }
        );
    }

    #[test]
    fn a_foreign_origin_is_refused_unless_listed_or_keyed() {
        let b = boundary(&[], &["https://Chat.Example/", "null"]);
        let evil = [("origin", "https://evil.example"), ("content-type", "text/plain")];
        let v = verdict(&b, Method::POST, "127.0.0.1:8045", &evil, API, false);
        let Verdict::Refuse { message, .. } = &v else {
            panic!("{v:?}")
        };
        assert!(
            message.contains("allowed_origins = [\"https://evil.example\"]"),
            "{message}"
        );
        assert!(message.contains("turn auth on"), "{message}");
        // Keyed route: a wrong key is refused here, before the brake; the right one passes.
        assert!(refused(&verdict(
            &b,
            Method::POST,
            "127.0.0.1:8045",
            &[("origin", "https://evil.example")],
            KEYED,
            false
        )));
        let json = [
            ("origin", "https://app.example"),
            ("content-type", "application/json"),
            ("content-length", "2"),
        ];
        assert_eq!(
            verdict(&b, Method::POST, "127.0.0.1:8045", &json, KEYED, true),
            Verdict::Pass {
                cors: Some(HeaderValue::from_static("https://app.example"))
            }
        );
        // Listed origins, Electron's `null` included.
        for origin in ["https://chat.example", "null"] {
            let v = verdict(&b, Method::GET, "127.0.0.1:8045", &[("origin", origin)], API, false);
            assert!(matches!(v, Verdict::Pass { cors: Some(_) }), "{origin}: {v:?}");
        }
    }

    #[test]
    fn the_gateways_own_page_passes_through_any_allowed_name() {
        let b = boundary(&["tunnel.example"], &[]);
        for (host, origin) in [
            ("127.0.0.1:8045", "http://127.0.0.1:8045"),
            ("localhost:9000", "http://localhost:9000"),
            ("tunnel.example", "https://tunnel.example"),
        ] {
            let v = verdict(
                &b,
                Method::GET,
                host,
                &[("origin", origin), ("sec-fetch-site", "same-origin")],
                API,
                false,
            );
            assert!(matches!(v, Verdict::Pass { cors: Some(_) }), "{host}: {v:?}");
        }
        // Another port of the same host is another origin.
        assert!(refused(&verdict(
            &b,
            Method::GET,
            "127.0.0.1:8045",
            &[("origin", "http://127.0.0.1:3000")],
            API,
            false
        )));
    }

    #[test]
    fn fetch_metadata_refuses_no_cors_loads_without_an_origin() {
        let b = boundary(&[], &[]);
        for site in ["cross-site", "same-site"] {
            let img = [
                ("sec-fetch-site", site),
                ("sec-fetch-mode", "no-cors"),
                ("sec-fetch-dest", "image"),
            ];
            assert!(
                refused(&verdict(&b, Method::GET, "127.0.0.1:8045", &img, API, false)),
                "{site}"
            );
            assert!(
                refused(&verdict(&b, Method::GET, "127.0.0.1:8045", &img, KEYED, false)),
                "{site} keyed"
            );
        }
        for site in ["same-origin", "none"] {
            assert_eq!(
                verdict(
                    &b,
                    Method::GET,
                    "127.0.0.1:8045",
                    &[("sec-fetch-site", site)],
                    API,
                    false
                ),
                Verdict::Pass { cors: None }
            );
        }
        // A link to the dashboard's shell opens it; the data behind it needs the key.
        let nav = [("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "navigate")];
        let page = RouteClass { page: true, ..API };
        assert_eq!(
            verdict(&b, Method::GET, "127.0.0.1:8045", &nav, page, false),
            Verdict::Pass { cors: None }
        );
        assert!(refused(&verdict(&b, Method::GET, "127.0.0.1:8045", &nav, API, false)));
    }

    #[test]
    fn preflights_are_granted_to_allowed_origins_and_on_keyed_routes_only() {
        let b = boundary(&[], &["https://chat.example"]);
        let pre = |origin: &'static str| [("origin", origin), ("access-control-request-method", "POST")];
        assert!(refused(&verdict(
            &b,
            Method::OPTIONS,
            "127.0.0.1:8045",
            &pre("https://evil.example"),
            API,
            false
        )));
        assert!(matches!(
            verdict(
                &b,
                Method::OPTIONS,
                "127.0.0.1:8045",
                &pre("https://chat.example"),
                API,
                false
            ),
            Verdict::Preflight { .. }
        ));
        assert_eq!(
            verdict(
                &b,
                Method::OPTIONS,
                "127.0.0.1:8045",
                &pre("https://any.example"),
                KEYED,
                false
            ),
            Verdict::Preflight {
                origin: HeaderValue::from_static("https://any.example")
            }
        );
    }

    #[test]
    fn a_browser_post_must_be_json() {
        let b = boundary(&[], &["https://chat.example"]);
        let form = [
            ("origin", "https://chat.example"),
            ("content-type", "application/x-www-form-urlencoded"),
            ("content-length", "3"),
        ];
        assert!(matches!(
            verdict(&b, Method::POST, "127.0.0.1:8045", &form, API, false),
            Verdict::Refuse { status: 415, .. }
        ));
        // Bodiless POSTs (the dashboard's buttons) need no content type.
        let bare = [("origin", "https://chat.example"), ("content-length", "0")];
        assert!(matches!(
            verdict(&b, Method::POST, "127.0.0.1:8045", &bare, API, false),
            Verdict::Pass { .. }
        ));
    }

    #[test]
    fn lan_access_adds_this_machines_name() {
        let proxy = ProxyConfig::default();
        let lan = Boundary::new(&proxy, true);
        let name = gethostname::gethostname().into_string().unwrap().to_ascii_lowercase();
        let short = name.split('.').next().unwrap().to_string();
        assert!(lan.host_allowed(&format!("{name}:8045")));
        assert!(lan.host_allowed(&format!("{short}.local:8045")));
        assert!(!boundary(&[], &[]).host_allowed(&format!("{short}.local:8045")));
        assert!(!lan.host_allowed("rebind.attacker.tld"));
    }
}
