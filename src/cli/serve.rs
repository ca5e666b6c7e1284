//! `switchyard serve`: the gateway in the foreground.

use std::io::Write;

use super::{Failure, ServeArgs, open};
use crate::config;
use crate::gateway::{DEFAULT_GRACE, Gateway, Overrides};
use crate::home::Home;

/// Runs until SIGINT or SIGTERM, then drains in-flight requests and exits 0.
pub fn run(home: &Home, args: ServeArgs) -> Result<(), Failure> {
    config::init(home)?;
    let (_, store) = open(home)?;
    let overrides = Overrides {
        port: args.port,
        allow_lan_access: args.lan.then_some(true),
        auth_mode: args.auth_mode,
        insecure_lan: args.insecure_lan,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("switchyard")
        .build()?;
    runtime.block_on(async move {
        let mut shutdown = Shutdown::install()?;
        let mut gateway = Gateway::new(home.clone(), store, overrides);
        let address = gateway.start().await?;
        let status = gateway.status();
        let base = status.base_url.clone().unwrap_or_else(|| format!("http://{address}"));
        let mut banner = format!(
            "Switchyard listening on {address} · {} account(s) · auth: {}\n  OpenAI SDKs:             {base}/v1\n  \
             Anthropic / Gemini SDKs: {base}\n",
            status.accounts, status.auth_mode
        );
        if status.lan {
            banner.push_str(&format!(
                "  LAN access is on: other machines reach it at http://<this machine's address>:{}\n",
                address.port()
            ));
        }
        // Whoever started us may have closed stdout; the gateway runs on regardless.
        let _ = std::io::stdout().lock().write_all(banner.as_bytes());
        shutdown.wait().await;
        eprintln!(
            "switchyard: stopping (in-flight requests get {}s to finish)",
            DEFAULT_GRACE.as_secs()
        );
        gateway.stop(DEFAULT_GRACE).await;
        Ok(())
    })
}

/// SIGINT and SIGTERM, registered before the gateway starts so that a
/// signal arriving right after the banner is never lost to the default
/// action (which would kill the process without draining).
struct Shutdown {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn install() -> std::io::Result<Shutdown> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Shutdown {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Shutdown {})
    }

    /// Resolves on the first signal.
    async fn wait(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
