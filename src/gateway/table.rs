//! The route table: every route of SPEC §4 in one place, with its method,
//! path pattern, what it speaks (the client dialect of an API route, which
//! also shapes its errors) and auth class.
//!
//! Everything else derives from [`ROUTES`]: the dispatcher in `routes.rs`
//! finds a request's row here, the 405 names the methods of the row whose
//! path matched (`Allow`), the 404 guidance and the guard learn the dialect
//! and the class of a path here, and the one key check in front of every
//! handler reads the row's [`Access`].
//!
//! Paths match as warp's `path!` did: segments compared raw (still
//! percent-encoded), one trailing `/` allowed, no empty parameter.

use std::fmt;

use http::Method;

use super::admin;
use super::auth::is_admin;
use super::dashboard;
use super::guard::RouteClass;
use crate::config::AuthMode;
use crate::protocol::{Dialect, Protocol};

/// One route.
#[derive(Debug)]
pub struct Route {
    /// The methods it answers.
    pub methods: Methods,
    /// Its path, segment by segment.
    pub path: &'static [Segment],
    /// What it speaks, and so the shape of its errors.
    pub speaks: Speaks,
    /// Who may call it.
    pub access: Access,
    /// What answers it.
    pub handler: Handler,
}

/// The methods a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Methods {
    /// `GET` only.
    Get,
    /// `GET` and `HEAD` (named `GET` in `Allow`: HEAD is GET without a body).
    GetOrHead,
    /// `POST` only.
    Post,
}

impl Methods {
    fn accepts(self, method: &Method) -> bool {
        match self {
            Methods::Get => method == Method::GET,
            Methods::GetOrHead => method == Method::GET || method == Method::HEAD,
            Methods::Post => method == Method::POST,
        }
    }

    /// The value of `Allow` in a 405.
    pub fn allow(self) -> &'static str {
        match self {
            Methods::Get | Methods::GetOrHead => "GET",
            Methods::Post => "POST",
        }
    }
}

/// One segment of a path pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// This text exactly.
    Literal(&'static str),
    /// Any non-empty segment (an account id, an action, an OpenAI model
    /// id, which may hold `:` as fine-tuned ones do).
    Param,
    /// A model name: a segment without `:` once percent-decoded.
    Model,
    /// A Gemini method call, `model:method` once percent-decoded.
    Call,
}

/// What a route speaks, and so the protocol its errors are shaped in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaks {
    /// An API route of this client dialect.
    Api(Dialect),
    /// `GET /v1/models...`: Gemini's shapes when the client sends Google's
    /// headers (google-genai with API version v1), else OpenAI's.
    Models,
    /// The gateway's own routes (health, landing text, admin, dashboard):
    /// OpenAI's shape from the handler; the guard and the 404/405 guess the
    /// SDK from its headers.
    Own,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `/healthz`: the key only in strict mode; probes may use any `Host`.
    Health,
    /// An API route: the key as `auth_mode` says.
    Api,
    /// The admin surface: the key in every auth mode (it reads the
    /// request log and changes the pool).
    Admin,
    /// The landing text at `/`: a page (a link may open it), keyed as an
    /// API route.
    Page,
    /// The dashboard's shell: a page that holds no data, served without the
    /// key (it reads everything through the admin API). The guard counts it
    /// keyed as `auth_mode` says, so a page with the key may load it.
    Shell,
}

impl Access {
    /// Whether the guard treats the route as needing the key in `mode`.
    pub fn keyed(self, mode: AuthMode) -> bool {
        match (self, mode) {
            (Access::Admin, _) => true,
            (_, AuthMode::Off | AuthMode::Auto) => false,
            (_, AuthMode::Strict) => true,
            (Access::Health, AuthMode::AllExceptHealth) => false,
            (_, AuthMode::AllExceptHealth) => true,
        }
    }

    /// Whether the handler may run only with the key in `mode` (checked
    /// once, in front of every handler).
    pub fn needs_key(self, mode: AuthMode) -> bool {
        self != Access::Shell && self.keyed(mode)
    }
}

