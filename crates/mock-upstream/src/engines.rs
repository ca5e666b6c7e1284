//! The real engines of team mode, started by the tests and the bench
//! themselves: a `redis-server` on a free loopback port with nothing saved
//! to disk, in a temporary directory, stopped when dropped, and a Postgres
//! cluster of their own. A missing binary panics with what to install.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A `redis-server` of the test's own.
pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

/// Where a Debian package put `name`, or the failure that says to install it.
fn binary(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(name))
        .find(|path| path.is_file());
    found.unwrap_or_else(|| panic!("`{name}` is not installed; team-mode tests need it: apt-get install {package}"))
}

/// Waits until something accepts connections on `port`.
fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Redis {
    /// Starts a Redis on a free port.
    pub fn start() -> Redis {
        let mut redis = Redis {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        redis.restart();
        redis
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: nothing was saved).
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(binary("redis-server", "redis-server"))
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        wait_for_port(self.port, "redis-server");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Postgres of the test's own: a new cluster (`initdb`, trust auth, a
/// superuser `switchyard`) in a temporary directory owned by the
/// `postgres` user, listening on a free loopback port; stopped (`pg_ctl -m
/// immediate`, as a crash would) when dropped.
pub struct Postgres {
    bin: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    running: bool,
}

/// Where Debian put the Postgres server's programs, or the failure that
/// says to install them.
fn postgres_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("Postgres is not installed; team-mode tests need it: apt-get install postgresql"))
}

/// Whether the tests run as root (Postgres refuses to: its programs then
/// run as the `postgres` user).
fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

impl Postgres {
    /// Makes a new cluster and starts it on a free port.
    pub fn start() -> Postgres {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().unwrap();
        if as_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres", &dir.path().display().to_string()])
                .status()
                .expect("chown runs");
            assert!(status.success(), "the temp dir could not be given to the postgres user");
        }
        let mut postgres = Postgres {
            bin,
            port: free_port(),
            dir,
            running: false,
        };
        let data = postgres.data();
        postgres.run_as_postgres(
            "initdb",
            &[
                "-D",
                &data,
                "--auth=trust",
                "-U",
                "switchyard",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        postgres.restart();
        postgres
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// One of the server's programs, run as `postgres` when we are root.
    fn program(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        command
    }

    /// Runs one of the server's programs to its end; fails the test if it fails.
    fn run_as_postgres(&self, program: &str, args: &[&str]) {
        let output = self
            .program(program)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("{program} cannot run: {err}"));
        if !output.status.success() {
            // pg_ctl only says "could not start server"; the why (a port
            // taken, a slow start) is in the server's own log.
            let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            panic!(
                "{program} {args:?} failed: {}{}\nlast lines of server.log:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }

    /// `postgres://switchyard@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://switchyard@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it at once, as a crash would (`pg_ctl -m immediate stop`).
    pub fn kill(&mut self) {
        if self.running {
            self.running = false;
            let data = self.data();
            self.run_as_postgres("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
    }

    /// Starts it (again) on the same port, with what it had stored.
    pub fn restart(&mut self) {
        self.kill();
        let data = self.data();
        let log = self.dir.path().join("server.log").display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.run_as_postgres("pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "start"]);
        self.running = true;
        wait_for_port(self.port, "postgres");
    }

    /// The answer of `psql` to one SQL statement, unaligned and trimmed.
    pub fn sql(&self, statement: &str) -> String {
        self.try_sql(statement)
            .unwrap_or_else(|err| panic!("psql {statement}: {err}"))
    }

    /// The same, or psql's error (a table the gateway has not made yet).
    pub fn try_sql(&self, statement: &str) -> Result<String, String> {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "switchyard",
                "-d",
                "postgres",
            ])
            .args(["-tA", "-c", statement])
            .stdin(Stdio::null())
            .output()
            .expect("psql runs");
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data();
            let _ = self
                .program("pg_ctl")
                .args(["-D", &data, "-m", "immediate", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
