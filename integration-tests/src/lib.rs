//! Harness for end-to-end tests: finds the workspace's binaries, builds the busybox rootfs
//! once, and runs daemons (ours, or Debian's containerd as the reference) on temporary
//! sockets and directories. Everything a test starts is stopped and removed on drop, and
//! a daemon's log is printed when a test fails.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub mod dockerd;
pub mod engine;
pub mod oci;
pub mod registry;

/// The directory holding the workspace's binaries (target/<profile>).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// A binary of the workspace; build the workspace first (`cargo build --workspace`, which
/// `cargo nextest run --workspace` and `make test` do).
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        p.display()
    );
    p
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The busybox rootfs, built once per target dir (scripts/busybox-rootfs.sh).
pub fn busybox_rootfs() -> PathBuf {
    let base = bin_dir().join("test-fixtures");
    std::fs::create_dir_all(&base).unwrap();
    let dir = base.join("busybox-rootfs");
    let lock = std::fs::File::create(base.join("busybox-rootfs.lock")).unwrap();
    // SAFETY: flock on an open file.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    if !dir.join("bin/busybox").exists() {
        let st = Command::new("bash")
            .arg(workspace().join("scripts/busybox-rootfs.sh"))
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "building the busybox rootfs failed");
    }
    dir
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Polls `f` until it holds; panics after `secs`.
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out after {secs}s waiting for {what}");
}

pub fn pid_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !matches!(
                s.rsplit_once(") ").and_then(|(_, r)| r.chars().next()),
                Some('Z') | Some('X')
            )
        })
        .unwrap_or(false)
}

/// Processes whose command line mentions `needle` (a test's unique socket path).
pub fn pids_mentioning(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline"))
            && String::from_utf8_lossy(&cmd)
                .replace('\0', " ")
                .contains(needle)
        {
            out.push(pid);
        }
    }
    out
}

/// Zombie processes whose parent is one of `parents`.
pub fn zombies_of(parents: &[i32]) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
            let mut f = rest.split(' ');
            let state = f.next().unwrap_or("");
            let ppid: i32 = f.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            if state == "Z" && parents.contains(&ppid) {
                out.push(pid);
            }
        }
    }
    out
}

/// Cgroup directories named `name` anywhere in the hierarchies (debris check).
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    let out = Command::new("find")
        .args([
            "/sys/fs/cgroup",
            "-maxdepth",
            "6",
            "-type",
            "d",
            "-name",
            name,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// Mount points under `dir` (debris check).
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let d = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&d))
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonKind {
    /// mycontainerd with mycontainerd-shim and myrunc.
    Ours,
    /// Debian's containerd 1.6 with containerd-shim-runc-v2 and runc.
    Containerd,
}

/// A containerd-API daemon on a temporary socket.
pub struct Daemon {
    pub kind: DaemonKind,
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// A namespace reserved for this daemon's test (cleaned on drop).
    pub namespace: String,
}

const CONTAINERD_RUN_DIRS: [&str; 4] = [
    "/run/containerd/fifo",
    "/run/containerd/runc",
    "/run/containerd/s",
    "/run/containerd",
];

