//! `switchyard models`: each served model with the accounts and tiers that
//! serve it, and its limits. Asks the gateway running on this home; when
//! none runs, fetches the accounts' lists itself (a few seconds at most).

use std::time::Duration;

use super::client::Running;
use super::{Failure, open};
use crate::catalog::ServedModel;
use crate::home::Home;
use crate::pool::AccountStatus;
use crate::secrets;

/// Longest wait for an upstream's list when no gateway runs.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(8);

/// Prints the served models.
pub fn models(home: &Home, json: bool) -> Result<(), Failure> {
    let (config, store) = open(home)?;
    let live = match Running::find(home)? {
        Some(running) => running.models(&secrets::gateway_key(store.as_ref(), &config)?),
        None => None,
    };
    let running = live.is_some();
    let models = match live {
        Some(models) => models,
        None => fetch(home, None)?.1,
    };
    if json {
        let value = serde_json::json!({"gateway_running": running, "models": models});
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(());
    }
    if models.is_empty() {
        println!(
            "No models: no account's upstream listed one and no alias or exact --models name gives one. \
             See `switchyard accounts list` for why a list failed."
        );
        return Ok(());
    }
    println!("{:<40} {:>9} {:>8}  ACCOUNTS (tier)", "MODEL", "CONTEXT", "OUTPUT");
    for model in &models {
        let name = match &model.alias_of {
            Some(target) => format!("{} → {target}", model.id),
            None => model.id.clone(),
        };
        println!(
            "{:<40} {:>9} {:>8}  {}",
            name,
            tokens(model.context),
            tokens(model.output),
            accounts(model)
        );
    }
    if !running {
        println!("(no gateway is running on this home: the lists were fetched just now)");
    }
    Ok(())
}

/// The accounts' states and the served models, fetched now; `only` keeps
/// one account.
pub fn fetch(home: &Home, only: Option<&str>) -> Result<(Vec<AccountStatus>, Vec<ServedModel>), Failure> {
    let (mut config, store) = open(home)?;
    if let Some(id) = only {
        config.accounts.retain(|a| a.id == id);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime
        .block_on(crate::gateway::fetch_catalogs(config, store, FETCH_TIMEOUT))
        .map_err(|err| Failure::runtime(format!("cannot fetch the model lists: {err}")))
}

/// `128k`, `1M`, `2.1M`, `-` when unknown.
fn tokens(count: Option<u64>) -> String {
    match count {
        None => "-".to_string(),
        Some(n) if n >= 1_000_000 => {
            let millions = format!("{:.1}", n as f64 / 1_000_000.0);
            format!("{}M", millions.trim_end_matches(".0"))
        }
        Some(n) if n >= 1000 => format!("{}k", (n + 500) / 1000),
        Some(n) => n.to_string(),
    }
}

fn accounts(model: &ServedModel) -> String {
    if model.accounts.is_empty() {
        return "(none)".to_string();
    }
    let names: Vec<String> = model
        .accounts
        .iter()
        .map(|a| format!("{} ({})", a.label, a.tier))
        .collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_counts_read_as_people_write_them() {
        assert_eq!(tokens(None), "-");
        assert_eq!(tokens(Some(1_048_576)), "1M");
        assert_eq!(tokens(Some(2_097_152)), "2.1M");
        assert_eq!(tokens(Some(128_000)), "128k");
        assert_eq!(tokens(Some(65_536)), "66k");
        assert_eq!(tokens(Some(512)), "512");
    }
}
