//! Shared test harness: a gateway started in-process on a temporary home,
//! and programmable mock upstreams on 127.0.0.1 that record what they get.

pub mod catalogs;
pub mod client_streams;
pub mod clients;
pub mod command;
pub mod conversation;
pub mod raw;
pub mod received;
pub mod rig;
pub mod upstreams;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use switchyard::config::{AccountConfig, ProviderKind};
use switchyard::gateway::{Gateway, Overrides};
use switchyard::home::Home;
use switchyard::secrets::{MemoryStore, SecretStore};
use tokio::sync::mpsc;
use warp::Filter;
use warp::reply::Reply;

/// Polls `check` until it holds, every 100 ms for at most ten seconds: for
/// what the gateway does after answering (the request log is written in
/// rounds, team mode syncs in the background).
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("mock got non-JSON body ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the mock answers.
pub enum Reply_ {
    /// A complete response.
    Json {
        status: u16,
        body: Value,
        headers: Vec<(&'static str, String)>,
    },
    /// Raw bytes with a content type.
    Raw {
        status: u16,
        content_type: &'static str,
        body: Bytes,
    },
    /// A stream of chunks, each sent after its delay; `hold` keeps the
    /// stream open after the chunks until the sender is dropped or fired.
    Stream {
        chunks: Vec<(Duration, Bytes)>,
        hold: Option<tokio::sync::oneshot::Receiver<()>>,
        content_type: &'static str,
    },
    /// Sends the chunks, then breaks the connection off in the middle of
    /// the body, as an upstream that resets does.
    Aborted {
        chunks: Vec<Bytes>,
        content_type: &'static str,
    },
    /// A stream the test writes by hand through a [`Feed`].
    Fed {
        feed: mpsc::UnboundedReceiver<Bytes>,
        content_type: &'static str,
    },
    /// A body the server pulls chunk by chunk, only as fast as it can
    /// write them: what the stream has produced is what the gateway took.
    Pulled {
        body: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync>>,
        content_type: &'static str,
    },
}

pub use Reply_ as MockReply;

impl Reply_ {
    pub fn json(body: Value) -> Self {
        Reply_::Json {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    pub fn status(status: u16, body: Value) -> Self {
        Reply_::Json {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// An SSE stream of these frames (each already formatted, e.g.
    /// `data: {...}\n\n`), sent without delay.
    pub fn sse<I: IntoIterator<Item = String>>(frames: I) -> Self {
        Reply_::Stream {
            chunks: frames.into_iter().map(|f| (Duration::ZERO, Bytes::from(f))).collect(),
            hold: None,
            content_type: "text/event-stream",
        }
    }
}

/// The test's end of a [`Reply_::Fed`] stream: what it sends goes out at
/// once; dropping it ends the stream.
pub struct Feed(mpsc::UnboundedSender<Bytes>);

impl Feed {
    /// Sends `chunk` to the gateway now.
    pub fn send(&self, chunk: impl Into<Bytes>) {
        let _ = self.0.send(chunk.into());
    }

    /// Whether the mock's server has dropped the stream: its connection
    /// to the gateway is gone.
    pub fn closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// A handler that answers its first request with a stream fed through the
/// returned [`Feed`] (later requests get a 500).
pub fn fed(content_type: &'static str) -> (Feed, impl Fn(&Recorded) -> Reply_ + Send + Sync + 'static) {
    let (tx, rx) = mpsc::unbounded_channel();
    let slot = Mutex::new(Some(rx));
    let handler = move |_: &Recorded| match slot.lock().unwrap().take() {
        Some(feed) => Reply_::Fed { feed, content_type },
        None => Reply_::status(
            500,
            serde_json::json!({"error": {"message": "the fed stream was already used"}}),
        ),
    };
    (Feed(tx), handler)
}

type Handler = dyn Fn(&Recorded) -> Reply_ + Send + Sync;

/// A mock upstream server.
pub struct Mock {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Recorded>>>,
    handler: Arc<Mutex<Arc<Handler>>>,
}

impl Mock {
    /// Starts a mock on 127.0.0.1 answering with `handler`.
    pub async fn start(handler: impl Fn(&Recorded) -> Reply_ + Send + Sync + 'static) -> Mock {
        let received: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let handler: Arc<Mutex<Arc<Handler>>> = Arc::new(Mutex::new(Arc::new(handler)));
        let (r, h) = (received.clone(), handler.clone());
        let route = warp::method()
            .and(warp::path::full())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .map(
                move |method: http::Method,
                      path: warp::path::FullPath,
                      query: String,
                      headers: HeaderMap,
                      body: Bytes| {
                    let recorded = Recorded {
                        method: method.to_string(),
                        path: path.as_str().to_string(),
                        query,
                        headers,
                        body,
                    };
                    r.lock().unwrap().push(recorded.clone());
                    let handler = h.lock().unwrap().clone();
                    respond(handler(&recorded))
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        Mock {
            addr,
            received,
            handler,
        }
    }

    /// Replaces the handler.
    pub fn set(&self, handler: impl Fn(&Recorded) -> Reply_ + Send + Sync + 'static) {
        *self.handler.lock().unwrap() = Arc::new(handler);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Recorded> {
        self.received.lock().unwrap().clone()
    }

    /// The last request received.
    pub fn last(&self) -> Recorded {
        self.received().last().cloned().expect("the mock received no request")
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

fn respond(reply: Reply_) -> warp::reply::Response {
    match reply {
        Reply_::Json { status, body, headers } => {
            let mut response = warp::reply::json(&body).into_response();
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
        Reply_::Raw {
            status,
            content_type,
            body,
        } => {
            let mut response = warp::reply::Response::new(body.into());
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            response
                .headers_mut()
                .insert("content-type", content_type.parse().unwrap());
            response
        }
        Reply_::Stream {
            chunks,
            hold,
            content_type,
        } => {
            let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
            tokio::spawn(async move {
                for (delay, chunk) in chunks {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
                if let Some(hold) = hold {
                    let _ = hold.await;
                }
            });
            stream_response(tokio_stream::wrappers::ReceiverStream::new(rx), content_type)
        }
        Reply_::Aborted { chunks, content_type } => {
            let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
            tokio::spawn(async move {
                for chunk in chunks {
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
                // Let the server write what was sent before breaking off,
                // or the reset would come before the response even started.
                tokio::time::sleep(Duration::from_millis(30)).await;
                let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "mock upstream reset");
                let _ = tx.send(Err(reset)).await;
            });
            stream_response(tokio_stream::wrappers::ReceiverStream::new(rx), content_type)
        }
        Reply_::Fed { feed, content_type } => {
            use futures_util::StreamExt;
            let items = tokio_stream::wrappers::UnboundedReceiverStream::new(feed).map(Ok);
            stream_response(items, content_type)
        }
        Reply_::Pulled { body, content_type } => stream_response(body, content_type),
    }
}

fn stream_response<S>(body: S, content_type: &'static str) -> warp::reply::Response
where
    S: futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static,
{
    let mut response = warp::reply::stream(body).into_response();
    response
        .headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    response
}

/// A gateway running in-process on a temporary home with an in-memory
/// secret store.
pub struct TestGateway {
    pub gateway: Gateway,
    pub addr: SocketAddr,
    pub store: Arc<MemoryStore>,
    pub home: Home,
    _dir: tempfile::TempDir,
}

/// One account for [`TestGateway::start`].
pub struct TestAccount {
    pub provider: ProviderKind,
    pub base_url: String,
    pub secret: String,
    pub models: Vec<String>,
    pub priority: i32,
    pub label: String,
    pub project: Option<String>,
    pub proxy_url: Option<String>,
    pub weight: u32,
}

impl TestAccount {
    pub fn new(provider: ProviderKind, base_url: impl Into<String>) -> Self {
        TestAccount {
            provider,
            base_url: base_url.into(),
            secret: format!("upstream-secret-{}", provider.as_str()),
            models: Vec::new(),
            priority: 0,
            label: provider.as_str().to_string(),
            project: None,
            proxy_url: None,
            weight: 1,
        }
    }

    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    pub fn models(mut self, globs: &[&str]) -> Self {
        self.models = globs.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// A keyless account (a local model server): no secret, no `Authorization`.
    pub fn keyless(mut self) -> Self {
        self.secret = String::new();
        self
    }

    pub fn label(mut self, label: &str) -> Self {
        self.label = label.to_string();
        self
    }
}

impl TestGateway {
    /// Starts a gateway on a free port with these accounts and extra config text.
    pub async fn start(accounts: Vec<TestAccount>, extra_config: &str) -> TestGateway {
        Self::start_with(accounts, extra_config, Overrides::default()).await
    }

    pub async fn start_with(accounts: Vec<TestAccount>, extra_config: &str, mut overrides: Overrides) -> TestGateway {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let store = Arc::new(MemoryStore::default());
        let mut text = String::new();
        for (i, account) in accounts.iter().enumerate() {
            let config = AccountConfig {
                id: format!("acc_{i:08}"),
                provider: account.provider,
                label: account.label.clone(),
                base_url: Some(account.base_url.clone()),
                models: account.models.clone(),
                priority: account.priority,
                enabled: true,
                project: account.project.clone(),
                proxy_url: account.proxy_url.clone(),
                no_key: account.secret.is_empty(),
                weight: account.weight,
            };
            if !config.no_key {
                store.set(&config.id, &account.secret).unwrap();
            }
            text.push_str("[[accounts]]\n");
            text.push_str(&toml::to_string(&config).unwrap());
            text.push('\n');
        }
        text.push_str(extra_config);
        // The scripted mocks answer every request alike: the gateway asks
        // them for model lists only in the tests that say so (catalog.rs).
        if !extra_config.contains("[catalog]") {
            text.push_str("\n[catalog]\nfetch = false\n");
        }
        std::fs::write(home.config_file(), text).unwrap();
        overrides.port.get_or_insert(0);
        let mut gateway = Gateway::new(home.clone(), store.clone(), overrides);
        let addr = gateway.start().await.expect("gateway starts");
        TestGateway {
            gateway,
            addr,
            store,
            home,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.addr.port(), path)
    }

    /// The gateway's key (the admin surface needs it in every auth mode).
    pub fn key(&self) -> String {
        let config = switchyard::config::Config::load(&self.home).unwrap();
        switchyard::secrets::gateway_key(self.store.as_ref(), &config).unwrap()
    }

    /// An authenticated GET of the admin surface (`/api/...`, `/metrics`).
    pub fn admin_get(&self, path: &str) -> reqwest::RequestBuilder {
        client().get(self.url(path)).bearer_auth(self.key())
    }

    /// The JSON of an authenticated GET of `/api/...`.
    pub async fn admin_json(&self, path: &str) -> serde_json::Value {
        self.admin_get(path).send().await.unwrap().json().await.unwrap()
    }

    /// The origin clients use (`http://127.0.0.1:PORT`).
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }
}

/// A plain HTTP client that never uses a proxy.
pub fn client() -> reqwest::Client {
    switchyard::upstream::http_client().no_proxy().build().unwrap()
}

/// A POST built by hand to `path` on the gateway at `base`
/// (`http://127.0.0.1:PORT`), with no header set: for the malformed bodies,
/// odd headers and routes that the callers in [`clients`] do not send.
/// An ordinary call goes through [`clients::Client`].
pub fn post(base: &str, path: &str) -> reqwest::RequestBuilder {
    client().post(format!("{base}{path}"))
}

/// Splits an SSE body into (event name, data) pairs with the gateway's own
/// reader, the events without data left out.
pub fn sse_events(body: &str) -> Vec<(Option<String>, String)> {
    switchyard::protocol::sse::events(body.as_bytes())
        .into_iter()
        .map(|fields| (fields.event, fields.data.unwrap_or_default()))
        .collect()
}
