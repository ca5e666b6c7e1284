//! The processes under test: the mock upstream, the gateway, LiteLLM.
//!
//! Each runs pinned to one core when the machine has more than one, killed
//! when its handle drops, and is measured from outside (`/proc/PID/status`).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process that is stopped when dropped.
pub struct Process {
    /// What it is, for messages.
    pub name: String,
    child: Child,
}

impl Process {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its memory as `/proc/PID/smaps_rollup` sums it up.
    pub fn memory(&self) -> Option<Memory> {
        memory_of(self.pid())
    }

    /// The CPU time it and its children (nginx's worker) have used so far.
    pub fn cpu(&self) -> Duration {
        cpu_of(self.pid())
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SIGTERM first so the gateway drains and exits cleanly; then kill.
        // SAFETY: kill(2) with our own child's pid and a valid signal number.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CPU time process `pid` and its direct children have used so far,
/// summed over their live threads (`/proc/PID/task/TID/schedstat`, in
/// nanoseconds, where `/proc/PID/stat` counts in 10 ms ticks).
pub fn cpu_of(pid: u32) -> Duration {
    let nanos = sum_over_threads(pid, "schedstat", |text| {
        text.split_whitespace().next().and_then(|n| n.parse().ok())
    });
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut total = Duration::from_nanos(nanos);
    for child in children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
        total += cpu_of(child);
    }
    total
}

/// What this process (the load generator) has used so far: CPU time and
/// voluntary context switches (each a sleep until the next readiness).
#[derive(Debug, Clone, Copy)]
pub struct Own {
    /// CPU time, all threads.
    pub cpu: Duration,
    /// Voluntary context switches, all threads.
    pub wakeups: u64,
}

impl Own {
    /// The counts now.
    pub fn now() -> Own {
        let pid = std::process::id();
        let wakeups = sum_over_threads(pid, "status", |text| {
            text.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok())
        });
        Own {
            cpu: cpu_of(pid),
            wakeups,
        }
    }

    /// What was used between `earlier` and this.
    pub fn since(&self, earlier: &Own) -> Own {
        Own {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            wakeups: self.wakeups.saturating_sub(earlier.wakeups),
        }
    }
}

/// The sum over the live threads of process `pid` of what `read` finds in
/// each thread's `/proc/PID/task/TID/FILE`.
fn sum_over_threads(pid: u32, file: &str, read: impl Fn(&str) -> Option<u64>) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join(file)).ok())
        .filter_map(|text| read(&text))
        .sum()
}

/// The resident set size of process `pid` in bytes.
pub fn rss_of(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:").map(|kib| kib * 1024)
}

/// A process's memory: resident, proportional (shared pages divided among
/// the processes that map them: the tray build maps GTK's libraries, which a
/// desktop shares) and anonymous (heap, stacks: the process's own), in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// `Rss`.
    pub rss: u64,
    /// `Pss`.
    pub pss: u64,
    /// `Anonymous`.
    pub anon: u64,
}

/// The memory of process `pid`, from `/proc/PID/smaps_rollup`.
pub fn memory_of(pid: u32) -> Option<Memory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    Some(parse_rollup(&text))
}

fn parse_rollup(text: &str) -> Memory {
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    Memory {
        rss: field("Rss:"),
        pss: field("Pss:"),
        anon: field("Anonymous:"),
    }
}

/// A size field (in KiB) of `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sum of the resident set sizes of `pid` and all its descendants (LiteLLM
/// runs its server in child processes).
pub fn tree_rss(pid: u32) -> Option<u64> {
    let mut total = rss_of(pid)?;
    for child in children(pid) {
        total += tree_rss(child).unwrap_or(0);
    }
    Some(total)
}

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

/// The cores of this machine (at least 1).
pub fn cores() -> usize {
    // Not available_parallelism: that counts the cores this process may
    // use, and the harness has pinned itself to one by now.
    // SAFETY: sysconf only reads a system setting.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(online).ok().filter(|&n| n > 0).unwrap_or(1)
}

