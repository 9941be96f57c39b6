//! Test harness: a daemon on a temporary socket (containerd 1.6 by default, or
//! mycontainerd with `MYCTR_TEST_DAEMON=mycontainerd`), a namespace of the test's own,
//! the runtime the shim drives (Debian's runc, or myrunc through `--runc-binary`), and
//! myctr as a black box through `CARGO_BIN_EXE_myctr`.

#![allow(dead_code)]

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The workspace's target directory (tests run with the package dir as cwd).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .to_path_buf()
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A busybox root filesystem shared by every test (read-only use), built once per
/// target dir by scripts/busybox-rootfs.sh (the same one runtime/'s tests use).
pub fn shared_rootfs() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join("busybox-rootfs");
    let lock = std::fs::File::create(tmp.join("busybox-rootfs.lock")).unwrap();
    // SAFETY: flock on an open file; released when it closes.
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

/// An ID no other test (or test process) uses.
pub fn unique_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out waiting for {what}");
}

/// Waits for `child` at most `secs`; kills it and panics on timeout.
pub fn wait_child(child: &mut Child, secs: u64, what: &str) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {secs}s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Directories of cgroups named `name`, in every hierarchy.
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

/// Which daemon the tests talk to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonKind {
    /// Debian's containerd 1.6 with containerd-shim-runc-v2.
    Containerd,
    /// Ours (issue 5), from the workspace's target dir or `$MYCONTAINERD_BIN`.
    MyContainerd,
}

impl DaemonKind {
    /// `MYCTR_TEST_DAEMON=containerd|mycontainerd`; containerd by default.
    pub fn from_env() -> DaemonKind {
        match std::env::var("MYCTR_TEST_DAEMON").as_deref() {
            Ok("mycontainerd") => DaemonKind::MyContainerd,
            Ok("containerd") | Err(_) => DaemonKind::Containerd,
            Ok(other) => panic!("MYCTR_TEST_DAEMON={other}: expected containerd or mycontainerd"),
        }
    }
}

/// What containerd and its shims create under /run whatever their config says.
const CONTAINERD_RUN_DIRS: [&str; 4] = [
    "/run/containerd/fifo",
    "/run/containerd/runc",
    "/run/containerd/s",
    "/run/containerd",
];

/// A daemon on a temporary socket with temporary root and state; killed on drop.
pub struct Daemon {
    pub kind: DaemonKind,
    child: Child,
    dir: tempfile::TempDir,
}

