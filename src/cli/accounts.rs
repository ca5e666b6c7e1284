//! `switchyard accounts ...`: the pool's membership.

use std::io::{IsTerminal, Read};
use std::time::Duration;

use super::client::{self, Running};
use super::{AccountsCommand, AddArgs, Failure, LoginArgs, open};
use crate::config::{self, AccountConfig, ProviderKind};
use crate::home::Home;
use crate::pool::{AccountState, AccountStatus};
use crate::secrets;

/// Runs an `accounts` subcommand.
pub fn run(home: &Home, command: AccountsCommand) -> Result<(), Failure> {
    match command {
        AccountsCommand::Add(args) => add(home, args),
        AccountsCommand::Login(args) => login(home, args),
        AccountsCommand::List { json } => list(home, json),
        AccountsCommand::Remove { id } => remove(home, &id),
        AccountsCommand::Enable { id } => set_enabled(home, &id, true),
        AccountsCommand::Disable { id } => set_enabled(home, &id, false),
    }
}

fn add(home: &Home, mut args: AddArgs) -> Result<(), Failure> {
    let provider = args.provider.kind();
    let preset = args.provider.preset();
    if let Some((name, url)) = preset {
        args.base_url.get_or_insert_with(|| url.to_string());
        args.label.get_or_insert_with(|| name.to_string());
    }
    let no_key = args.no_key || preset.is_some();
    if no_key && provider != ProviderKind::Openai {
        return Err(Failure::usage(format!(
            "--no-key is for OpenAI-compatible servers (`accounts add openai --base-url URL --no-key`); {provider} \
             accounts need their key"
        )));
    }
    if no_key && args.base_url.is_none() {
        return Err(Failure::usage(
            "--no-key needs --base-url: the server's OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1",
        ));
    }
    if no_key && (args.api_key_stdin || args.api_key_env.is_some() || args.refresh_token_stdin) {
        return Err(Failure::usage(format!(
            "{} takes no key; leave out --api-key-stdin and --api-key-env, or add it as `accounts add openai`",
            preset.map_or("--no-key", |(name, _)| name)
        )));
    }
    if let Some(url) = &args.base_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(Failure::usage(format!(
            "--base-url `{url}` must start with http:// or https://"
        )));
    }
    for glob in &args.models {
        if let Err(err) = glob::Pattern::new(glob) {
            return Err(Failure::usage(format!("--models: `{glob}` is not a valid glob: {err}")));
        }
    }
    if provider == ProviderKind::Google && !args.refresh_token_stdin {
        return Err(Failure::usage(
            "google accounts sign in with OAuth: run `switchyard accounts login google`, or import a refresh token with --refresh-token-stdin",
        ));
    }
    if args.refresh_token_stdin && provider != ProviderKind::Google {
        return Err(Failure::usage(
            "--refresh-token-stdin is for google accounts; other providers take --api-key-stdin or --api-key-env VAR",
        ));
    }
    if let Some(url) = &args.proxy_url
        && let Err(why) = crate::upstream::Upstream::client_with_proxy(url)
    {
        return Err(Failure::usage(format!("--proxy-url: {why}")));
    }
    let secret = if no_key { String::new() } else { read_secret(&args)? };
    let account = AccountConfig {
        id: config::new_account_id(),
        provider,
        label: args.label.unwrap_or_default(),
        base_url: args.base_url.map(|u| u.trim_end_matches('/').to_string()),
        models: args.models.into_iter().filter(|g| !g.trim().is_empty()).collect(),
        priority: args.priority,
        enabled: true,
        project: args.project,
        proxy_url: args.proxy_url,
        no_key,
        weight: args.weight,
    };
    register(home, account, &secret)
}

/// Stores the secret, then the account; reports what happened.
fn register(home: &Home, account: AccountConfig, secret: &str) -> Result<(), Failure> {
    config::init(home)?;
    let (_, store) = open(home)?;
    // Secret first: an account in config.toml without its secret would be
    // unusable, while a stray secret is harmless and removed on failure.
    // A keyless account stores nothing.
    if !account.no_key {
        store.set(&account.id, secret)?;
    }
    if let Err(err) = config::edit(home, |doc| config::push_account(doc, &account)) {
        if !account.no_key {
            let _ = store.delete(&account.id);
        }
        return Err(err.into());
    }
    let name = if account.label.is_empty() {
        String::new()
    } else {
        format!(" ({})", account.label)
    };
    if account.no_key {
        println!(
            "Added {} account {}{name}, keyless, at {}.",
            account.provider,
            account.id,
            account.base_url.as_deref().unwrap_or_default()
        );
    } else {
        println!(
            "Added {} account {}{name}; its secret is in {}.",
            account.provider,
            account.id,
            store.describe()
        );
    }
    if client::is_running(home) {
        println!("A gateway is running on this home: restart it to use the new account.");
    }
    report_models(home, &account.id);
    Ok(())
}

