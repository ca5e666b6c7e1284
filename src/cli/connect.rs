//! `switchyard connect`: point a tool at this gateway (see `crate::connect`).

use super::client::Running;
use super::{ConnectArgs, Failure, keys, open};
use crate::config::Config;
use crate::connect::engine::{self, ConnectError, Outcome, Request, State};
use crate::connect::{Tool, ToolDirs};
use crate::gateway;
use crate::home::Home;
use crate::secrets;

impl From<ConnectError> for Failure {
    fn from(err: ConnectError) -> Self {
        match err {
            ConnectError::NeedsModel(..) => Failure::usage(err),
            err => Failure::runtime(err),
        }
    }
}

/// Runs `switchyard connect ...`.
pub fn run(home: &Home, args: ConnectArgs) -> Result<(), Failure> {
    let dirs = tool_dirs()?;
    let (config, store) = open(home)?;
    let port = gateway_port(home, &config);
    if args.list {
        let gateway_key = secrets::gateway_key(store.as_ref(), &config).ok();
        return list(home, &dirs, port, gateway_key.as_deref());
    }
    if args.refresh {
        return refresh(home, &dirs, &config, port, args.dry_run);
    }
    let Some(tool) = args.tool else {
        return Err(Failure::usage(
            "name a tool (claude-code, codex, gemini-cli, opencode, qwen-code, aider, llm), or use --list or --refresh",
        ));
    };
    if args.undo {
        return print(engine::undo(home, tool, args.dry_run)?, home);
    }
    let admin_key = if args.admin_key {
        Some(secrets::gateway_key(store.as_ref(), &config)?)
    } else {
        None
    };
    let model = crate::connect::model_for(home, tool, &config, args.model);
    let request = Request {
        tool,
        model,
        admin_key,
        dry_run: args.dry_run,
        port,
    };
    print(engine::connect(home, &dirs, &request)?, home)
}

/// The port tools should use: the running gateway's (it may have been
/// started with `serve --port`), else config.toml's.
pub(super) fn gateway_port(home: &Home, config: &Config) -> u16 {
    if let Ok(Some(_)) = Running::find(home)
        && let Some(port) = gateway::read_runtime(home)
            .and_then(|record| record.status.address)
            .map(|a| a.port())
    {
        return port;
    }
    config.proxy.port
}

/// The tools' directories, from HOME and the tools' own variables.
pub(super) fn tool_dirs() -> Result<ToolDirs, Failure> {
    ToolDirs::from_env().ok_or_else(|| Failure::runtime("cannot tell the home directory: set HOME"))
}

fn print(outcome: Outcome, home: &Home) -> Result<(), Failure> {
    if outcome.keys_changed {
        keys::applied(home);
    }
    print!("{}", outcome.diff);
    for line in outcome.messages {
        eprintln!("{line}");
    }
    Ok(())
}

/// `connect --list`.
fn list(home: &Home, dirs: &ToolDirs, port: u16, gateway_key: Option<&str>) -> Result<(), Failure> {
    println!("{:<12} {:<14} STATE", "TOOL", "INSTALLED");
    let mut stale = false;
    for status in engine::status(home, dirs, port, gateway_key) {
        let state = match &status.state {
            State::NotConnected => "not connected".to_string(),
            State::Connected => "connected".to_string(),
            State::Stale(why) => {
                stale = true;
                format!("stale: {why}")
            }
        };
        let installed = if status.installed { "yes" } else { "no" };
        println!("{:<12} {:<14} {state}", status.tool.id(), installed);
    }
    if stale {
        eprintln!("`switchyard connect --refresh` updates the stale tools.");
    }
    Ok(())
}

/// `connect --refresh`: every connected tool again, with its model and key kind.
fn refresh(home: &Home, dirs: &ToolDirs, config: &Config, port: u16, dry_run: bool) -> Result<(), Failure> {
    let connected = engine::connected(home);
    if connected.is_empty() {
        eprintln!("No tool is connected; `switchyard connect TOOL` connects one.");
        return Ok(());
    }
    let (_, store) = open(home)?;
    for (tool, connection) in connected {
        let admin_key = if connection.admin_key {
            Some(secrets::gateway_key(store.as_ref(), config)?)
        } else {
            None
        };
        eprintln!("{}:", tool.title());
        let request = Request {
            tool,
            model: connection.model,
            admin_key,
            dry_run,
            port,
        };
        print(engine::connect(home, dirs, &request)?, home)?;
    }
    Ok(())
}

/// After a key or port change: names the connected tools that no longer
/// work and the command that fixes them.
/// `port`: the gateway's, when the caller knows it (else the running
/// gateway's or config.toml's).
pub(super) fn warn_stale(home: &Home, port: Option<u16>) {
    let Ok(dirs) = tool_dirs() else { return };
    let Ok((config, store)) = open(home) else { return };
    if engine::connected(home).is_empty() {
        return;
    }
    let gateway_key = secrets::gateway_key(store.as_ref(), &config).ok();
    let port = port.unwrap_or_else(|| gateway_port(home, &config));
    let stale: Vec<&str> = engine::stale(home, &dirs, port, gateway_key.as_deref())
        .into_iter()
        .map(Tool::id)
        .collect();
    if !stale.is_empty() {
        eprintln!(
            "Now stale: {} (they hold the old key or port). `switchyard connect --refresh` updates them.",
            stale.join(", ")
        );
    }
}