impl Daemon {
    pub fn start(kind: DaemonKind) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let log = std::fs::File::create(d.join("daemon.log")).unwrap();
        let child = match kind {
            DaemonKind::Containerd => {
                let config = format!(
                    r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = "{debug}"
"#,
                    root = d.join("root").display(),
                    state = d.join("state").display(),
                    sock = d.join("d.sock").display(),
                    debug = d.join("debug.sock").display(),
                );
                std::fs::write(d.join("config.toml"), config).unwrap();

                Command::new("containerd")
                    .arg("--config")
                    .arg(d.join("config.toml"))
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .expect("containerd is not installed (make deps installs Debian's containerd)")
            }
            DaemonKind::MyContainerd => {
                let bin = std::env::var_os("MYCONTAINERD_BIN")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| target_dir().join("debug/mycontainerd"));
                assert!(
                    bin.exists(),
                    "{} is missing: build it (cargo build -p mycontainerd) or set MYCONTAINERD_BIN",
                    bin.display()
                );

                Command::new(&bin)
                    .arg("--address")
                    .arg(d.join("d.sock"))
                    .arg("--root")
                    .arg(d.join("root"))
                    .arg("--state")
                    .arg(d.join("state"))
                    .args(["--log-level", "debug"])
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .unwrap()
            }
        };
        let daemon = Daemon { kind, child, dir };
        wait_until(30, "the daemon to answer", || {
            Command::new(env!("CARGO_BIN_EXE_myctr"))
                .arg("--address")
                .arg(daemon.socket())
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        });
        daemon
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("d.sock")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Only empty ones, children first: a daemon still running (another test's, or
        // the host's, whose socket lives in /run/containerd) keeps them. Whoever created
        // them, the last test out removes them.
        for d in CONTAINERD_RUN_DIRS {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Which runtime binary the shim runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// The shim's default (`runc` on PATH for containerd).
    Runc,
    /// The workspace's myrunc, through `--runc-binary`.
    Myrunc,
}

impl Runtime {
    /// The flags `run` and `containers create` need for this runtime.
    pub fn flags(self) -> Vec<String> {
        match self {
            Runtime::Runc => Vec::new(),
            Runtime::Myrunc => {
                let bin = target_dir().join("debug/myrunc");
                assert!(
                    bin.exists(),
                    "{} is missing: build it first (flock /work/cargo.lock cargo build -p myrunc)",
                    bin.display()
                );
                vec!["--runc-binary".into(), bin.display().to_string()]
            }
        }
    }
}

/// One test's world: a daemon, a namespace, a runtime, a rootfs and a FIFO directory.
pub struct Env {
    pub daemon: Daemon,
    pub namespace: String,
    pub runtime: Runtime,
    pub rootfs: PathBuf,
    fifo: tempfile::TempDir,
}

impl Env {
    pub fn new(runtime: Runtime) -> Env {
        let rootfs = shared_rootfs();
        Env {
            daemon: Daemon::start(DaemonKind::from_env()),
            namespace: unique_id("myctr-test"),
            runtime,
            rootfs,
            fifo: tempfile::tempdir().unwrap(),
        }
    }

    /// The directory this test's FIFOs go to (`--fifo-dir`).
    pub fn fifo_dir(&self) -> &Path {
        self.fifo.path()
    }

    pub fn rootfs_arg(&self) -> String {
        self.rootfs.display().to_string()
    }

    /// `myctr --address SOCK --namespace NS ARGS...`, stdin closed.
    pub fn myctr(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_myctr"));
        cmd.arg("--address")
            .arg(self.daemon.socket())
            .arg("--namespace")
            .arg(&self.namespace)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs myctr to completion (at most two minutes).
    pub fn output(&self, args: &[&str]) -> Output {
        let child = self
            .myctr(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        finish(child, 120, &format!("myctr {args:?}"))
    }

    /// Runs myctr and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "myctr {args:?} failed ({:?}):\nstdout: {}\nstderr: {}\ndaemon log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.daemon.log(), 40)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `run --fifo-dir D [runtime flags] ARGS...`.
    pub fn run_args(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec![
            "run".to_string(),
            "--fifo-dir".into(),
            self.fifo_dir().display().to_string(),
        ];
        all.extend(self.runtime.flags());
        all.extend(args.iter().map(|s| s.to_string()));
        all
    }

    /// `containers create [runtime flags] ARGS...`.
    pub fn create_args(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["containers".to_string(), "create".into()];
        all.extend(self.runtime.flags());
        all.extend(args.iter().map(|s| s.to_string()));
        all
    }

    /// Debian's ctr against the same daemon and namespace (cross-checks, cleanup).
    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.daemon.socket())
            .arg("--namespace")
            .arg(&self.namespace)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("ctr is not installed (make deps installs Debian's containerd)")
    }

    /// `tasks ls` line of `id`.
    pub fn task_status(&self, id: &str) -> Option<String> {
        let out = self.ok(&["tasks", "ls"]);
        out.lines()
            .skip(1)
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
    }

    /// The last lines of the daemon's log, for failure messages.
    pub fn daemon_log_tail(&self) -> String {
        tail(&self.daemon.log(), 40)
    }

    /// The checks a test ends with: nothing of ours left in the daemon, no FIFOs, no
    /// cgroups of the given containers.
    pub fn assert_clean(&self, ids: &[&str]) {
        let tasks = self.ok(&["tasks", "ls", "-q"]);
        assert!(tasks.trim().is_empty(), "tasks left: {tasks}");
        let containers = self.ok(&["containers", "ls", "-q"]);
        assert!(
            containers.trim().is_empty(),
            "containers left: {containers}"
        );
        let fifos: Vec<_> = std::fs::read_dir(self.fifo_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(fifos.is_empty(), "FIFO directories left: {fifos:?}");
        for id in ids {
            let left = cgroup_dirs_named(id);
            assert!(left.is_empty(), "cgroups left for {id}: {left:?}");
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Whatever a failed test left: tasks (killed), containers, the namespace, and
        // what the shim and runc keep for it outside the daemon's dirs.
        let list = |args: &[&str]| {
            String::from_utf8_lossy(&self.ctr(args).stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        for task in list(&["tasks", "ls", "-q"]) {
            let _ = self.ctr(&["tasks", "delete", "--force", &task]);
        }
        for c in list(&["containers", "ls", "-q"]) {
            let _ = self.ctr(&["containers", "delete", &c]);
        }
        let _ = self.ctr(&["namespaces", "remove", &self.namespace]);
        let _ = std::fs::remove_dir_all(Path::new("/run/containerd/runc").join(&self.namespace));
        for d in cgroup_dirs_named(&self.namespace) {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Waits for `child` (at most `secs`) and collects its output.
pub fn finish(mut child: Child, secs: u64, what: &str) -> Output {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let status = wait_child(&mut child, secs, what);
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A child process on a pseudo-terminal of its own (the controlling terminal of a new
/// session, so that it gets SIGWINCH), with everything it prints collected.
pub struct PtyChild {
    pub child: Child,
    master: std::fs::File,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl PtyChild {
    pub fn spawn(mut cmd: Command, rows: u16, cols: u16) -> PtyChild {
        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty fills in two descriptors.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: fresh descriptors we own.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        let master = std::fs::File::from(master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let mut master = master.try_clone().unwrap();
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                // EIO once the last slave descriptor closes.
                while let Ok(n) = master.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        };
        PtyChild {
            child,
            master,
            output,
            reader: Some(reader),
        }
    }

    pub fn write(&mut self, text: &str) {
        use std::io::Write;
        self.master.write_all(text.as_bytes()).unwrap();
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    pub fn wait_for_output(&self, secs: u64, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no {needle:?} in the terminal after {secs}s:\n{}",
            self.output()
        );
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize; the kernel signals the session's foreground.
        let rc = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(rc, 0);
    }

    /// Waits for the child's exit, then for the last of its output.
    pub fn wait(&mut self, secs: u64) -> ExitStatus {
        let status = wait_child(&mut self.child, secs, "the pty child");
        if let Some(reader) = self.reader.take() {
            // The reader ends with EIO once nothing holds the slave; don't hang on a
            // straggler that does.
            let deadline = Instant::now() + Duration::from_secs(5);
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        status
    }
}
