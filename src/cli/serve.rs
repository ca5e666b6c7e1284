//! `switchyard serve`: the gateway in the foreground.

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
        let mut gateway = Gateway::new(home.clone(), store, overrides);
        let address = gateway.start().await?;
        let status = gateway.status();
        let base = status.base_url.clone().unwrap_or_else(|| format!("http://{address}"));
        println!(
            "Switchyard listening on {address} · {} account(s) · auth: {}",
            status.accounts, status.auth_mode
        );
        println!("  OpenAI SDKs:            {base}/v1");
        println!("  Anthropic / Gemini SDKs: {base}");
        if status.lan {
            println!(
                "  LAN access is on: other machines reach it at http://<this machine's address>:{}",
                address.port()
            );
        }
        shutdown_signal().await;
        eprintln!(
            "switchyard: stopping (in-flight requests get {}s to finish)",
            DEFAULT_GRACE.as_secs()
        );
        gateway.stop(DEFAULT_GRACE).await;
        Ok(())
    })
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