/// What answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `{"status":"ok"}` and the CLI's identity proof.
    Health,
    /// The plain-text landing at `/`.
    Landing,
    /// A model list (OpenAI's, or Gemini's for Google's headers).
    OpenAiModels,
    /// One model (OpenAI's, or Gemini's for Google's headers; for those a
    /// name with a method is a call made with GET, a 405).
    OpenAiModel,
    /// Gemini's model list.
    GeminiModels,
    /// One Gemini model.
    GeminiModel,
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `POST .../models/{model}:{method}`.
    GeminiCall,
    /// An admin endpoint.
    Admin(admin::Endpoint),
    /// A dashboard file.
    Dashboard(dashboard::Asset),
}

const CHAT: Speaks = Speaks::Api(Dialect::Chat);
const RESPONSES: Speaks = Speaks::Api(Dialect::Responses);
const MESSAGES: Speaks = Speaks::Api(Dialect::Messages);
const GEMINI: Speaks = Speaks::Api(Dialect::Gemini);

const fn route(methods: Methods, path: &'static [Segment], speaks: Speaks, access: Access, handler: Handler) -> Route {
    Route {
        methods,
        path,
        speaks,
        access,
        handler,
    }
}

/// Every route, in the order they are tried (the first whose path and
/// method match answers; of the rows whose path matches, the first names
/// the method of a 405, so a `model:method` call comes before the model). Laid out as a table, so rustfmt leaves it be.
#[rustfmt::skip]
pub static ROUTES: &[Route] = {
    use Access::{Admin, Api, Health, Page, Shell};
    use Speaks::{Models, Own};
    use Methods::{Get, GetOrHead, Post};
    use Segment::{Call, Literal as L, Model, Param};
    use admin::Endpoint as A;
    use dashboard::Asset as D;
    &[
        route(GetOrHead, &[L("healthz")],                              Own,       Health, Handler::Health),
        route(GetOrHead, &[],                                          Own,       Page,   Handler::Landing),
        route(Get,       &[L("v1beta"), L("models")],                  GEMINI,    Api,    Handler::GeminiModels),
        route(Post,      &[L("v1beta"), L("models"), Call],            GEMINI,    Api,    Handler::GeminiCall),
        route(Get,       &[L("v1beta"), L("models"), Model],           GEMINI,    Api,    Handler::GeminiModel),
        route(Get,       &[L("v1"), L("models")],                      Models,    Api,    Handler::OpenAiModels),
        route(Post,      &[L("v1"), L("models"), Call],                GEMINI,    Api,    Handler::GeminiCall),
        route(Get,       &[L("v1"), L("models"), Param],               Models,    Api,    Handler::OpenAiModel),
        route(Post,      &[L("v1"), L("chat"), L("completions")],      CHAT,      Api,    Handler::Chat),
        route(Post,      &[L("v1"), L("responses")],                   RESPONSES, Api,    Handler::Responses),
        route(Post,      &[L("v1"), L("embeddings")],                  CHAT,      Api,    Handler::Embeddings),
        route(Post,      &[L("v1"), L("messages")],                    MESSAGES,  Api,    Handler::Messages),
        route(Post,      &[L("v1"), L("messages"), L("count_tokens")], MESSAGES,  Api,    Handler::CountTokens),
        route(Get,       &[L("api"), L("status")],                     Own,       Admin,  Handler::Admin(A::Status)),
        route(Get,       &[L("api"), L("accounts")],                   Own,       Admin,  Handler::Admin(A::Accounts)),
        route(Post,      &[L("api"), L("accounts"), Param, Param],     Own,       Admin,  Handler::Admin(A::Switch)),
        route(Get,       &[L("api"), L("models")],                     Own,       Admin,  Handler::Admin(A::Models)),
        route(Post,      &[L("api"), L("key"), L("rotate")],           Own,       Admin,  Handler::Admin(A::Rotate)),
        route(Get,       &[L("api"), L("logs")],                       Own,       Admin,  Handler::Admin(A::Logs)),
        route(Get,       &[L("api"), L("usage")],                      Own,       Admin,  Handler::Admin(A::Usage)),
        route(Get,       &[L("api"), L("usage"), L("timeline")],       Own,       Admin,  Handler::Admin(A::Timeline)),
        route(Get,       &[L("api"), L("events")],                     Own,       Admin,  Handler::Admin(A::Events)),
        route(Get,       &[L("api"), L("keys")],                       Own,       Admin,  Handler::Admin(A::Keys)),
        route(Post,      &[L("api"), L("keys"), L("reload")],          Own,       Admin,  Handler::Admin(A::ReloadKeys)),
        route(Get,       &[L("api"), L("connect")],                    Own,       Admin,  Handler::Admin(A::ConnectList)),
        route(Post,      &[L("api"), L("connect"), Param],             Own,       Admin,  Handler::Admin(A::Connect)),
        route(Get,       &[L("metrics")],                              Own,       Admin,  Handler::Admin(A::Metrics)),
        route(Get,       &[L("ui")],                                   Own,       Shell,  Handler::Dashboard(D::Index)),
        route(Get,       &[L("ui"), L("app.js")],                      Own,       Shell,  Handler::Dashboard(D::App)),
        route(Get,       &[L("ui"), L("style.css")],                   Own,       Shell,  Handler::Dashboard(D::Style)),
    ]
};