impl Daemon {
    pub fn start(kind: DaemonKind) -> Daemon {
        let dir = tempfile::Builder::new().prefix("it-").tempdir().unwrap();
        let mut d = Daemon {
            kind,
            child: None,
            dir,
            namespace: unique("it"),
        };
        d.spawn();
        d
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The daemon's `--root` (content, snapshots, metadata).
    pub fn root_dir(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// PATH with our binaries first (the shim finds myrunc there).
    pub fn path_env() -> String {
        format!(
            "{}:{}",
            bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("daemon.log"))
            .unwrap();
        let mut cmd = match self.kind {
            DaemonKind::Ours => {
                let mut c = Command::new(bin("mycontainerd"));
                c.arg("--address")
                    .arg(self.socket())
                    .arg("--root")
                    .arg(d.join("root"))
                    .arg("--state")
                    .arg(self.state_dir())
                    .arg("--log-level")
                    .arg("debug")
                    .env("RUST_LOG", "info,mycontainerd=debug")
                    .env("PATH", Self::path_env());
                bin("mycontainerd-shim");
                bin("myrunc");
                c
            }
            DaemonKind::Containerd => {
                let config = format!(
                    "version = 2\nroot = \"{}\"\nstate = \"{}\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{}\"\n[ttrpc]\n  address = \"{}.ttrpc\"\n[debug]\n  address = \"{}\"\n",
                    d.join("root").display(),
                    self.state_dir().display(),
                    self.socket().display(),
                    self.socket().display(),
                    d.join("debug.sock").display()
                );
                std::fs::write(d.join("config.toml"), config).unwrap();
                let mut c = Command::new("containerd");
                c.arg("--config")
                    .arg(d.join("config.toml"))
                    .env("PATH", Self::path_env());
                c
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(cmd.spawn().expect("starting the daemon"));
        let sock = self.socket();
        wait_until(30, "the daemon to answer", || {
            Command::new("ctr")
                .arg("--address")
                .arg(&sock)
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    /// Sends `sig` to the daemon and waits for it to exit.
    pub fn signal_and_wait(&mut self, sig: i32) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signalling the daemon we started.
            unsafe { libc::kill(c.id() as i32, sig) };
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the daemon before restarting it");
        self.spawn();
    }

    /// Debian's `ctr` against this daemon, in the test's namespace.
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    pub fn ctr_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(self.socket())
            .arg("--namespace")
            .arg(&self.namespace)
            .args(args);
        c
    }

    /// Runs ctr, insists on success, returns stdout.
    pub fn ctr_ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert!(
            out.status.success(),
            "ctr {args:?} failed: {}{}\n--- daemon log ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_tail()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().filter(|l| !l.contains("h2::")).collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The status column of `ctr tasks ls` for `id` (None when not listed).
    pub fn task_status(&self, id: &str) -> Option<String> {
        let out = self.ctr(&["tasks", "ls"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
    }

    /// The shim processes of this daemon's tasks.
    pub fn shim_pids(&self) -> Vec<i32> {
        let sock = self.socket().display().to_string();
        let name = match self.kind {
            DaemonKind::Ours => "mycontainerd-shim",
            DaemonKind::Containerd => "containerd-shim-runc-v2",
        };
        pids_mentioning(&sock)
            .into_iter()
            .filter(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(name))
            })
            .collect()
    }

    /// Removes every task and container of the test's namespace.
    pub fn clean_namespace(&self) {
        let out = self.ctr(&["tasks", "ls", "-q"]);
        for id in String::from_utf8_lossy(&out.stdout).lines() {
            let _ = self.ctr(&["tasks", "kill", "-s", "SIGKILL", id]);
            let _ = self.ctr(&["tasks", "delete", "-f", id]);
        }
        let out = self.ctr(&["containers", "ls", "-q"]);
        for id in String::from_utf8_lossy(&out.stdout).lines() {
            let _ = self.ctr(&["containers", "rm", id]);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- {:?} daemon log ---\n{}", self.kind, self.log_tail());
        }
        if self.child.is_some() {
            self.clean_namespace();
        }
        self.signal_and_wait(libc::SIGTERM);
        // Shims outlive their daemon by design; these are ours (they name our socket).
        for pid in pids_mentioning(&self.socket().display().to_string()) {
            // SAFETY: killing processes this test's daemon started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(100));
        let state = self.state_dir();
        for m in mounts_under(&state).into_iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
        for d in cgroup_dirs_named(&self.namespace).into_iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        let _ = std::fs::remove_dir_all(Path::new("/run/containerd/runc").join(&self.namespace));
        // ctr leaves the FIFOs of tasks it did not delete itself (a dead shim's, say);
        // ours are the ones named after this test process's unique IDs.
        let mine = format!("-{}-", std::process::id());
        if let Ok(dirs) = std::fs::read_dir("/run/containerd/fifo") {
            for d in dirs.flatten() {
                let entries: Vec<String> = std::fs::read_dir(d.path())
                    .map(|e| {
                        e.flatten()
                            .map(|f| f.file_name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                if !entries.is_empty() && entries.iter().all(|n| n.contains(&mine)) {
                    let _ = std::fs::remove_dir_all(d.path());
                }
            }
        }
        // Only empty ones, children first: a daemon still running (another test's, or the
        // host's, whose socket lives in /run/containerd) keeps them; the last test out
        // removes them, whoever made them.
        for d in CONTAINERD_RUN_DIRS {
            let _ = std::fs::remove_dir(d);
        }
    }
}
