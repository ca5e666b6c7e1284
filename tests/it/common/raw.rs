//! Upstreams below HTTP, for faults a well-behaved server cannot produce: a
//! port nobody listens on, a server that accepts and never answers, one
//! that hangs up before answering. And the client side of the same: a raw
//! connection to the gateway that sends what the test says, when it says.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An `http://` URL on 127.0.0.1 where nothing listens: connecting is refused.
///
/// Port 1 (tcpmux) is below the range the OS hands out for port 0, so no
/// mock started by a test running alongside can take it: a free port
/// chosen and released here could be (and was, now and then).
pub fn refused_url() -> String {
    "http://127.0.0.1:1".to_string()
}

/// What a [`RawUpstream`] does with each connection.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Reads the request and never answers; the connection stays open.
    Silent,
    /// Reads the request head, then closes the connection without a word.
    HangUp,
}

/// A TCP server on 127.0.0.1 acting out one [`Behaviour`].
pub struct RawUpstream {
    pub addr: std::net::SocketAddr,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl RawUpstream {
    pub async fn start(behaviour: Behaviour) -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let behaviour = behaviour.clone();
                tokio::spawn(async move {
                    let _ = read_head(&mut socket).await;
                    match behaviour {
                        Behaviour::Silent => {
                            // Hold the connection until the peer goes away.
                            let mut sink = [0u8; 1024];
                            while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                        }
                        Behaviour::HangUp => drop(socket),
                    }
                });
            }
        });
        RawUpstream { addr, accepted, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads up to the end of an HTTP request head (the blank line).
pub async fn read_head(socket: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// Waits until the peer closes `socket` (or `within` passes); returns what
/// it sent meanwhile, or `None` when it did not close in time.
pub async fn closed_within(socket: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 4096];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().map(|_| received)
}