/// Says how many models the new account serves: from the running
/// gateway once it has fetched the account's list (it reloads config.toml
/// edits), or from a fetch of its own when none runs or it does not answer soon.
fn report_models(home: &Home, id: &str) {
    let from_gateway = || -> Option<AccountStatus> {
        let running = Running::find(home).ok()??;
        let key = gateway_key(home).ok()?;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Some(status) = running.accounts(&key)?.into_iter().find(|s| s.id == id)
                && status.catalog.is_some()
            {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    };
    let status = from_gateway().or_else(|| {
        super::models::fetch(home, Some(id))
            .ok()
            .and_then(|(accounts, _)| accounts.into_iter().next())
    });
    match status.and_then(|s| s.catalog) {
        Some(catalog) => match (catalog.models, catalog.error) {
            (Some(count), _) => println!("It serves {count} models (switchyard models lists them)."),
            (None, Some(why)) => println!("Its model list could not be fetched: {why}"),
            (None, None) => {}
        },
        None => println!("Its model list could not be fetched now; `switchyard models` asks again."),
    }
}

/// `accounts login google`: OAuth in the browser, then the account is added.
fn login(home: &Home, args: LoginArgs) -> Result<(), Failure> {
    if args.provider != ProviderKind::Google {
        return Err(Failure::usage(format!(
            "`accounts login` is for google accounts; {} accounts take an API key: `switchyard accounts add {}`",
            args.provider, args.provider
        )));
    }
    let config = config::Config::load(home)?;
    let Some(client) = config.providers.google.clone() else {
        return Err(Failure::runtime(
            "signing in with Google needs your own OAuth client: create a \"Desktop app\" OAuth client in a Google \
             Cloud project, then add to config.toml:\n\n[providers.google]\nclient_id = \"...\"\nclient_secret = \"...\"\n",
        ));
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let refresh_token = runtime.block_on(async {
        let login = crate::upstream::oauth::Login::start(std::sync::Arc::new(client))
            .await
            .map_err(|err| Failure::runtime(format!("cannot start the Google sign-in: {err}")))?;
        let url = login.authorization_url();
        eprintln!("Sign in with Google in your browser. If it does not open, visit:\n\n  {url}\n");
        if !args.no_browser && open::that_detached(&url).is_err() {
            eprintln!("(no browser could be started; open the URL above by hand)");
        }
        let http = crate::upstream::Upstream::new(Duration::from_secs(30))
            .map_err(|err| Failure::runtime(format!("cannot set up HTTP: {err}")))?;
        login
            .finish(http.http(), Duration::from_secs(300))
            .await
            .map_err(|why| Failure::runtime(format!("Google sign-in failed: {why}")))
    })?;
    let account = AccountConfig {
        id: config::new_account_id(),
        provider: ProviderKind::Google,
        label: args.label.unwrap_or_else(|| "google".to_string()),
        base_url: None,
        models: args.models.into_iter().filter(|g| !g.trim().is_empty()).collect(),
        priority: args.priority,
        enabled: true,
        project: args.project,
        proxy_url: None,
        no_key: false,
        weight: 1,
    };
    register(home, account, &refresh_token)
}

/// The secret from the chosen source; a hidden prompt when none was
/// chosen and a terminal is attached.
fn read_secret(args: &AddArgs) -> Result<String, Failure> {
    let what = if args.refresh_token_stdin {
        "refresh token"
    } else {
        "API key"
    };
    let secret = if args.api_key_stdin || args.refresh_token_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|err| Failure::runtime(format!("cannot read the {what} from standard input: {err}")))?;
        text
    } else if let Some(var) = &args.api_key_env {
        std::env::var(var).map_err(|_| {
            Failure::usage(format!(
                "the environment variable {var} is not set (or not valid UTF-8); export it first"
            ))
        })?
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("{} {what} (input hidden): ", args.provider.kind()))
            .map_err(|err| Failure::runtime(format!("cannot read the {what}: {err}")))?
    } else {
        return Err(Failure::usage(
            "no API key given: pass --api-key-stdin (and pipe the key in) or --api-key-env VAR",
        ));
    };
    let secret = secret.trim().to_string();
    if secret.is_empty() {
        return Err(Failure::usage(format!("the {what} is empty")));
    }
    if secret.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Failure::usage(format!(
            "the {what} contains spaces or control characters; paste only the key itself"
        )));
    }
    Ok(secret)
}

