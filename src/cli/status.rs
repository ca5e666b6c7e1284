//! `switchyard status` and `switchyard config ...`.

use super::client::Running;
use super::{Failure, open};
use crate::config::Config;
use crate::home::Home;
use crate::secrets::{self, mask};

/// Prints whether a gateway runs on this home; the key goes to it only
/// after it proved it is this home's (see `client.rs`).
pub fn status(home: &Home, json: bool) -> Result<(), Failure> {
    let (config, store) = open(home)?;
    let live = match Running::find(home)? {
        Some(running) => running.status(&secrets::gateway_key(store.as_ref(), &config)?),
        None => None,
    };
    let enabled = config.enabled_accounts().count();
    if json {
        let value = match &live {
            Some(status) => serde_json::to_value(status).unwrap_or_default(),
            None => serde_json::json!({
                "running": false,
                "port": config.proxy.port,
                "accounts": enabled,
                "auth_mode": config.proxy.auth_mode.effective(config.proxy.allow_lan_access),
            }),
        };
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(());
    }
    match live {
        Some(status) => {
            let base = status.base_url.clone().unwrap_or_default();
            println!(
                "running on {}",
                status.address.map(|a| a.to_string()).unwrap_or_default()
            );
            println!("base URL:  {base}/v1 (OpenAI SDKs) · {base} (Anthropic and Gemini SDKs)");
            println!("accounts:  {} active", status.accounts);
            println!(
                "auth mode: {}{}",
                status.auth_mode,
                if status.lan { " · LAN access on" } else { "" }
            );
            if let Some(cluster) = &status.cluster {
                match &cluster.reason {
                    Some(reason) => println!(
                        "cluster:   {} {} ({reason}; serving from this replica's own state)",
                        cluster.backend, cluster.state
                    ),
                    None => println!("cluster:   {} {}", cluster.backend, cluster.state),
                }
            }
            if let Some(log) = &status.request_log {
                let mut line = format!("log:       {} {}", log.backend, log.state);
                if log.buffered > 0 || log.state != "ok" {
                    line.push_str(&format!(" ({} records kept in memory until it answers)", log.buffered));
                }
                if log.dropped > 0 {
                    line.push_str(&format!(", {} dropped", log.dropped));
                }
                println!("{line}");
            }
        }
        None => {
            let mode = config.proxy.auth_mode;
            println!("not running (no gateway answers on 127.0.0.1:{})", config.proxy.port);
            println!("accounts:  {enabled} enabled in config.toml");
            println!(
                "auth mode: {mode} (→ {} when started)",
                mode.effective(config.proxy.allow_lan_access)
            );
            println!("start it:  switchyard serve");
        }
    }
    Ok(())
}

/// Prints where state lives.
pub fn config_path(home: &Home) -> Result<(), Failure> {
    println!("config:  {}", home.config_file().display());
    println!(
        "secrets: {} (when secret_store = \"file\")",
        home.secrets_file().display()
    );
    println!("state:   {}", home.state_dir.display());
    Ok(())
}

/// Prints the effective configuration with every secret masked.
pub fn config_show(home: &Home) -> Result<(), Failure> {
    let mut config: Config = Config::load(home)?;
    if let Some(key) = &config.proxy.api_key {
        config.proxy.api_key = Some(mask(key));
    }
    if let Some(google) = &mut config.providers.google {
        google.client_secret = mask(&google.client_secret);
    }
    for account in &mut config.accounts {
        for url in [&mut account.proxy_url, &mut account.base_url].into_iter().flatten() {
            *url = mask_url_credentials(url);
        }
    }
    let store = secrets::selected_kind(&config)?;
    let text =
        toml::to_string_pretty(&config).map_err(|err| Failure::runtime(format!("cannot show the config: {err}")))?;
    println!(
        "# {} (effective; secrets masked; secret store in use: {store:?})",
        home.config_file().display()
    );
    print!("{text}");
    Ok(())
}

/// `config store-url`: reads one URL from standard input and keeps it in
/// the secret store, where team mode finds it (after the environment).
pub fn store_url(home: &Home, which: secrets::TeamUrl) -> Result<(), Failure> {
    let (_, store) = open(home)?;
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("Paste the URL and press Enter (it is not echoed to the log or kept in config.toml):");
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|err| Failure::runtime(format!("cannot read the URL from standard input: {err}")))?;
    let url = line.trim();
    let scheme_ok = match which {
        secrets::TeamUrl::Redis => url.starts_with("redis://") || url.starts_with("rediss://"),
        secrets::TeamUrl::Database => url.starts_with("postgres://") || url.starts_with("postgresql://"),
    };
    if !scheme_ok {
        let expected = match which {
            secrets::TeamUrl::Redis => "redis://[user:password@]host:port/db",
            secrets::TeamUrl::Database => "postgres://user[:password]@host:port/database",
        };
        return Err(Failure::usage(format!(
            "standard input does not hold a {} URL (expected {expected}); nothing was stored",
            which.config_key()
        )));
    }
    store.set(which.secret_name(), url)?;
    println!(
        "Stored {} as `{}` in {}. It is used unless {} is set; restart the gateway to use it.",
        which.config_key(),
        which.secret_name(),
        store.describe(),
        which.env()
    );
    Ok(())
}

/// `config forget-url`: deletes a URL kept by `config store-url`.
pub fn forget_url(home: &Home, which: secrets::TeamUrl) -> Result<(), Failure> {
    let (_, store) = open(home)?;
    store.delete(which.secret_name())?;
    println!("Deleted `{}` from {}.", which.secret_name(), store.describe());
    Ok(())
}

/// A URL with the user name and password of its authority replaced by `***`
/// (`http://user:pass@host:3128` → `http://***:***@host:3128`); the rest is
/// left as written.
fn mask_url_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    // The last `@` before the query ends the user info: a password may hold
    // an unescaped `@` or `/`, and masking too much is the safe mistake.
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..end].rfind('@') else {
        return url.to_string();
    };
    let masked = if rest[..at].contains(':') { "***:***" } else { "***" };
    format!("{}{masked}{}", &url[..scheme_end], &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::mask_url_credentials;

    #[test]
    fn url_credentials_are_masked_and_the_rest_kept() {
        let cases = [
            ("http://user:pass@host:3128", "http://***:***@host:3128"),
            ("socks5h://u:p@w@10.0.0.1:1080/", "socks5h://***:***@10.0.0.1:1080/"),
            ("https://token@proxy.example", "https://***@proxy.example"),
            ("http://u:pa/ss@host:3128", "http://***:***@host:3128"),
            ("http://host:3128", "http://host:3128"),
            ("https://api.example/v1?x=a@b", "https://api.example/v1?x=a@b"),
            ("not a url", "not a url"),
        ];
        for (url, want) in cases {
            assert_eq!(mask_url_credentials(url), want, "{url}");
        }
    }
}
