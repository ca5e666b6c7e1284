//! The server: a listener on 127.0.0.1 and one hyper HTTP/1 connection task
//! per client, each request answered by [`crate::respond`].

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::Options;
use crate::reply::{Body, Reply};
use crate::respond::respond;

/// A mock upstream serving on 127.0.0.1 until it is dropped (or, in the
/// binary, for ever).
pub struct Server {
    addr: SocketAddr,
    /// Requests received (`/_mock/requests` aside).
    received: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl Server {
    /// Binds 127.0.0.1 on `options.port` (0: a free port) and starts
    /// serving on the current tokio runtime.
    pub async fn start(options: Options) -> io::Result<Server> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port))).await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(AtomicU64::new(0));
        let accept = tokio::spawn(accept(listener, Arc::new(options), received.clone()));
        Ok(Server { addr, received, accept })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: an Anthropic or Gemini account's base URL
    /// (an OpenAI account's adds `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests it has received (`GET /_mock/requests` aside).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    /// Serves until the process ends.
    pub async fn run(mut self) {
        let _ = (&mut self.accept).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept(listener: TcpListener, options: Arc<Options>, received: Arc<AtomicU64>) {
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                eprintln!("mock_upstream: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let (options, received) = (options.clone(), received.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(request, options.clone(), received.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

async fn handle(
    request: Request<Incoming>,
    options: Arc<Options>,
    received: Arc<AtomicU64>,
) -> Result<Response<Body>, Infallible> {
    let (head, body) = request.into_parts();
    if head.uri.path() == "/_mock/requests" {
        let count = received.load(Ordering::SeqCst);
        return Ok(Reply::json(StatusCode::OK, format!(r#"{{"requests":{count}}}"#)).into_response(Duration::ZERO));
    }
    received.fetch_add(1, Ordering::SeqCst);
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let reply = respond(
        &head.method,
        head.uri.path(),
        head.uri.query().unwrap_or(""),
        &head.headers,
        &body,
        &options,
    );
    if !options.latency.is_zero() {
        tokio::time::sleep(options.latency).await;
    }
    let mut response = reply.into_response(options.chunk_delay);
    if options.quota_headers {
        for (name, value) in quota_headers(head.uri.path()) {
            response
                .headers_mut()
                .insert(*name, http::HeaderValue::from_static(value));
        }
    }
    Ok(response)
}

/// The rate-limit headers the provider of `path` sends, by their real
/// names: OpenAI's resets are Go durations, Anthropic's RFC 3339 times;
/// Gemini names no limit on its answers.
pub(crate) fn quota_headers(path: &str) -> &'static [(&'static str, &'static str)] {
    if path.starts_with("/v1/messages") {
        &[
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "47"),
            ("anthropic-ratelimit-requests-reset", "2099-01-01T00:00:00Z"),
            ("anthropic-ratelimit-input-tokens-limit", "30000"),
            ("anthropic-ratelimit-input-tokens-remaining", "2400"),
            ("anthropic-ratelimit-input-tokens-reset", "2099-01-01T00:00:00Z"),
            ("anthropic-ratelimit-output-tokens-limit", "8000"),
            ("anthropic-ratelimit-output-tokens-remaining", "7900"),
            ("anthropic-ratelimit-output-tokens-reset", "2099-01-01T00:00:00Z"),
        ]
    } else if path.starts_with("/v1/") {
        &[
            ("x-ratelimit-limit-requests", "5000"),
            ("x-ratelimit-remaining-requests", "4999"),
            ("x-ratelimit-reset-requests", "12ms"),
            ("x-ratelimit-limit-tokens", "160000"),
            ("x-ratelimit-remaining-tokens", "118000"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]
    } else {
        &[]
    }
}
