//! The accept loop: a listener we bind ourselves, served with hyper.
//!
//! warp's own `bind`/`run` panic when the port is taken, so the listener is a
//! `tokio::net::TcpListener` created here (a bind failure becomes an error
//! naming the address and the cause) and the warp filter is served as a
//! service. Owning the loop also lets us set `TCP_NODELAY` (streamed events
//! must not wait for Nagle), bound how long a client may take to send its
//! headers (slowloris), and stop gracefully within a deadline.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// Why the listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {cause}")]
pub struct BindError {
    /// The address we tried.
    pub addr: SocketAddr,
    /// The cause, in words a user can act on.
    pub cause: BindCause,
}

/// The cause of a [`BindError`].
#[derive(Debug, thiserror::Error)]
pub enum BindCause {
    /// Another program holds the port.
    #[error(
        "port {0} is already in use by another program (another Switchyard?). Stop that program, or choose another \
         port: `switchyard serve --port N` or `port = N` under [proxy] in config.toml"
    )]
    InUse(u16),
    /// The OS refused (privileged port, sandbox).
    #[error(
        "permission denied. Ports below 1024 need privileges: choose a port above 1024 (`--port {}`)",
        crate::config::DEFAULT_PORT
    )]
    PermissionDenied,
    /// The address is not on this machine.
    #[error("the address is not available on this machine ({0})")]
    AddrNotAvailable(io::Error),
    /// Anything else.
    #[error("{0}")]
    Other(io::Error),
}

/// Binds `addr`, translating the OS error into a [`BindError`].
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).await.map_err(|err| {
        let cause = match err.kind() {
            io::ErrorKind::AddrInUse => BindCause::InUse(addr.port()),
            io::ErrorKind::PermissionDenied => BindCause::PermissionDenied,
            io::ErrorKind::AddrNotAvailable => BindCause::AddrNotAvailable(err),
            _ => BindCause::Other(err),
        };
        BindError { addr, cause }
    })
}

/// What one client may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A client that takes longer than this to send a request's headers is
    /// disconnected (slowloris).
    pub header_timeout: Duration,
    /// Most connections open at once; a connection past it is answered a
    /// 503 and closed, so that a flood cannot exhaust file descriptors or
    /// memory while the clients already connected keep being served.
    pub max_connections: usize,
}

/// A running accept loop.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<Duration>>,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves `service` on `listener` until [`Server::shutdown`].
    pub fn spawn<S>(listener: TcpListener, service: S, limits: Limits) -> io::Result<Server>
    where
        S: tower_service::Service<
                http::Request<hyper::body::Incoming>,
                Response = warp::reply::Response,
                Error = Infallible,
            > + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
    {
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, service, stopped, limits));
        Ok(Server {
            local_addr,
            stop: Some(stop),
            task,
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Closes the listener at once (the port is free when this returns),
    /// lets in-flight requests finish for up to `grace`, then cuts the rest.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(grace);
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A server dropped without shutdown() stops at once.
        self.task.abort();
    }
}

async fn accept_loop<S>(listener: TcpListener, service: S, mut stopped: oneshot::Receiver<Duration>, limits: Limits)
where
    S: tower_service::Service<
            http::Request<hyper::body::Incoming>,
            Response = warp::reply::Response,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let header_timeout = limits.header_timeout;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let grace = loop {
        tokio::select! {
            grace = &mut stopped => break grace.unwrap_or(Duration::ZERO),
            // A finished connection's task keeps its memory until joined:
            // join each as it ends, not only when the next client connects
            // (after a burst of 1000 streams that could be never).
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        // Out of file descriptors and the like: back off
                        // instead of spinning; the loop stays up.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if connections.len() >= limits.max_connections {
                    tracing::warn!(open = connections.len(), "too many connections; answering 503 (raise max_connections under [proxy])");
                    connections.spawn(turn_away(stream));
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let service = RemoteAddr { inner: service.clone(), remote };
                let watcher = graceful.watcher();
                connections.spawn(async move {
                    if !first_bytes(&stream, header_timeout).await {
                        return;
                    }
                    let mut builder = auto::Builder::new(TokioExecutor::new());
                    builder
                        .http1()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
                        .keep_alive(true);
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
                    if let Err(err) = watcher.watch(conn).await {
                        tracing::debug!(error = %err, "connection ended with an error");
                    }
                });
            }
        }
    };
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::info!(
            remaining = connections.len(),
            "grace period over; closing the remaining connections"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Answers a connection past the cap with a 503 and closes it. The answer
/// is written without reading the request: the client learns at once, and
/// the connection costs only this short task.
async fn turn_away(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    const BODY: &str = "{\"error\":{\"message\":\"The gateway has too many open connections; try again shortly \
                        (or raise max_connections under [proxy] in config.toml).\",\"type\":\"overloaded_error\",\
                        \"code\":503}}";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let write = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
}

/// Waits, at most `limit`, until the client has sent enough to tell HTTP/1
/// from HTTP/2; `false` when it sends nothing in time (or hangs up).
///
/// hyper's header-read timeout only starts once the connection is handed
/// to the HTTP/1 parser, and hyper-util's protocol sniffing before that
/// waits for the first bytes without any limit: a client that connects and
/// sends nothing (or only the start of the HTTP/2 preface) would hold its
/// connection forever.
async fn first_bytes(stream: &tokio::net::TcpStream, limit: Duration) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline = tokio::time::Instant::now() + limit;
    let mut buffer = [0u8; PREFACE.len()];
    loop {
        let seen = match tokio::time::timeout_at(deadline, stream.peek(&mut buffer)).await {
            Ok(Ok(seen)) if seen > 0 => seen,
            _ => return false,
        };
        if seen == PREFACE.len() || buffer[..seen] != PREFACE[..seen] {
            return true;
        }
        // The start of the HTTP/2 preface: `peek` answers at once while
        // those bytes wait, so look again a little later.
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Adds the client's address to each request, where warp's `addr::remote`
/// filter finds it.
#[derive(Clone)]
struct RemoteAddr<S> {
    inner: S,
    remote: SocketAddr,
}

impl<S, B> tower_service::Service<http::Request<B>> for RemoteAddr<S>
where
    S: tower_service::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        request.extensions_mut().insert(ClientAddr(self.remote));
        self.inner.call(request)
    }
}

/// The peer address of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);
