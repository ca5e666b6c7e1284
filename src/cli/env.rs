//! `switchyard env`: the variables the OpenAI, Anthropic and Gemini SDKs
//! read, as shell exports: `eval "$(switchyard env)"`.
//!
//! The key is the gateway key; for a key of its own, make a client key
//! (`switchyard keys add NAME`) and export it instead. The port is the
//! running gateway's (it may run with `serve --port`), else config.toml's.

use super::{EnvShell, Failure, open};
use crate::config;
use crate::home::Home;
use crate::secrets;

/// The variables and their values.
pub fn variables(port: u16, key: &str) -> Vec<(&'static str, String)> {
    let base = config::local_base_url(port);
    vec![
        ("OPENAI_BASE_URL", format!("{base}/v1")),
        ("OPENAI_API_KEY", key.to_string()),
        ("ANTHROPIC_BASE_URL", base.clone()),
        ("ANTHROPIC_API_KEY", key.to_string()),
        // google-genai (Python and Node) read the base URL from this one;
        // it prefers GOOGLE_API_KEY when both keys are set.
        ("GOOGLE_GEMINI_BASE_URL", base),
        ("GEMINI_API_KEY", key.to_string()),
        ("GOOGLE_API_KEY", key.to_string()),
    ]
}

/// One assignment in the shell's syntax. The values are URLs and keys
/// (no quotes in them), single-quoted all the same.
pub fn line(shell: EnvShell, name: &str, value: &str) -> String {
    let quoted = format!("'{}'", value.replace('\'', r"'\''"));
    match shell {
        EnvShell::Bash | EnvShell::Zsh => format!("export {name}={quoted}"),
        EnvShell::Fish => format!("set -gx {name} {quoted}"),
        EnvShell::Powershell => format!("$env:{name} = '{}'", value.replace('\'', "''")),
    }
}

/// Runs `switchyard env`.
pub fn run(home: &Home, shell: EnvShell) -> Result<(), Failure> {
    let (config, store) = open(home)?;
    let key = secrets::gateway_key(store.as_ref(), &config)?;
    for (name, value) in variables(super::connect::gateway_port(home, &config), &key) {
        println!("{}", line(shell, name, &value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_assigns() {
        assert_eq!(line(EnvShell::Bash, "A", "x"), "export A='x'");
        assert_eq!(line(EnvShell::Fish, "A", "x"), "set -gx A 'x'");
        assert_eq!(line(EnvShell::Powershell, "A", "x"), "$env:A = 'x'");
        let names: Vec<_> = variables(8045, "sk-1").into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"GOOGLE_API_KEY") && names.contains(&"GEMINI_API_KEY"));
    }
}
