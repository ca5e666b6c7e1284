//! What every request handler of one running gateway shares.

use std::net::SocketAddr;
use std::time::Duration;

use crate::relay::Relay;

use super::auth::Auth;
use super::throttle::AuthThrottle;

/// State shared by the handlers of a running gateway.
#[derive(Debug)]
pub struct Shared {
    /// Who may call.
    pub auth: Auth,
    /// The names and browser origins this gateway answers to (the guard).
    pub boundary: super::guard::Boundary,
    /// What the gateway proves itself to the CLI with (`/healthz`).
    pub identity: super::identity::Identity,
    /// `http://127.0.0.1:PORT`: the address named in advice when the
    /// request's `Host` header is unusable.
    pub origin: String,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Longest pause while a client sends a request body.
    pub body_pause: Duration,
    /// Longest time a client may take to send a whole request body.
    pub body_deadline: Duration,
    /// Load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Slows down addresses that keep sending wrong keys.
    pub throttle: std::sync::Arc<AuthThrottle>,
    /// Each client key's use, for its limits (outlives reloads of the keys).
    pub meters: std::sync::Arc<crate::keys::Meters>,
    /// Serves the API calls.
    pub relay: Relay,
    /// The bound address.
    pub address: SocketAddr,
    /// Whether the listener is on all interfaces.
    pub lan: bool,
    /// Where the configuration lives (the dashboard's account switches edit it).
    pub home: crate::home::Home,
    /// The secret store (the dashboard's key rotation writes it).
    pub secrets: std::sync::Arc<dyn crate::secrets::SecretStore>,
}

impl Shared {
    /// The gateway's status as the admin API and the tray report it.
    pub fn status(&self) -> super::Status {
        super::Status {
            running: true,
            address: Some(self.address),
            base_url: Some(crate::config::local_base_url(self.address.port())),
            accounts: self.relay.pool().active_count(),
            auth_mode: self.auth.mode(),
            lan: self.lan,
            cluster: self.relay.cluster().status(),
            request_log: self.relay.monitor().and_then(|monitor| monitor.log_status()),
        }
    }
}
