//! `switchyard key ...`: the gateway's own API key.

use std::io::Read;

use super::client;
use super::{Failure, KeyCommand, open};
use crate::config::{self, Config};
use crate::home::Home;
use crate::secrets::{self, GATEWAY_KEY};

/// Runs a `key` subcommand.
pub fn run(home: &Home, command: KeyCommand) -> Result<(), Failure> {
    let (config, store) = open(home)?;
    match command {
        KeyCommand::Show => {
            println!("{}", secrets::gateway_key(store.as_ref(), &config)?);
            Ok(())
        }
        KeyCommand::Rotate => {
            refuse_if_configured(&config)?;
            let key = secrets::generate_api_key()?;
            store.set(GATEWAY_KEY, &key)?;
            println!("{key}");
            warn_running(home);
            super::connect::warn_stale(home, None);
            Ok(())
        }
        KeyCommand::Set => {
            refuse_if_configured(&config)?;
            let mut key = String::new();
            std::io::stdin()
                .read_to_string(&mut key)
                .map_err(|err| Failure::runtime(format!("cannot read the key from standard input: {err}")))?;
            let key = key.trim();
            config::validate_api_key(key).map_err(Failure::usage)?;
            store.set(GATEWAY_KEY, key)?;
            eprintln!("The gateway key is set.");
            warn_running(home);
            Ok(())
        }
    }
}

fn refuse_if_configured(config: &Config) -> Result<(), Failure> {
    if config.proxy.api_key.is_some() {
        return Err(Failure::runtime(
            "`api_key` under [proxy] in config.toml sets the key and overrides the stored one; change it there, or \
             remove it to manage the key with `switchyard key`",
        ));
    }
    Ok(())
}

/// A running gateway keeps the key it started with.
fn warn_running(home: &Home) {
    if client::is_running(home) {
        eprintln!("A gateway is running on this home with the previous key: restart it to use the new one.");
    }
}