/// The endpoints a lost client is pointed to (the 404's guidance), in
/// this order; each shown as its first row.
const SIGNPOSTS: &[Handler] = &[
    Handler::Chat,
    Handler::Responses,
    Handler::OpenAiModels,
    Handler::Messages,
    Handler::GeminiCall,
    Handler::Health,
];

/// `POST /v1/chat/completions, ..., GET /healthz`: the endpoints a 404 names.
pub fn signposts() -> String {
    let shown: Vec<String> = SIGNPOSTS
        .iter()
        .filter_map(|handler| ROUTES.iter().find(|route| route.handler == *handler))
        .map(Route::to_string)
        .collect();
    shown.join(", ")
}

impl fmt::Display for Route {
    /// `METHOD /path`, parameters in capitals (`MODEL`, `ID`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.methods.allow())?;
        if self.path.is_empty() {
            return write!(f, " /");
        }
        for (at, segment) in self.path.iter().enumerate() {
            let separator = if at == 0 { " /" } else { "/" };
            match segment {
                Segment::Literal(text) => write!(f, "{separator}{text}")?,
                Segment::Param => write!(f, "{separator}ID")?,
                Segment::Model => write!(f, "{separator}MODEL")?,
                Segment::Call => write!(f, "{separator}MODEL:generateContent")?,
            }
        }
        Ok(())
    }
}

/// What the table says about one request.
#[derive(Debug)]
pub enum Found<'p> {
    /// This route answers; `params` are its parameter segments, raw.
    Route {
        /// The row.
        route: &'static Route,
        /// The `Param`, `Model` and `Call` segments, as sent (percent-encoded).
        params: Vec<&'p str>,
    },
    /// The path is a route's, the method is not: a 405 naming the route's.
    WrongMethod(&'static Route),
    /// No route has this path: a 404.
    Unknown,
}

/// The route for `method path`.
pub fn find<'p>(method: &Method, path: &'p str) -> Found<'p> {
    let path = Segments::of(path);
    let mut wrong = None;
    for route in ROUTES {
        if let Some(params) = matches(route.path, &path) {
            if route.methods.accepts(method) {
                return Found::Route { route, params };
            }
            wrong.get_or_insert(route);
        }
    }
    wrong.map_or(Found::Unknown, Found::WrongMethod)
}

/// The first route whose path is `path`, whatever the method.
pub fn route_of(path: &str) -> Option<&'static Route> {
    let path = Segments::of(path);
    ROUTES.iter().find(|route| matches(route.path, &path).is_some())
}

/// What the guard needs to know about `path` in auth mode `mode`. A path no
/// route has is an API path (the admin prefix, `/api/*`, stays admin).
pub fn class(path: &str, mode: AuthMode) -> RouteClass {
    let access = match route_of(path) {
        Some(route) => route.access,
        None if is_admin(path) => Access::Admin,
        None => Access::Api,
    };
    RouteClass {
        keyed: access.keyed(mode),
        page: matches!(access, Access::Page | Access::Shell),
        health: access == Access::Health,
    }
}

