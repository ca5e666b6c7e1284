//! nginx as the yardstick: a reverse proxy doing the same loopback hop with
//! no translation, in front of the same mocks, in the same run.
//!
//! The configuration is `bench/nginx.conf` (kept in the repository, built
//! into the harness); only its addresses and scratch directory are filled in
//! here. nginx runs in the foreground, pinned to the gateway's core.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::procs::{self, Process};

/// The reference configuration, with `{{WORK}}`, `{{FAST}}`, `{{PACED}}`,
/// `{{LISTEN_FAST}}` and `{{LISTEN_PACED}}` to fill in.
const CONFIG: &str = include_str!("nginx.conf");

/// A running nginx with its two listeners.
pub struct Nginx {
    /// The process (its master; the one worker is its child), stopped when
    /// this is dropped.
    pub process: Process,
    /// In front of the zero-latency mock.
    pub fast: SocketAddr,
    /// In front of the mock that spaces its stream events.
    pub paced: SocketAddr,
    /// nginx's version line.
    pub version: String,
}

/// The nginx binary: `$NGINX`, else `nginx` on PATH, else Debian's
/// `/usr/sbin/nginx` (not on a normal user's PATH).
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NGINX") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nginx"))
                .find(|p| p.exists())
        })
        .unwrap_or_default();
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"))
}

/// The configuration for these addresses and this scratch directory.
pub fn config(
    work: &Path,
    fast: SocketAddr,
    paced: SocketAddr,
    listen_fast: SocketAddr,
    listen_paced: SocketAddr,
) -> String {
    CONFIG
        .replace("{{WORK}}", &work.display().to_string())
        .replace("{{FAST}}", &fast.to_string())
        .replace("{{PACED}}", &paced.to_string())
        .replace("{{LISTEN_FAST}}", &listen_fast.to_string())
        .replace("{{LISTEN_PACED}}", &listen_paced.to_string())
}

/// Starts nginx in front of `fast` and `paced`, pinned to `core`.
pub fn start(work_dir: &Path, fast: SocketAddr, paced: SocketAddr, core: Option<usize>) -> Result<Nginx, String> {
    let nginx = binary();
    let version = Command::new(&nginx).arg("-v").output().map_err(|err| {
        format!(
            "cannot run {}: {err} (bench/run installs Debian's nginx-light)",
            nginx.display()
        )
    })?;
    let version = String::from_utf8_lossy(&version.stderr)
        .trim()
        .trim_start_matches("nginx version: ")
        .to_string();
    let work = work_dir
        .join("nginx")
        .canonicalize()
        .or_else(|_| {
            std::fs::create_dir_all(work_dir.join("nginx"))?;
            work_dir.join("nginx").canonicalize()
        })
        .map_err(|err| format!("{}: {err}", work_dir.join("nginx").display()))?;
    let listen_fast = SocketAddr::from(([127, 0, 0, 1], procs::free_port()?));
    let listen_paced = SocketAddr::from(([127, 0, 0, 1], procs::free_port()?));
    let conf = work.join("nginx.conf");
    std::fs::write(&conf, config(&work, fast, paced, listen_fast, listen_paced))
        .map_err(|err| format!("{}: {err}", conf.display()))?;
    let mut command = Command::new(&nginx);
    command
        .arg("-p")
        .arg(&work)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut process = procs::start_other("nginx", command, core)?;
    for addr in [listen_fast, listen_paced] {
        procs::wait_listening(addr, &mut process, Duration::from_secs(10)).map_err(|err| {
            let log = std::fs::read_to_string(work.join("nginx-error.log")).unwrap_or_default();
            format!("{err}; nginx's error log: {log}")
        })?;
    }
    Ok(Nginx {
        process,
        fast: listen_fast,
        paced: listen_paced,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_configuration_is_the_operators_one() {
        let text = config(
            Path::new("/w"),
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
            "127.0.0.1:3".parse().unwrap(),
            "127.0.0.1:4".parse().unwrap(),
        );
        assert!(!text.contains("{{"), "every field filled in: {text}");
        for line in [
            "worker_processes 1;",
            "access_log off;",
            "keepalive 64;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "proxy_buffering off;",
            "server 127.0.0.1:1;",
            "server 127.0.0.1:2;",
            "listen 127.0.0.1:3;",
            "listen 127.0.0.1:4;",
            "pid /w/nginx.pid;",
        ] {
            assert!(text.contains(line), "missing {line:?}");
        }
    }
}
