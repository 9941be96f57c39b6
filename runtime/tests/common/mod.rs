//! Test harness: busybox bundles, and the same operations through myrunc and Debian's runc
//! so every case can be checked against the real runtime in the same run.

#![allow(dead_code)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

/// The workspace root (tests run with the package dir as cwd).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A busybox root filesystem shared by every test (read-only use), built once per
/// target dir by scripts/busybox-rootfs.sh.
pub fn shared_rootfs() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("busybox-rootfs");
    let lock = std::fs::File::create(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("busybox-rootfs.lock"),
    )
    .unwrap();
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

pub fn unique_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Myrunc,
    Runc,
}

/// One runtime binary with its own state root.
pub struct Runtime {
    pub kind: Kind,
    pub bin: PathBuf,
    pub root: tempfile::TempDir,
}

impl Runtime {
    pub fn myrunc() -> Runtime {
        Runtime {
            kind: Kind::Myrunc,
            bin: PathBuf::from(env!("CARGO_BIN_EXE_myrunc")),
            root: tempfile::tempdir().unwrap(),
        }
    }

    /// Debian's runc; `make deps` installs it, and a missing one fails the test.
    pub fn runc() -> Runtime {
        let bin = ["/usr/sbin/runc", "/usr/bin/runc"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect("runc is not installed (make deps installs Debian's runc)");
        Runtime {
            kind: Kind::Runc,
            bin,
            root: tempfile::tempdir().unwrap(),
        }
    }

    pub fn both() -> [Runtime; 2] {
        [Runtime::myrunc(), Runtime::runc()]
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Myrunc => "myrunc",
            Kind::Runc => "runc",
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(self.root.path());
        c
    }

    /// Runs a command to completion with stdin closed.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).stdin(Stdio::null()).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}{}",
            self.name(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).unwrap()
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }

    /// Foreground `run` of the bundle: (exit code, stdout, stderr).
    pub fn run_bundle(&self, bundle: &Bundle, id: &str) -> (i32, String, String) {
        let out = self
            .cmd()
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(id)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `create`. The container's init inherits the runtime's stdio, so errors go through a
    /// file: a pipe would stay open as long as the container lives.
    pub fn create(&self, bundle: &Bundle, id: &str) {
        let out = self.try_create(bundle, id, &[]);
        assert!(out.0, "{} create failed: {}", self.name(), out.1);
    }

    /// `create` with extra flags: (success, stderr).
    pub fn try_create(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> (bool, String) {
        let err = tempfile::NamedTempFile::new().unwrap();
        let status = self
            .cmd()
            .args(["create", "--bundle"])
            .arg(bundle.path())
            .args(extra)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err.reopen().unwrap())
            .status()
            .unwrap();
        (
            status.success(),
            std::fs::read_to_string(err.path()).unwrap(),
        )
    }

    /// Forcefully removes a container, ignoring errors (for cleanup).
    pub fn force_delete(&self, id: &str) {
        let _ = self
            .cmd()
            .args(["delete", "--force", id])
            .stdin(Stdio::null())
            .output();
    }
}

/// A failed test still removes its containers: every one left in this runtime's root is
/// force-deleted (processes, cgroups, state).
impl Drop for Runtime {
    fn drop(&mut self) {
        let Ok(out) = self
            .cmd()
            .args(["list", "-q"])
            .stdin(Stdio::null())
            .output()
        else {
            return;
        };
        for id in String::from_utf8_lossy(&out.stdout).lines() {
            self.force_delete(id.trim());
        }
    }
}

/// A bundle directory with a config.json built from runc's default spec.
pub struct Bundle {
    dir: tempfile::TempDir,
    pub config: Value,
}

impl Bundle {
    /// A bundle over the shared rootfs, mounted read-only.
    pub fn new(args: &[&str]) -> Bundle {
        Self::with_rootfs(&shared_rootfs(), args)
    }

    /// A bundle with its own writable copy of the rootfs.
    pub fn private(args: &[&str]) -> Bundle {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .arg(shared_rootfs())
            .arg(dir.path().join("rootfs"))
            .status()
            .unwrap();
        assert!(st.success());
        let mut b = Self::with_rootfs(&dir.path().join("rootfs"), args);
        b.config["root"]["readonly"] = json!(false);
        b.dir = dir;
        b.write();
        b
    }

    fn with_rootfs(rootfs: &Path, args: &[&str]) -> Bundle {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_myrunc"))
            .arg("spec")
            .arg("--bundle")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "myrunc spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap())
                .unwrap();
        config["root"]["path"] = json!(rootfs);
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        let b = Bundle { dir, config };
        b.write();
        b
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        PathBuf::from(self.config["root"]["path"].as_str().unwrap())
    }

    pub fn write(&self) {
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Edits the config and writes it back.
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) -> &mut Self {
        f(&mut self.config);
        self.write();
        self
    }

    pub fn add_mount(&mut self, m: Value) -> &mut Self {
        self.edit(|c| c["mounts"].as_array_mut().unwrap().push(m))
    }
}

/// Waits until `f` holds, or panics after `secs`.
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

pub fn pid_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s
                .rsplit_once(") ")
                .map(|(_, r)| r.chars().next().unwrap_or('?'))
                .unwrap_or('?');
            state != 'Z' && state != 'X'
        })
        .unwrap_or(false)
}

/// A listening console socket, as the containerd shim provides: receives the pty master.
pub struct ConsoleSocket {
    dir: tempfile::TempDir,
    listener: std::os::unix::net::UnixListener,
}

impl ConsoleSocket {
    pub fn new() -> ConsoleSocket {
        let dir = tempfile::tempdir().unwrap();
        let listener =
            std::os::unix::net::UnixListener::bind(dir.path().join("console.sock")).unwrap();
        ConsoleSocket { dir, listener }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("console.sock")
    }

    /// Accepts the runtime's connection and takes the master it sends.
    pub fn receive(&self) -> std::fs::File {
        let (conn, _) = self.listener.accept().unwrap();
        let mut buf = [0u8; 256];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            nix::sys::socket::MsgFlags::empty(),
        )
        .unwrap();
        for c in msg.cmsgs().unwrap() {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
                // SAFETY: the kernel gave us this descriptor.
                return std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fds[0]) });
            }
        }
        panic!("no descriptor received on the console socket");
    }
}

/// Reads from a pty master until `needle` shows up (or panics after `secs`).
pub fn read_until(master: &mut std::fs::File, needle: &str, secs: u64) -> String {
    use std::io::Read;
    let fd = master.as_raw_fd();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut seen = String::new();
    while std::time::Instant::now() < deadline {
        let mut pfd = [libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: polling one valid descriptor.
        let r = unsafe { libc::poll(pfd.as_mut_ptr(), 1, 100) };
        if r > 0 {
            let mut buf = [0u8; 4096];
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
            if seen.contains(needle) {
                return seen;
            }
        }
    }
    panic!("did not see {needle:?} on the terminal; got {seen:?}");
}

/// The cgroup v1 (or unified) directories named after the container ID anywhere under
/// /sys/fs/cgroup: used to check that nothing is left behind.
pub fn cgroup_dirs_named(id: &str) -> Vec<PathBuf> {
    let out = Command::new("find")
        .args([
            "/sys/fs/cgroup",
            "-maxdepth",
            "6",
            "-type",
            "d",
            "-name",
            id,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}