/// The protocol of the routes at `path` when they all have the same fixed
/// dialect. `None` for an unknown path, the gateway's own routes, and
/// `/v1/models/{id}`, which is OpenAI's model (fine-tuned ids hold `:`) or
/// a Gemini call, as the client's headers and method name say.
pub fn fixed_protocol(path: &str) -> Option<Protocol> {
    let segments = Segments::of(path);
    let mut found = None;
    for route in ROUTES.iter().filter(|route| matches(route.path, &segments).is_some()) {
        match (route.speaks, found) {
            (Speaks::Api(dialect), None) => found = Some(dialect.family()),
            (Speaks::Api(dialect), Some(before)) if dialect.family() == before => {}
            _ => return None,
        }
    }
    found
}

/// The parameter segments of `path` when it matches `pattern`, as warp's
/// `path!` matched: after the leading `/`, each segment up to the next `/`;
/// one trailing `/` allowed.
fn matches<'p>(pattern: &[Segment], path: &Segments<'p>) -> Option<Vec<&'p str>> {
    let parts = path.for_row(pattern.len())?;
    let fits = pattern.iter().zip(parts).all(|(segment, part)| match segment {
        Segment::Literal(text) => part == text,
        Segment::Param => !part.is_empty(),
        Segment::Model => !part.is_empty() && !decode(part).contains(':'),
        Segment::Call => decode(part).contains(':'),
    });
    fits.then(|| {
        pattern
            .iter()
            .zip(parts)
            .filter(|(segment, _)| !matches!(segment, Segment::Literal(_)))
            .map(|(_, part)| *part)
            .collect()
    })
}

/// More segments than any row has (and one trailing `/`): a longer path
/// matches no row.
const MAX_SEGMENTS: usize = 8;

/// A path cut into its segments once, to be matched against every row.
struct Segments<'p> {
    parts: [&'p str; MAX_SEGMENTS],
    /// How many segments the path has; past [`MAX_SEGMENTS`], too many.
    len: usize,
}

impl<'p> Segments<'p> {
    fn of(path: &'p str) -> Segments<'p> {
        let mut parts = [""; MAX_SEGMENTS];
        let mut len = 0;
        for part in path.strip_prefix('/').unwrap_or(path).split('/') {
            if len == MAX_SEGMENTS {
                return Segments {
                    parts,
                    len: MAX_SEGMENTS + 1,
                };
            }
            parts[len] = part;
            len += 1;
        }
        Segments { parts, len }
    }

    /// The segments a row of `n` segments is compared with: all of them, or
    /// all but a trailing empty one (the path's trailing `/`).
    fn for_row(&self, n: usize) -> Option<&[&'p str]> {
        let trailing_slash = self.len == n + 1 && n < MAX_SEGMENTS && self.parts[n].is_empty();
        (self.len == n || trailing_slash).then(|| &self.parts[..n])
    }
}

/// A path segment percent-decoded (bytes that are not UTF-8 replaced).
pub fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(method: Method, path: &str) -> Option<Handler> {
        match find(&method, path) {
            Found::Route { route, .. } => Some(route.handler),
            _ => None,
        }
    }

    #[test]
    fn paths_match_as_warp_did() {
        assert_eq!(handler(Method::GET, "/healthz"), Some(Handler::Health));
        assert_eq!(handler(Method::HEAD, "/healthz/"), Some(Handler::Health));
        assert_eq!(handler(Method::GET, "/healthz//"), None);
        assert_eq!(handler(Method::GET, "/"), Some(Handler::Landing));
        assert_eq!(handler(Method::GET, "//"), None);
        assert_eq!(
            handler(Method::GET, "/ui/"),
            Some(Handler::Dashboard(dashboard::Asset::Index))
        );
        assert_eq!(handler(Method::GET, "/v1/models/"), Some(Handler::OpenAiModels));
        assert_eq!(handler(Method::GET, "/v1/models/a/b"), None);
        assert_eq!(handler(Method::GET, "/v1/models/a/b/c/d/e/f/g/h/i/j"), None);
        assert_eq!(
            handler(Method::GET, "/ui/style.css/"),
            Some(Handler::Dashboard(dashboard::Asset::Style))
        );
        assert_eq!(
            handler(Method::POST, "/v1/models/g%3AgenerateContent"),
            Some(Handler::GeminiCall)
        );
        assert_eq!(
            handler(Method::GET, "/v1beta/models/gemini-2.5-flash"),
            Some(Handler::GeminiModel)
        );
    }

