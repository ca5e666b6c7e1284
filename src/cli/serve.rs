//! `switchyard serve`: the gateway in the foreground.
//!
//! One more driver of the tray's [`Controller`]: the log is its notifier,
//! a channel its sink. It asks for the start, prints the banner (or the
//! reason the start failed), and leaves the reloads on config.toml edits,
//! the switch of secret store among them, to the controller.

use std::io::Write;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Failure, ServeArgs};
use crate::control::{self, Command, Controller, Launch, Options, Phase, Sink, Update};
use crate::gateway::{DEFAULT_GRACE, Overrides, Status};
use crate::home::Home;
use crate::notify::LogNotifier;

/// Runs until SIGINT or SIGTERM, then drains in-flight requests and exits 0.
/// Edits of config.toml apply while it runs; one that leaves the gateway
/// stopped ends it with exit code 1.
pub fn run(home: &Home, args: ServeArgs) -> Result<(), Failure> {
    let options = Options {
        launch: Launch::OnRequest,
        overrides: Overrides {
            port: args.port,
            allow_lan_access: args.lan.then_some(true),
            auth_mode: args.auth_mode,
            insecure_lan: args.insecure_lan,
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("switchyard")
        .build()?;
    let (sink, mut updates) = Updates::channel();
    runtime.block_on(async move {
        let mut shutdown = Shutdown::install()?;
        let remote = Controller::spawn_with(
            &tokio::runtime::Handle::current(),
            home.clone(),
            control::platform_stores(),
            Arc::new(LogNotifier),
            Arc::new(sink),
            options,
        );
        let status = remote.start().await?;
        // Whoever started us may have closed stdout; the gateway runs on regardless.
        let _ = std::io::stdout().lock().write_all(banner(&status).as_bytes());
        // Tools `switchyard connect` pointed at another port (or key) say so now.
        if let Some(address) = status.address {
            super::connect::warn_stale(home, Some(address.port()));
        }
        let outcome = loop {
            tokio::select! {
                _ = shutdown.wait() => {
                    eprintln!(
                        "switchyard: stopping (in-flight requests get {}s to finish)",
                        DEFAULT_GRACE.as_secs()
                    );
                    break Ok(());
                }
                update = updates.recv() => match update {
                    // Only a reload that could not even put the previous
                    // settings back fails a running gateway (the notice
                    // with the whole reason is in the log already).
                    Some(Update::State(snapshot)) => if let Phase::Failed(reason) = snapshot.phase {
                        break Err(Failure::runtime(format!(
                            "the gateway is stopped ({reason}) after config.toml changed; see the warning above"
                        )));
                    },
                    Some(_) => {}
                    None => break Err(Failure::runtime("the gateway's controller ended")),
                },
            }
        };
        // Quit drains in-flight requests (bounded by the grace period).
        remote.send(Command::Quit);
        while let Some(update) = updates.recv().await {
            if update == Update::Exited {
                break;
            }
        }
        outcome
    })
}

/// What `serve` prints once it listens.
fn banner(status: &Status) -> String {
    let Some(address) = status.address else {
        return String::new();
    };
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
    banner
}

/// The controller's updates, handed to `serve`'s loop.
struct Updates(mpsc::UnboundedSender<Update>);

impl Updates {
    fn channel() -> (Updates, mpsc::UnboundedReceiver<Update>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Updates(tx), rx)
    }
}

impl Sink for Updates {
    fn update(&self, update: Update) {
        let _ = self.0.send(update);
    }
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