/// Restricts `command`'s process to `core` when there is more than one core.
pub fn pin(command: &mut Command, core: Option<usize>) {
    let Some(core) = core else { return };
    // SAFETY: the closure runs between fork and exec and only calls
    // sched_setaffinity, which is async-signal-safe, on a set built on the stack.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Runs `command` at normal priority even when the harness is real-time
/// (installers and other work that is not measured).
pub fn normal_priority(command: &mut Command) {
    // SAFETY: the closure runs between fork and exec and only calls
    // sched_setscheduler, which is async-signal-safe, with a struct on the stack.
    unsafe {
        command.pre_exec(|| {
            let param = libc::sched_param { sched_priority: 0 };
            libc::sched_setscheduler(0, libc::SCHED_OTHER, &param);
            Ok(())
        });
    }
}

/// Pins the calling thread (and the threads it spawns afterwards) to `core`.
pub fn pin_self(core: Option<usize>) {
    let Some(core) = core else { return };
    // SAFETY: sched_setaffinity on the calling thread with a zeroed, then
    // filled, cpu_set_t that lives on the stack for the whole call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Puts the calling thread under SCHED_FIFO priority 1, which the threads
/// and processes it starts afterwards inherit; `false` (with a note) when
/// the system refuses (not root).
pub fn realtime() -> bool {
    // SAFETY: sched_setscheduler on the calling thread with a parameter
    // struct on our stack.
    let refused = unsafe {
        let param = libc::sched_param { sched_priority: 1 };
        libc::sched_setscheduler(0, libc::SCHED_FIFO, &param)
    } != 0;
    if refused {
        eprintln!(
            "bench: real-time priority refused ({}); measuring at normal priority, where other work on the machine adds noise",
            std::io::Error::last_os_error()
        );
    }
    !refused
}

/// Keeps every core out of its sleeping idle states while the returned
/// file is open: a CPU latency bound of 0 µs through the kernel's PM QoS
/// device, as tuned's latency-performance profile and cyclictest do. An
/// idle core then polls instead of halting, and a request arriving at an
/// idle gateway does not wait for the core to wake (on a VM, for the
/// hypervisor to run the halted vCPU again). `None`, with a note, when the
/// system refuses (not root, no such device).
pub fn hold_cpus_awake() -> Option<std::fs::File> {
    use std::io::Write;
    let held = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/cpu_dma_latency")
        .and_then(|mut file| file.write_all(&0i32.to_ne_bytes()).map(|()| file));
    match held {
        Ok(file) => Some(file),
        Err(err) => {
            eprintln!(
                "bench: cannot keep the cores awake through /dev/cpu_dma_latency ({err}); idle cores may sleep between requests"
            );
            None
        }
    }
}

/// Starts the mock upstream's binary with `options` (on a free port:
/// `options.port` should be 0) and returns it with its address.
pub fn start_mock(
    binary: &Path,
    core: Option<usize>,
    options: &mock_upstream::Options,
) -> Result<(Process, SocketAddr), String> {
    let mut command = Command::new(binary);
    command
        .args(options.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    pin(&mut command, core);
    let mut child = command
        .spawn()
        .map_err(|err| format!("cannot start {}: {err} (build it with bench/run)", binary.display()))?;
    let stdout = child.stdout.take().ok_or("the mock has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|err| format!("reading the mock's port: {err}"))?;
    let process = Process {
        name: "mock_upstream".into(),
        child,
    };
    let addr = line
        .trim()
        .strip_prefix(mock_upstream::LISTENING)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("the mock said {line:?} instead of `listening on ADDR`"))?;
    Ok((process, addr))
}

/// A free port on 127.0.0.1 (free when this returns; taken again quickly
/// by the caller).
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|err| format!("no free port: {err}"))?;
    Ok(listener.local_addr().map_err(|err| err.to_string())?.port())
}

/// Waits until something accepts connections on `addr`; the time waited.
pub fn wait_listening(addr: SocketAddr, process: &mut Process, limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return Ok(started.elapsed());
        }
        if process.exited() {
            return Err(format!("{} exited before listening on {addr}", process.name));
        }
        if started.elapsed() > limit {
            return Err(format!("{} did not listen on {addr} within {limit:?}", process.name));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A Switchyard home with accounts pointing at the mocks.
pub struct Home {
    /// The directory.
    pub dir: PathBuf,
    /// Where the gateway's stderr goes.
    pub log: PathBuf,
    binary: PathBuf,
    /// Variables every command on this home gets (team mode's URLs).
    env: Vec<(String, String)>,
}

/// The key the mock accepts and the accounts carry.
pub const MOCK_KEY: &str = "sk-bench-mock-key";

impl Home {
    /// A fresh home in `dir` (emptied first), using `binary` for setup.
    pub fn create(dir: PathBuf, binary: &Path) -> Result<Home, String> {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        Ok(Home {
            log: dir.join("gateway.log"),
            dir,
            binary: binary.to_path_buf(),
            env: Vec::new(),
        })
    }

    /// The same home, with `name=value` in every command's environment.
    pub fn with_env(mut self, name: &str, value: &str) -> Home {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env("SWITCHYARD_HOME", &self.dir)
            .env("SWITCHYARD_SECRET_STORE", "file")
            .env("SWITCHYARD_BENCH_KEY", MOCK_KEY)
            .env_remove("SWITCHYARD_LOG")
            .env_remove("RUST_LOG")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .envs(self.env.iter().map(|(name, value)| (name, value)));
        command
    }

    /// `switchyard accounts add PROVIDER --base-url URL --models GLOBS`.
    pub fn add_account(&self, provider: &str, base_url: &str, models: &str) -> Result<(), String> {
        let mut command = self.command();
        normal_priority(&mut command);
        let output = command
            .args(["accounts", "add", provider, "--label"])
            .arg(format!("bench-{provider}-{models}"))
            .args([
                "--base-url",
                base_url,
                "--api-key-env",
                "SWITCHYARD_BENCH_KEY",
                "--models",
                models,
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot run {}: {err}", self.binary.display()))?;
        if !output.status.success() {
            return Err(format!(
                "switchyard accounts add {provider} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    }

    /// `switchyard key show`: the gateway key.
    pub fn gateway_key(&self) -> Result<String, String> {
        self.output(&["key", "show"])
    }

    /// `switchyard keys add NAME ARGS`: the new client key.
    pub fn add_key(&self, name: &str, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["keys", "add", name];
        all.extend_from_slice(args);
        self.output(&all)
    }

    /// The standard output of `switchyard ARGS`, trimmed.
    fn output(&self, args: &[&str]) -> Result<String, String> {
        let mut command = self.command();
        normal_priority(&mut command);
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot run {}: {err}", self.binary.display()))?;
        if !output.status.success() {
            return Err(format!(
                "switchyard {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Starts `switchyard serve` on `port`, pinned to `core`.
    pub fn serve(&self, port: u16, core: Option<usize>) -> Result<Process, String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|err| format!("{}: {err}", self.log.display()))?;
        let mut command = self.command();
        command
            .args(["serve", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        pin(&mut command, core);
        let child = command
            .spawn()
            .map_err(|err| format!("cannot start {}: {err}", self.binary.display()))?;
        Ok(Process {
            name: "switchyard serve".into(),
            child,
        })
    }
}

/// Starts a command that is not ours (LiteLLM), pinned to `core`.
pub fn start_other(name: &str, mut command: Command, core: Option<usize>) -> Result<Process, String> {
    pin(&mut command, core);
    let child = command.spawn().map_err(|err| format!("cannot start {name}: {err}"))?;
    Ok(Process {
        name: name.to_string(),
        child,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_and_wakeups_are_read_from_every_thread() {
        let before = Own::now();
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        std::thread::spawn(|| std::thread::sleep(Duration::from_millis(5)))
            .join()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let used = Own::now().since(&before);
        assert!(used.cpu >= Duration::from_millis(10), "{used:?}");
        assert!(used.wakeups >= 1, "{used:?}");
        assert!(cpu_of(std::process::id()) >= used.cpu);
    }

    #[test]
    fn smaps_rollup_is_read_in_bytes() {
        let text = "55d0c9a7e000-7ffd5a1f2000 ---p 00000000 00:00 0 [rollup]\nRss:               22100 kB\nPss:               12000 kB\n\
                    Pss_Anon:           4000 kB\nShared_Clean:       9000 kB\nAnonymous:          4096 kB\n";
        assert_eq!(
            parse_rollup(text),
            Memory {
                rss: 22100 * 1024,
                pss: 12000 * 1024,
                anon: 4096 * 1024
            }
        );
    }
}