    #[test]
    fn parameters_come_raw_in_order() {
        let Found::Route { params, .. } = find(&Method::POST, "/api/accounts/a%20b/enable") else {
            panic!()
        };
        assert_eq!(params, ["a%20b", "enable"]);
    }

    #[test]
    fn known_paths_answer_405_not_404() {
        let allow = |method: Method, path: &str| match find(&method, path) {
            Found::WrongMethod(route) => Some(route.methods.allow()),
            _ => None,
        };
        assert_eq!(allow(Method::GET, "/v1/chat/completions"), Some("POST"));
        assert_eq!(allow(Method::POST, "/v1/models"), Some("GET"));
        assert_eq!(allow(Method::HEAD, "/v1/models"), Some("GET"));
        assert_eq!(allow(Method::GET, "/v1beta/models/g:generateContent"), Some("POST"));
        // On OpenAI's path the model handler decides by the client's headers.
        assert_eq!(allow(Method::GET, "/v1/models/g:generateContent"), None);
        assert_eq!(allow(Method::POST, "/v1/models/gpt-4o"), Some("GET"));
        assert_eq!(allow(Method::POST, "/healthz"), Some("GET"));
        assert_eq!(allow(Method::GET, "/api/key/rotate"), Some("POST"));
        assert!(matches!(find(&Method::POST, "/v2/chat"), Found::Unknown));
        // A Gemini method is the call row's (the handler 404s an unknown one).
        assert!(matches!(
            find(&Method::POST, "/v1beta/models/g:embedContent"),
            Found::Route { .. }
        ));
        assert_eq!(handler(Method::POST, "/v1/embeddings"), Some(Handler::Embeddings));
        assert_eq!(allow(Method::GET, "/v1/embeddings"), Some("POST"));
    }

    #[test]
    fn fixed_dialects_only_where_every_route_of_the_path_agrees() {
        assert_eq!(fixed_protocol("/v1/messages"), Some(Protocol::Anthropic));
        assert_eq!(
            fixed_protocol("/v1beta/models/g:generateContent"),
            Some(Protocol::Gemini)
        );
        assert_eq!(fixed_protocol("/v1/models/ft:gpt-4o:org::id"), None);
        assert_eq!(fixed_protocol("/v1/models"), None);
        assert_eq!(fixed_protocol("/api/status"), None);
        assert_eq!(fixed_protocol("/v2/chat"), None);
    }

    #[test]
    fn the_404_names_the_main_endpoints() {
        assert_eq!(
            signposts(),
            "POST /v1/chat/completions, POST /v1/responses, GET /v1/models, POST /v1/messages, \
             POST /v1beta/models/MODEL:generateContent, GET /healthz"
        );
    }

    #[test]
    fn the_guard_learns_each_class_here() {
        for mode in [AuthMode::Off, AuthMode::Strict, AuthMode::AllExceptHealth] {
            for (path, admin) in [
                ("/api/status", true),
                ("/api/nope", true),
                ("/metrics", true),
                ("/v1/messages", false),
            ] {
                assert_eq!(
                    class(path, mode).keyed,
                    admin || mode != AuthMode::Off,
                    "{mode:?} {path}"
                );
            }
            assert_eq!(class("/healthz", mode).keyed, mode == AuthMode::Strict);
            assert_eq!(class("/ui", mode).keyed, mode != AuthMode::Off);
        }
        let mode = AuthMode::Strict;
        assert!(class("/healthz", mode).health && !class("/healthz", mode).page);
        assert!(class("/", mode).page && class("/ui", mode).page && class("/ui/app.js", mode).page);
        assert!(!class("/v1/chat/completions", mode).page);
    }
}