fn gateway_key(home: &Home) -> Result<String, Failure> {
    let (config, store) = open(home)?;
    Ok(secrets::gateway_key(store.as_ref(), &config)?)
}

fn list(home: &Home, json: bool) -> Result<(), Failure> {
    let (config, _) = open(home)?;
    let live = match Running::find(home)? {
        Some(running) => running.accounts(&gateway_key(home)?),
        None => None,
    };
    let rows: Vec<AccountStatus> = config
        .accounts
        .iter()
        .map(|account| {
            live.as_ref()
                .and_then(|live| live.iter().find(|s| s.id == account.id).cloned())
                .unwrap_or_else(|| offline_status(account))
        })
        .collect();
    if json {
        let value = serde_json::json!({
            "gateway_running": live.is_some(),
            "strategy": config.pool.strategy.as_str(),
            "accounts": rows.iter().zip(&config.accounts).map(|(status, account)| serde_json::json!({
                "id": account.id,
                "provider": account.provider,
                "label": account.label,
                "base_url": account.base_url,
                "models": account.models,
                "priority": account.priority,
                "weight": account.weight,
                "share_last_hour": status.share_last_hour,
                "enabled": account.enabled,
                "state": status.state,
                "reason": status.reason,
                "cooldowns": status.cooldowns,
                "in_flight": status.in_flight,
                "requests": status.requests,
                "errors": status.errors,
                "no_key": account.no_key,
                "catalog": status.catalog,
                "quota": status.quota,
                "over_budget": status.over_budget,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(());
    }
    if config.accounts.is_empty() {
        println!("No accounts yet. Add one: switchyard accounts add gemini --api-key-env GEMINI_API_KEY");
        return Ok(());
    }
    println!(
        "strategy: {} (tiers first; `[pool] strategy` in config.toml)",
        config.pool.strategy.as_str()
    );
    println!(
        "{:<13} {:<10} {:<16} {:>4} {:<18} {:>9} {:>8} {:>7} {:>6}  STATE",
        "ID", "PROVIDER", "LABEL", "TIER", "MODELS", "IN-FLIGHT", "REQUESTS", "ERRORS", "1H %"
    );
    for (status, account) in rows.iter().zip(&config.accounts) {
        let models = if account.models.is_empty() {
            "*".to_string()
        } else {
            account.models.join(",")
        };
        let share = status
            .share_last_hour
            .map_or_else(|| "-".to_string(), |share| format!("{:.0}", share * 100.0));
        println!(
            "{:<13} {:<10} {:<16} {:>4} {:<18} {:>9} {:>8} {:>7} {:>6}  {}",
            account.id,
            account.provider,
            clip(&account.label, 16),
            account.priority,
            clip(&models, 18),
            status.in_flight,
            status.requests,
            status.errors,
            share,
            describe_state(status) + &describe_catalog(status),
        );
        let now = crate::monitor::now_ms();
        for reading in &status.quota {
            println!("    quota {}: {}", reading.model, reading.describe(now));
        }
    }
    if live.is_none() {
        println!("(no gateway is running on this home: states are from config.toml; counters start when it runs)");
    }
    Ok(())
}

fn offline_status(account: &AccountConfig) -> AccountStatus {
    AccountStatus {
        id: account.id.clone(),
        label: account.label.clone(),
        provider: account.provider.to_string(),
        state: if account.enabled {
            AccountState::Ready
        } else {
            AccountState::Disabled
        },
        reason: (!account.enabled).then(|| "disabled in config.toml".to_string()),
        cooldowns: Vec::new(),
        in_flight: 0,
        requests: 0,
        errors: 0,
        catalog: None,
        share_last_hour: None,
        quota: Vec::new(),
        over_budget: None,
    }
}

/// `ready`, `cooling until 14:03:07 UTC for gemini-2.5-pro (rate limited)`,
/// `disabled: reason`.
fn describe_state(status: &AccountStatus) -> String {
    if let (AccountState::Cooling, Some(reason)) = (status.state, &status.reason)
        && status.over_budget.is_some()
    {
        // `over budget until 2026-12-07 00:00 UTC (usd_per_day 5 reached ($5.0100))`
        return reason.clone();
    }
    match status.state {
        AccountState::Cooling => {
            let parts: Vec<String> = status
                .cooldowns
                .iter()
                .map(|c| {
                    let scope = if c.model == "*" {
                        "all models".to_string()
                    } else {
                        c.model.clone()
                    };
                    format!(
                        "cooling until {} for {scope} ({}; {}s left)",
                        clock(c.until_unix),
                        c.reason,
                        c.remaining_secs
                    )
                })
                .collect();
            parts.join("; ")
        }
        AccountState::Disabled => format!("disabled: {}", status.reason.clone().unwrap_or_default()),
        AccountState::Ready => status.state.to_string(),
    }
}

/// ` · 12 models`, ` · model list failed at its last fetch (…); 12 models kept from 14:03:07 UTC`.
fn describe_catalog(status: &AccountStatus) -> String {
    let Some(catalog) = &status.catalog else {
        return String::new();
    };
    let when = catalog.fetched_unix.map(clock).unwrap_or_default();
    match (catalog.models, &catalog.error) {
        (Some(count), None) => format!(" · {count} models"),
        (Some(count), Some(why)) => {
            format!(" · model list failed ({why}); {count} models kept from {when}")
        }
        (None, Some(why)) => format!(" · model list failed ({why}); serving any model its globs admit"),
        (None, None) => String::new(),
    }
}

/// `HH:MM:SS UTC` of a Unix time.
fn clock(unix: u64) -> String {
    let secs = unix % 86_400;
    format!("{:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut clipped: String = text.chars().take(width - 1).collect();
        clipped.push('…');
        clipped
    }
}

fn remove(home: &Home, id: &str) -> Result<(), Failure> {
    let (_, store) = open(home)?;
    config::edit(home, |doc| config::remove_account(doc, id))?;
    store.delete(id)?;
    println!("Removed account {id} and its secret.");
    Ok(())
}

fn set_enabled(home: &Home, id: &str, enabled: bool) -> Result<(), Failure> {
    config::edit(home, |doc| {
        config::account_table(doc, id)?["enabled"] = toml_edit::value(enabled);
        Ok(())
    })?;
    let verb = if enabled { "Enabled" } else { "Disabled" };
    println!("{verb} account {id}.");
    if !enabled {
        if client::is_running(home) {
            println!("A gateway is running on this home: restart it for the change to apply.");
        }
    } else if let Some(running) = Running::find(home)?
        && running.reenable(&gateway_key(home)?, id)
    {
        println!("The running gateway uses it again.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::CatalogStatus;

    fn with_catalog(catalog: Option<CatalogStatus>) -> AccountStatus {
        AccountStatus {
            catalog,
            ..offline_status(&AccountConfig {
                id: "acc_1".into(),
                provider: ProviderKind::Gemini,
                label: String::new(),
                base_url: None,
                models: Vec::new(),
                priority: 0,
                enabled: true,
                project: None,
                proxy_url: None,
                no_key: false,
                weight: 1,
            })
        }
    }

    #[test]
    fn the_state_says_how_the_model_list_went() {
        assert_eq!(describe_catalog(&with_catalog(None)), "");
        let fetched = CatalogStatus {
            models: Some(12),
            fetched_unix: Some(3600),
            error: None,
        };
        assert_eq!(describe_catalog(&with_catalog(Some(fetched.clone()))), " · 12 models");
        let kept = CatalogStatus {
            error: Some("HTTP 500".into()),
            ..fetched
        };
        assert_eq!(
            describe_catalog(&with_catalog(Some(kept))),
            " · model list failed (HTTP 500); 12 models kept from 01:00:00 UTC"
        );
        let never = CatalogStatus {
            models: None,
            fetched_unix: None,
            error: Some("refused".into()),
        };
        assert!(describe_catalog(&with_catalog(Some(never))).contains("serving any model its globs admit"));
    }
}
