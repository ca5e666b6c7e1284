//! `switchyard serve`: the gateway in the foreground.

use std::io::Write;

use super::{Failure, ServeArgs, open};
use crate::config::{self, Config};
use crate::gateway::{DEFAULT_GRACE, Gateway, Overrides, Reloaded};
use crate::home::Home;
use crate::notify::{LogNotifier, Notice, Notifier};
use crate::secrets;
use crate::watch::ConfigWatcher;

/// Runs until SIGINT or SIGTERM, then drains in-flight requests and exits 0.
/// Edits of config.toml apply while it runs.
pub fn run(home: &Home, args: ServeArgs) -> Result<(), Failure> {
    config::init(home)?;
    let (config, store) = open(home)?;
    let mut store_kind = secrets::selected_kind(&config)?;
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
        let (changed_tx, mut changed) = tokio::sync::mpsc::unbounded_channel();
        let _watcher = ConfigWatcher::start(home, move || {
            let _ = changed_tx.send(());
        })
        .inspect_err(|err| tracing::warn!("{err}"))
        .ok();
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                Some(()) = changed.recv() => {
                    // A switch of secret store applies with the reload.
                    if let Ok(config) = Config::load(home)
                        && let Ok(kind) = secrets::selected_kind(&config)
                        && kind != store_kind
                    {
                        match secrets::open(home, &config) {
                            Ok(store) => {
                                gateway.set_secrets(store);
                                store_kind = kind;
                            }
                            Err(err) => LogNotifier.notify(&Notice::secrets(&err)),
                        }
                    }
                    match gateway.reload(DEFAULT_GRACE).await {
                        Ok(Reloaded::Rerouted { accounts: 0 }) => LogNotifier.notify(&Notice::NoAccounts),
                        Ok(_) => {}
                        Err(err) => {
                            LogNotifier.notify(&Notice::reload_failed(&err));
                            if !gateway.is_running() {
                                return Err(Failure::runtime(err));
                            }
                        }
                    }
                }
            }
        }
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
